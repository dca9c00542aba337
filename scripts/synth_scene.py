"""Render synthetic scenes with Blender's Python module (bpy), run as its own process.

Usage: python scripts/synth_scene.py --spec scenes.json
The spec (written by backend/eval/synth/generate.py) holds the image size, engine, samples and,
per scene, an npz of meshes (body_vertices/body_faces, prop_vertices/prop_faces), camera, sun,
sky and colours, and the output PNG path. backend/ never imports bpy; this script is the only
place that does. Cycles runs on the CPU; EEVEE needs an OpenGL/EGL context (a GPU machine).
"""
from __future__ import annotations

import argparse
import json
import sys

import bpy
import numpy as np
from mathutils import Vector


def make_material(name: str, color: list[float], roughness: float,
                  noise: tuple[float, float] | None = None) -> bpy.types.Material:
    """A Principled material; with noise=(amount, scale) its colour is darkened by a noise texture
    (a cloth-like pattern) by up to `amount`."""
    material = bpy.data.materials.new(name)
    if material.node_tree is None:  # Blender 5 makes the node tree itself (use_nodes is deprecated)
        material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    bsdf = nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    if noise is not None and noise[0] > 0:
        texture = nodes.new("ShaderNodeTexNoise")
        texture.inputs["Scale"].default_value = noise[1]
        ramp = nodes.new("ShaderNodeValToRGB")
        ramp.color_ramp.elements[0].color = (*[c * (1.0 - noise[0]) for c in color], 1.0)
        ramp.color_ramp.elements[1].color = (*color, 1.0)
        links.new(texture.outputs["Fac"], ramp.inputs["Fac"])
        links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])
    return material


def add_mesh(name: str, vertices: np.ndarray, faces: np.ndarray, color: list[float], roughness: float,
             smooth: bool, materials: list[bpy.types.Material] | None = None,
             face_materials: np.ndarray | None = None) -> bpy.types.Object:
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(vertices.tolist(), [], faces.tolist())
    mesh.update()
    if smooth:
        mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), dtype=bool))
    for material in materials or [make_material(name + "_material", color, roughness)]:
        mesh.materials.append(material)
    if face_materials is not None and materials:
        mesh.polygons.foreach_set("material_index", face_materials.astype(np.int32))
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def build_scene(scene_spec: dict, size: int, engine: str, samples: int) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    if engine == "cycles":
        scene.render.engine = "CYCLES"
        scene.cycles.device = "CPU"
        scene.cycles.samples = samples
        scene.cycles.seed = 0  # deterministic noise
        scene.cycles.use_denoising = False
        scene.cycles.max_bounces = 4
    else:
        scene.render.engine = "BLENDER_EEVEE"
    with np.load(scene_spec["meshes"]) as data:
        materials = [make_material("skin", scene_spec["skin_color"], 0.55)]
        for k, color in enumerate(scene_spec.get("clothing_colors", [])):
            materials.append(make_material(f"cloth{k}", color, 0.8, tuple(scene_spec["clothing_noise"])))
        add_mesh("body", data["body_vertices"], data["body_faces"], scene_spec["skin_color"], 0.55, smooth=True,
                 materials=materials, face_materials=data["body_materials"] if "body_materials" in data.files else None)
        if len(data["prop_faces"]):
            add_mesh("prop", data["prop_vertices"], data["prop_faces"], scene_spec["prop_color"], 0.6, smooth=False)
        if "scenery_faces" in data.files and len(data["scenery_faces"]):
            add_mesh("scenery", data["scenery_vertices"], data["scenery_faces"], scene_spec["scenery_color"], 0.7,
                     smooth=False)
    ground = np.array([[-20, -20, 0], [20, -20, 0], [20, 20, 0], [-20, 20, 0]], dtype=np.float64)
    add_mesh("ground", ground, np.array([[0, 1, 2], [0, 2, 3]]), scene_spec["ground_color"], 0.8, smooth=False)

    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    camera.data.lens = scene_spec["lens_mm"]
    camera.data.sensor_width = 36.0
    camera.location = Vector(scene_spec["camera_location"])
    camera.rotation_euler = (Vector(scene_spec["camera_target"]) - camera.location).to_track_quat("-Z", "Y").to_euler()
    scene.collection.objects.link(camera)
    scene.camera = camera

    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.data.energy = scene_spec["sun_strength"]
    sun.data.color = scene_spec["sun_color"]
    sun.rotation_euler = Vector(scene_spec["sun_direction"]).to_track_quat("-Z", "Y").to_euler()
    scene.collection.objects.link(sun)

    world = bpy.data.worlds.new("world")
    if world.node_tree is None:  # Blender 5 makes the node tree itself (use_nodes is deprecated)
        world.use_nodes = True
    background = world.node_tree.nodes["Background"]
    background.inputs["Color"].default_value = (*scene_spec["world_color"], 1.0)
    background.inputs["Strength"].default_value = scene_spec["world_strength"]
    scene.world = world


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", required=True, help="scenes.json written by backend/eval/synth/generate.py")
    args = parser.parse_args(argv)
    with open(args.spec) as handle:
        spec = json.load(handle)
    for i, scene_spec in enumerate(spec["scenes"]):
        build_scene(scene_spec, spec["size"], spec["engine"], spec["samples"])
        bpy.context.scene.render.filepath = scene_spec["out"]
        bpy.ops.render.render(write_still=True)
        print(f"synth_scene: {i + 1}/{len(spec['scenes'])} {scene_spec['out']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]))
