"""`python build.py demo`, Blender step: the extension, headless, on the bundled example photo.

Run by build.py with the project environment's Python (bpy is the `bpy` module from PyPI):
    python scripts/demo_blender.py --out demo_out
It builds a scene with the default body (Anny, posed as in the photo, see examples/README.md) and
its prop, registers the add-on from this tree, runs `bpy.ops.interactvlm.estimate_contact` on
examples/sit_on_box.png for the body (human contact) and the prop (object contact) against the
real backend worker, saves demo_out/demo.blend and renders demo_out/preview.png (Cycles on the CPU):
the photo, then the heat maps (api.heat_map_material) from the photo's camera, the body alone from
behind and below, and the seat alone from above. The body's faces come from
demo_out/body.npz, written by the backend's own demo step that build.py runs first.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import bpy
import numpy as np
from mathutils import Vector

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "sit_on_box"


def add_mesh(name: str, vertices: np.ndarray, faces: np.ndarray) -> bpy.types.Object:
    """A triangle mesh object built with foreach_set (no per-vertex Python loops)."""
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(vertices))
    mesh.vertices.foreach_set("co", np.ascontiguousarray(vertices, np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", np.ascontiguousarray(faces, np.int32).ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.polygons.foreach_set("use_smooth", np.ones(len(faces), bool))
    mesh.update()
    mesh.validate()
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def add_camera_and_light(example: dict) -> None:
    scene = bpy.context.scene
    camera = bpy.data.objects.new("Photo camera", bpy.data.cameras.new("Photo camera"))
    camera.data.lens = float(example["lens_mm"])
    camera.location = Vector(example["camera_location"].tolist())
    direction = Vector(example["camera_target"].tolist()) - camera.location
    camera.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()
    scene.collection.objects.link(camera)
    scene.camera = camera
    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    sun.data.energy = 3.0
    sun.rotation_euler = (0.7, 0.2, 0.5)
    scene.collection.objects.link(sun)
    world = bpy.data.worlds.new("World")
    if world.node_tree is None:  # Blender 5 makes the node tree itself (use_nodes is deprecated)
        world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.8, 0.8, 0.8, 1.0)
    scene.world = world


def look_from(name: str, location: Vector, target: Vector, lens: float = 35.0) -> bpy.types.Object:
    camera = bpy.data.objects.new(name, bpy.data.cameras.new(name))
    camera.data.lens = lens
    camera.location = location
    camera.rotation_euler = (target - location).to_track_quat("-Z", "Y").to_euler()
    bpy.context.scene.collection.objects.link(camera)
    return camera


def render_panel(camera: bpy.types.Object, path: Path, hidden: tuple[bpy.types.Object, ...] = ()) -> np.ndarray:
    """One Cycles render from `camera` with `hidden` left out, as float RGBA (H, W, 4)."""
    scene = bpy.context.scene
    scene.camera = camera
    for obj in hidden:
        obj.hide_render = True
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    for obj in hidden:
        obj.hide_render = False
    return read_image(path)


def read_image(path: Path, size: int | None = None) -> np.ndarray:
    image = bpy.data.images.load(str(path))
    if size is not None:
        image.scale(size, size)
    pixels = np.empty(image.size[0] * image.size[1] * 4, np.float32)
    image.pixels.foreach_get(pixels)
    shape = (image.size[1], image.size[0], 4)
    bpy.data.images.remove(image)
    return pixels.reshape(shape)


def save_image(pixels: np.ndarray, path: Path) -> None:
    image = bpy.data.images.new("preview", pixels.shape[1], pixels.shape[0], alpha=True)
    image.pixels.foreach_set(np.ascontiguousarray(pixels, np.float32).ravel())
    image.filepath_raw = str(path)
    image.file_format = "PNG"
    image.save()
    bpy.data.images.remove(image)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "demo_out")
    parser.add_argument("--size", type=int, default=512, help="preview render size (default 512)")
    parser.add_argument("--samples", type=int, default=16, help="Cycles samples of the preview (default 16)")
    parser.add_argument("--localizer", default="", help="backend localizer (default: the embedded default)")
    args = parser.parse_args()
    out: Path = args.out.resolve()
    body_file = out / "body.npz"
    if not body_file.is_file():
        print(f"demo: {body_file} is missing; run `python build.py demo` (it writes it first)")
        return 2

    sys.path.insert(0, str(ROOT))
    import interactvlm_blender
    from backend.eval.metrics import precision_recall_f1  # numpy only: fine beside bpy
    from interactvlm_blender import api, naming, results, thumbnails
    from interactvlm_blender import prefs as addon_prefs

    bpy.ops.wm.read_factory_settings(use_empty=True)
    interactvlm_blender.register()
    preferences = addon_prefs.get_prefs()
    preferences.backend_python = sys.executable  # this very environment runs the backend

    example = dict(np.load(EXAMPLE.with_suffix(".npz"), allow_pickle=False))
    with np.load(body_file, allow_pickle=False) as data:
        faces = data["faces"]
    body = add_mesh("Anny", example["body_vertices"], faces)
    prop = add_mesh("Seat", example["object_vertices"], example["object_faces"])
    add_camera_and_light(example)
    photo = str(EXAMPLE.with_suffix(".png"))
    label = str(example["object_label"])

    start = time.perf_counter()
    outcome = bpy.ops.interactvlm.estimate_contact(image=photo, body=body.name, object=prop.name,
                                                   task="human_contact", localizer=args.localizer)
    body_s = time.perf_counter() - start
    start = time.perf_counter()
    outcome_object = bpy.ops.interactvlm.estimate_contact(image=photo, body=body.name, object=prop.name,
                                                          task="object_contact", label=label,
                                                          localizer=args.localizer)
    object_s = time.perf_counter() - start
    if outcome != {"FINISHED"} or outcome_object != {"FINISHED"}:
        print(f"demo: the estimate did not finish ({outcome}, {outcome_object}); see the report above")
        interactvlm_blender.unregister()
        return 1

    body_scores = results.stored_scores(body)
    prop_scores = results.stored_scores(prop, naming.result_key("object_contact", label))
    body_f1 = precision_recall_f1(body_scores, example["body_contact"].astype(bool))[2]  # DECO's F1
    prop_f1 = precision_recall_f1(prop_scores, example["object_contact"].astype(bool))[2]
    for obj in (body, prop):
        api.heat_map_material(obj)
    out.mkdir(parents=True, exist_ok=True)
    blend = out / "demo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))

    # Preview: the photo | the estimate seen from the photo's camera | the body alone from behind
    # and below (buttocks, thighs, soles) | the seat alone from above (where it is sat on).
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = args.samples
    scene.render.resolution_x = scene.render.resolution_y = args.size
    scene.render.image_settings.file_format = "PNG"
    low, high = (Vector(v) for v in (example["body_vertices"].min(0), example["body_vertices"].max(0)))
    centre = (low + high) / 2
    seat_top = Vector((*example["object_vertices"].mean(0)[:2], float(example["object_vertices"][:, 2].max())))
    behind = look_from("Behind, below", centre + Vector((0.6, 1.6, -0.45)), centre, lens=35)
    above = look_from("Seat, above", seat_top + Vector((0.0, -0.45, 0.9)), seat_top, lens=35)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ivlm_demo_") as tmp:
        panels = [read_image(Path(photo), args.size),
                  render_panel(scene.camera, Path(tmp, "photo_view.png")),
                  render_panel(behind, Path(tmp, "behind.png"), hidden=(prop,)),
                  render_panel(above, Path(tmp, "above.png"), hidden=(body,))]
        save_image(np.concatenate(panels, axis=1), out / "preview.png")
    # What the panel's result box shows: the photo with the localizer's detections (the default
    # localizer's; other localizers report none: the photo itself then) and the view masks of the body's result.
    pictures = thumbnails.result_images(body)
    if thumbnails.detection_image(body) is None:
        pictures.insert(0, thumbnails.photo_image(photo))
    save_image(thumbnails.strip(pictures), out / "thumbnails.png")
    render_s = time.perf_counter() - start
    interactvlm_blender.unregister()

    print(f"demo: body  {int((body_scores >= 0.5).sum())} of {len(body_scores)} vertices in contact, "
          f"F1 {body_f1:.2f} against the example's ground truth ({body_s:.1f} s)")
    print(f"demo: {label} {int((prop_scores >= 0.5).sum())} of {len(prop_scores)} vertices in contact, "
          f"F1 {prop_f1:.2f} ({object_s:.1f} s)")
    print(f"demo: wrote {blend}, {out / 'preview.png'} and {out / 'thumbnails.png'} (render {render_s:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
