"""The add-on in real headless Blender (bpy 5.0.1) against the real backend worker subprocess."""
from __future__ import annotations

import shutil
import threading
import time

import numpy as np
import pytest

from blender_helpers import LOCALIZER, RESOLUTION, add_body, snapshot

CLASS_NAMES = ("INTERACTVLM_OT_estimate_contact", "INTERACTVLM_OT_cancel_job", "INTERACTVLM_OT_apply_threshold",
               "INTERACTVLM_OT_check_backend", "VIEW3D_PT_interactvlm", "InteractVLMSceneSettings",
               "InteractVLMStatus", "InteractVLMPreferences")


def window_override(bpy):
    window = bpy.context.window_manager.windows[0]
    return bpy.context.temp_override(window=window, area=window.screen.areas[0])


def expect_error_report(bpy, match: str, **args) -> None:
    """The operator reports an ERROR; Blender hands a script caller that report as RuntimeError
    ("Error: <report>"). Anything else (another exception type, a traceback) fails."""
    with pytest.raises(RuntimeError, match=r"^Error: InteractVLM: .*" + match):
        bpy.ops.interactvlm.estimate_contact(**args)


def run_job(bpy, photo, tmp_path, **overrides):
    """The modal operator's timer step (runner.Run.step) in a loop, as Blender's timer would call it.

    Returns (report, result arrays, per-step main-thread seconds: [start, *steps]); the seconds of
    the steps that wrote the result are also in run_job.writing_steps."""
    from interactvlm_blender import estimate, runner

    params = estimate.EstimateParams(**{"image_path": str(photo), "body": "Body", "localizer": LOCALIZER,
                                    "resolution": RESOLUTION, **overrides})
    start = time.perf_counter()
    job = estimate.start_job(bpy.context, params)
    steps = [time.perf_counter() - start]
    run = runner.Run(job, estimate.apply_steps)
    run_job.writing_steps = []
    tmp_path.mkdir(parents=True, exist_ok=True)
    kept = tmp_path / "result.npz"
    while True:
        start = time.perf_counter()
        ended = run.step()
        steps.append(time.perf_counter() - start)
        if run.writing:
            run_job.writing_steps.append(steps[-1])
        if run.writing and not kept.exists():
            shutil.copy(job.result_path, kept)  # the run removes the job's folder when it ends
        if ended:
            break
        time.sleep(0.01)
    assert job.state == runner.DONE and not run.error, job.message or run.error
    assert job.report is not None and not job.job_dir.exists()
    with np.load(kept) as data:
        arrays = {k: data[k] for k in data.files}
    return job.report, arrays, steps


def test_register_unregister_twice_leaves_nothing(addon, bpy_module):
    bpy = bpy_module
    from interactvlm_blender import client, panel

    client.get_worker(addon.prefs.get_prefs())  # a running worker must be stopped by unregister
    classes = list(addon._registered)
    assert {c.__name__ for c in classes} >= set(CLASS_NAMES)
    for _ in range(2):
        addon.unregister()
        assert not any(c.is_registered for c in classes) and not addon._registered
        assert not hasattr(bpy.types.Scene, "interactvlm") and not hasattr(
            bpy.types.WindowManager, "interactvlm_status"
        )
        assert addon._on_load_pre not in bpy.app.handlers.load_pre
        assert addon._on_save_pre not in bpy.app.handlers.save_pre
        assert client.current_worker() is None and client._private_dir is None and panel._previews is None
        addon.register()
        assert all(c.is_registered for c in addon._registered) and len(addon._registered) == len(classes)
        assert bpy.app.handlers.load_pre.count(addon._on_load_pre) == 1
        assert bpy.app.handlers.save_pre.count(addon._on_save_pre) == 1
    addon.prefs.get_prefs().backend_python = str(addon.prefs.managed_python())


def test_check_backend_reports_versions(bpy):
    assert bpy.ops.interactvlm.check_backend() == {"FINISHED"}
    report = bpy.context.window_manager.interactvlm_status.backend_report
    assert "protocol 1" in report and "cpu" in report and f"{LOCALIZER}: ready" in report, report
    # The panel's localizer choice now offers what this backend listed (an enum: props.localizer_items).
    from interactvlm_blender import props

    settings = bpy.context.scene.interactvlm
    names = [item[0] for item in props.localizer_items(settings, bpy.context)]
    assert LOCALIZER in names and "interactvlm" in names


def test_job_writes_exact_result_in_steps(bpy, photo, tmp_path):
    from interactvlm_blender import results
    from interactvlm_blender.heat_map import heat_colors

    # A 10,242-vertex body (SMPL-X size) at the default 1024 px views, written step by step: the
    # mesh data, then one mask image per step. How long each main-thread step takes is measured by
    # bench/blender_main_thread.py (target < 100 ms), not asserted here.
    bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=6, radius=1.0, location=(0, 0, 0.85))
    body = bpy.context.active_object
    body.name, body.scale = "Body", (0.25, 0.15, 0.85)
    report, arrays, steps = run_job(bpy, photo, tmp_path, resolution=1024)
    assert len(run_job.writing_steps) == 1 + len(arrays["masks"])  # the mesh data, then one step per mask

    scores = arrays["scores"]
    assert report.group == "Contact" and report.attribute == "ivlm_contact" and not report.renamed
    assert 0 < report.contact_count < len(scores) and report.contact_count == int((scores >= 0.5).sum())
    mesh = body.data
    stored = np.empty(len(mesh.vertices), np.float32)
    mesh.attributes["ivlm_contact"].data.foreach_get("value", stored)
    np.testing.assert_array_equal(stored, scores)
    np.testing.assert_array_equal(results.group_weights(body, "Contact"), np.where(scores >= 0.5, scores, 0))
    member = np.zeros(len(scores), bool)
    gi = body.vertex_groups["Contact"].index
    for v in mesh.vertices:
        member[v.index] = any(g.group == gi for g in v.groups)
    np.testing.assert_array_equal(member, scores >= 0.5)
    colors = np.empty(len(scores) * 4, np.float32)
    color = mesh.color_attributes["ivlm_contact_color"]
    assert color.data_type == "FLOAT_COLOR" and color.domain == "POINT"
    color.data.foreach_get("color", colors)
    np.testing.assert_array_equal(colors.reshape(-1, 4), heat_colors(scores))
    np.testing.assert_array_equal(heat_colors(np.array([0.0, 1.0]))[:, :3], [[0, 0, 1], [1, 0, 0]])
    names = [str(v) for v in arrays["view_names"]]
    assert len(report.images) == len(names) == arrays["masks"].shape[0]
    for image_name, mask in zip(report.images, arrays["masks"]):
        image = bpy.data.images[image_name]
        assert tuple(image.size) == (mask.shape[1], mask.shape[0]) and image.use_fake_user
        pixels = np.empty(len(image.pixels), np.float32)
        image.pixels.foreach_get(pixels)
        grey = pixels.reshape(mask.shape[0], mask.shape[1], 4)[::-1, :, 0]
        np.testing.assert_allclose(grey, mask / 255.0, atol=1 / 255 / 2)


def test_operator_end_to_end_threshold_and_undo(bpy, photo):
    from interactvlm_blender import results

    body = add_body(bpy)
    bpy.ops.ed.undo_push(message="before estimate")
    before = snapshot(bpy)
    # EXEC with explicit arguments blocks; undo=True asks Blender for the operator's undo push as the UI does.
    assert bpy.ops.interactvlm.estimate_contact("EXEC_DEFAULT", True, image=str(photo), body="Body",
                                                localizer=LOCALIZER, resolution=RESOLUTION) == {"FINISHED"}
    scores = results.stored_scores(body)
    assert scores is not None and (scores >= 0.5).any()

    for threshold in (0.2, 0.95, 0.5):
        assert bpy.ops.interactvlm.apply_threshold(threshold=threshold, object="Body") == {"FINISHED"}
        np.testing.assert_array_equal(results.group_weights(body, "Contact"),
                                      np.where(scores >= threshold, scores, 0))
        assert results.read_record(body)[""]["threshold"] == pytest.approx(threshold)
    bpy.context.scene.interactvlm.body = body
    bpy.context.scene.interactvlm.threshold = 0.3  # the panel slider re-thresholds live
    np.testing.assert_array_equal(results.group_weights(body, "Contact"), np.where(scores >= 0.3, scores, 0))
    bpy.context.scene.interactvlm.body = None

    bpy.ops.ed.undo_push(message="after threshold")
    with window_override(bpy):
        for _ in range(2):  # the threshold change (pushed above), then the estimate's one step
            assert bpy.ops.ed.undo() == {"FINISHED"}
    assert snapshot(bpy) == before
    body = bpy.data.objects["Body"]
    assert "ivlm_contact" not in body.data.attributes and "Contact" not in body.vertex_groups
    with window_override(bpy):
        assert bpy.ops.ed.redo() == {"FINISHED"}
    np.testing.assert_array_equal(results.stored_scores(bpy.data.objects["Body"]), scores)


def test_user_contact_group_is_never_touched(bpy, photo):
    from interactvlm_blender import api, results

    body = add_body(bpy)
    user = body.vertex_groups.new(name="Contact")
    user.add([0, 1, 2], 0.25, "REPLACE")
    mine = body.data.attributes.new("ivlm_contact_color", "FLOAT", "POINT")  # a user attribute with our name
    mine.data.foreach_set("value", np.full(len(body.data.vertices), 7.0, np.float32))
    out = api.estimate_contact(str(photo), body="Body", localizer=LOCALIZER, resolution=RESOLUTION)
    assert out["group"] == "Contact (InteractVLM)" and "Contact -> Contact (InteractVLM)" in out["message"]
    assert out["color"] != "ivlm_contact_color"
    weights = results.group_weights(body, "Contact")
    np.testing.assert_array_equal(np.flatnonzero(weights), [0, 1, 2])
    assert set(weights[[0, 1, 2]]) == {0.25}
    values = np.empty(len(body.data.vertices), np.float32)
    body.data.attributes["ivlm_contact_color"].data.foreach_get("value", values)
    assert (values == 7.0).all()
    # Re-running replaces only ours, under the same distinct names.
    again = api.estimate_contact(str(photo), body="Body", localizer=LOCALIZER, resolution=RESOLUTION)
    assert again["group"] == out["group"] and again["color"] == out["color"]
    assert sorted(g.name for g in body.vertex_groups) == ["Contact", "Contact (InteractVLM)"]


def test_semantic_label_and_object_contact(bpy, photo):
    from interactvlm_blender import results

    body = add_body(bpy)
    bpy.ops.mesh.primitive_cube_add(size=0.5, location=(1.0, 0.0, 0.25))
    prop = bpy.context.active_object
    prop.name = "Chair"
    assert bpy.ops.interactvlm.estimate_contact(image=str(photo), body="Body", task="semantic_contact",
                                                label="Chair seat", localizer=LOCALIZER,
                                                resolution=RESOLUTION) == {"FINISHED"}
    assert "Contact Chair seat" in body.vertex_groups and "ivlm_contact_chair_seat" in body.data.attributes
    assert results.stored_scores(body, "Chair seat") is not None
    assert bpy.ops.interactvlm.estimate_contact(image=str(photo), body="Body", object="Chair",
                                                task="object_contact", label="chair", localizer=LOCALIZER,
                                                resolution=RESOLUTION) == {"FINISHED"}
    assert "Contact chair" in prop.vertex_groups and results.stored_scores(prop, "chair") is not None
    assert "Contact chair" not in body.vertex_groups


def test_failures_report_clearly_and_leave_scene_unchanged(bpy, photo, tmp_path):
    from interactvlm_blender import api, client, prefs, runner

    add_body(bpy)
    points = bpy.data.meshes.new("Points")
    points.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [(0, 1)], [])  # vertices and an edge, no faces
    bpy.context.scene.collection.objects.link(bpy.data.objects.new("Points", points))
    before = snapshot(bpy)
    common = dict(localizer=LOCALIZER, resolution=RESOLUTION)
    cases = {
        "missing image": dict(image=str(tmp_path / "nope.png"), body="Body", **common),
        "no faces": dict(image=str(photo), body="Points", **common),
        "semantic without label": dict(image=str(photo), body="Body", task="semantic_contact", **common),
    }
    expected = {
        "missing image": "does not exist",
        "no faces": "has no faces",
        "semantic without label": "needs an object label",
    }
    for name, args in cases.items():
        expect_error_report(bpy, expected[name], **args)
        with pytest.raises(runner.JobError, match=expected[name]):
            api.estimate_contact(**args)
    assert snapshot(bpy) == before

    settings = prefs.get_prefs()
    good = settings.backend_python
    client.stop_worker()
    settings.backend_python = str(tmp_path / "no" / "python")
    try:
        expect_error_report(bpy, "backend Python .* does not exist", **cases["missing image"] | {"image": str(photo)})
        with pytest.raises(client.WorkerError, match="does not exist.*build.py setup"):
            api.estimate_contact(str(photo), body="Body", **common)
        with pytest.raises(RuntimeError, match="does not exist"):
            bpy.ops.interactvlm.check_backend()
    finally:
        settings.backend_python = good
    assert snapshot(bpy) == before

    # The backend dies mid-job (killed while the localizer sleeps): a clear report, nothing written.
    worker = client.get_worker(settings)
    killer = threading.Timer(1.5, worker.process.kill)
    killer.start()
    try:
        expect_error_report(bpy, "worker was killed by signal 9; the job was lost", image=str(photo), body="Body",
                            task="semantic_contact", label="sleep:10", **common)
    finally:
        killer.cancel()
    assert snapshot(bpy) == before
    # ...and the next job restarts the worker transparently.
    assert bpy.ops.interactvlm.estimate_contact(image=str(photo), body="Body", **common) == {"FINISHED"}
    assert client.current_worker().pid != worker.pid


def test_cancel_mid_job_writes_nothing(bpy, photo):
    from interactvlm_blender import estimate, runner

    add_body(bpy)
    before = snapshot(bpy)
    job = estimate.start_job(bpy.context, estimate.EstimateParams(image_path=str(photo), body="Body",
                                                                  task="semantic_contact", label="sleep:2",
                                                                  localizer=LOCALIZER, resolution=RESOLUTION))
    deadline = time.monotonic() + 30
    while job.stage not in ("localize",) and time.monotonic() < deadline:
        job.tick()
        time.sleep(0.01)
    job.cancel()
    assert runner.wait(job) == runner.CANCELLED and "cancelled" in job.message
    assert snapshot(bpy) == before and not job.job_dir.exists()


def test_results_survive_save_and_reload(bpy, photo, tmp_path):
    from interactvlm_blender import results

    body = add_body(bpy)
    report, arrays, _ = run_job(bpy, photo, tmp_path)
    weights = results.group_weights(body, report.group)
    path = tmp_path / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.read_homefile(use_empty=True)
    assert "Body" not in bpy.data.objects
    bpy.ops.wm.open_mainfile(filepath=str(path))
    body = bpy.data.objects["Body"]
    np.testing.assert_array_equal(results.stored_scores(body), arrays["scores"])
    np.testing.assert_array_equal(results.group_weights(body, report.group), weights)
    assert results.read_record(body)[""]["group"] == "Contact"
    image = bpy.data.images[report.images[0]]
    assert image.packed_file is not None
    pixels = np.empty(len(image.pixels), np.float32)
    image.pixels.foreach_get(pixels)
    mask = arrays["masks"][0]
    np.testing.assert_allclose(pixels.reshape(*mask.shape, 4)[::-1, :, 0], mask / 255.0, atol=1 / 255 / 2)
    assert bpy.ops.interactvlm.apply_threshold(threshold=0.9, object="Body") == {"FINISHED"}


def test_batch_helper(bpy, photo, tmp_path):
    from interactvlm_blender import api

    add_body(bpy)
    rows = api.estimate_batch([dict(image=str(photo), body="Body", localizer=LOCALIZER, resolution=RESOLUTION),
                               dict(image=str(tmp_path / "missing.png"), body="Body", localizer=LOCALIZER)])
    assert rows[0]["group"] == "Contact" and rows[0]["contact_count"] > 0
    assert "does not exist" in rows[1]["error"]
    assert api.set_threshold(bpy.data.objects["Body"], 0.8) == 1
    material = api.heat_map_material(bpy.data.objects["Body"])
    node = next(n for n in material.node_tree.nodes if n.type == "VERTEX_COLOR")
    assert node.layer_name == "ivlm_contact_color" and bpy.data.objects["Body"].data.materials[0] == material
    assert (
        api.heat_map_material(bpy.data.objects["Body"]) == material
        and len(bpy.data.objects["Body"].data.materials) == 1
    )


def test_image_datablocks_pose_and_modifiers(bpy, photo, tmp_path):
    from interactvlm_blender import estimate, results, runner

    body = add_body(bpy)
    loaded = bpy.data.images.load(str(photo))
    generated = bpy.data.images.new("Painted", 40, 30)  # no file: the add-on sends a PNG copy
    for image in (loaded, generated):
        report, _, _ = run_job(bpy, photo, tmp_path / image.name, image_path="", image_name=image.name)
        assert report.group == "Contact"
    with pytest.raises(runner.JobError, match="no image 'Gone'"):
        estimate.start_job(bpy.context, estimate.EstimateParams(image_name="Gone", body="Body", localizer=LOCALIZER))

    # A deforming modifier keeps the vertex order (evaluated mesh sent); REST sends the mesh's own
    # coordinates; a topology-changing modifier falls back to the original mesh with a note.
    from interactvlm_blender import mesh_io

    body.modifiers.new("Bend", "SIMPLE_DEFORM").deform_axis = "Z"
    depsgraph = bpy.context.evaluated_depsgraph_get()
    world = mesh_io.read_mesh(body, depsgraph, "WORLD")
    rest = mesh_io.read_mesh(body, depsgraph, "REST")
    own = np.empty(len(body.data.vertices) * 3, np.float32)
    body.data.vertices.foreach_get("co", own)
    np.testing.assert_array_equal(rest.vertices, own.reshape(-1, 3))
    assert world.vertices.shape == rest.vertices.shape and world.vertices[:, 2].min() > -1e-5 and not world.note
    body.modifiers.new("Sub", "SUBSURF")
    report, arrays, _ = run_job(bpy, photo, tmp_path / "subsurf", pose="REST")
    assert len(arrays["scores"]) == len(body.data.vertices)
    np.testing.assert_array_equal(results.stored_scores(body), arrays["scores"])
    noted = mesh_io.read_mesh(body, bpy.context.evaluated_depsgraph_get(), "WORLD")
    assert "change its vertex count" in noted.note and "Sub" in noted.note


def test_invoke_in_background_blocks_and_defaults_come_from_the_panel(bpy, photo):
    from interactvlm_blender import results

    body = add_body(bpy)
    settings = bpy.context.scene.interactvlm
    settings.image_path = str(photo)  # no explicit arguments: panel settings + active object
    assert bpy.ops.interactvlm.estimate_contact("INVOKE_DEFAULT") == {"FINISHED"}
    assert results.stored_scores(body) is not None


class RecordingLayout:
    """Stands in for UILayout when calling a panel's draw() headless (no UI exists in bpy module).

    It checks what draw() asks for against the real RNA: every prop() names a real property of
    real data, every operator() is registered."""

    def __init__(self, bpy, calls):
        self.bpy, self.calls = bpy, calls

    def prop(self, data, name, **_kw):
        assert name in data.bl_rna.properties, f"{type(data).__name__} has no property {name!r}"
        self.calls.append(("prop", name))

    def operator(self, idname, **_kw):
        module, name = idname.split(".")
        getattr(getattr(self.bpy.ops, module), name).get_rna_type()  # KeyError when not registered
        self.calls.append(("operator", idname))
        return type("Props", (), {})()

    def progress(self, **kw):
        assert 0.0 <= kw["factor"] <= 1.0
        self.calls.append(("progress", kw.get("text")))

    def template_ID_preview(self, data, name, **_kw):
        assert name in data.bl_rna.properties
        self.calls.append(("template_ID_preview", name))

    def _child(self, *_a, **_kw):
        return self

    box = row = column = grid_flow = _child

    def label(self, **kw):
        self.calls.append(("label", kw.get("text")))

    def template_icon(self, **kw):
        self.calls.append(("icon", kw["icon_value"]))


def test_panel_draw_uses_real_properties_and_operators(bpy, photo):
    from interactvlm_blender import panel, runner

    add_body(bpy)
    settings = bpy.context.scene.interactvlm
    calls = []
    draw = panel.VIEW3D_PT_interactvlm.draw
    for source, task, running in (("FILE", "human_contact", False), ("IMAGE", "semantic_contact", True)):
        settings.image_source, settings.task, settings.image_path = source, task, str(photo)
        bpy.context.window_manager.interactvlm_status.running = running
        draw(type("P", (), {"layout": RecordingLayout(bpy, calls)})(), bpy.context)
    bpy.context.window_manager.interactvlm_status.running = False
    names = [c[1] for c in calls]
    assert {"image_path", "body", "object", "task", "label", "threshold", "interactvlm.estimate_contact",
            "interactvlm.cancel_job", "image"} <= set(names)
    assert ("label", "File not found") not in calls
    settings.image_source, settings.image_path = "FILE", str(photo.parent / "missing.png")
    draw(type("P", (), {"layout": RecordingLayout(bpy, calls)})(), bpy.context)
    assert ("label", "File not found") in calls
    assert runner.active_job() is None


def test_smplx_body_source(bpy, photo, tmp_path, anny_body):
    """An SMPL-X mesh in the scene, rendered from the SMPL-X model folder of the preferences
    (a synthetic model file in the real format; no licensed data)."""
    from interactvlm_blender import api, prefs, results, runner
    from tests.smplx_synthetic import synthetic_smplx_arrays, write_synthetic_smplx

    folder = tmp_path / "smplx"
    write_synthetic_smplx(folder, anny_body)
    arrays, _ = synthetic_smplx_arrays(anny_body)
    mesh = bpy.data.meshes.new("SMPLX-neutral")
    mesh.from_pydata(arrays["v_template"].tolist(), [], arrays["f"].tolist())
    body = bpy.data.objects.new("SMPLX-neutral", mesh)
    bpy.context.scene.collection.objects.link(body)
    add_body(bpy, "Other")
    args = dict(image=str(photo), localizer=LOCALIZER, resolution=RESOLUTION, body_source="SMPLX")
    settings = prefs.get_prefs()
    with pytest.raises(runner.JobError, match="SMPL-X model folder"):
        api.estimate_contact(body="SMPLX-neutral", **args)
    settings.smplx_dir = str(folder)
    try:
        with pytest.raises(runner.JobError, match="needs an SMPL-X mesh .10475 vertices.; 'Other' has 482"):
            api.estimate_contact(body="Other", **args)
        out = api.estimate_contact(body="SMPLX-neutral", **args)
    finally:
        settings.smplx_dir = ""
    scores = results.stored_scores(body)
    assert out["summary"]["n_vertices"] == len(scores) == 10475 and out["contact_count"] > 0
    assert {"left_foot", "right_foot"} & set(out["summary"]["parts_in_contact"])
