"""Add Fitted Body in real headless Blender: the posed body the default localizer reasoned on, kept with
the result through save and reopen, added beside the body as our own mesh in one undo step, never over a
user's object, refused with what to do when a result has none, removed again by Remove Results."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blender_helpers import LOCALIZER, RESOLUTION, add_body, clear_scene


def open_result(bpy, fitted_blend):
    """The saved scene with the default-localizer result on "Body", Body active and selected; (body, arrays)."""
    path, arrays = fitted_blend
    bpy.ops.wm.open_mainfile(filepath=str(path))
    body = bpy.data.objects["Body"]
    bpy.context.view_layer.objects.active = body
    for obj in bpy.context.view_layer.objects:
        obj.select_set(obj is body)
    return body, arrays


def geometry(obj) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (N,3), faces (F,3)) of a triangle mesh object, in its own space."""
    mesh = obj.data
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    corners = np.empty(len(mesh.loops), np.int32)
    mesh.loops.foreach_get("vertex_index", corners)
    return co.reshape(-1, 3), corners.reshape(-1, 3)


def world_box(bpy, obj) -> tuple[np.ndarray, np.ndarray]:
    bpy.context.view_layer.update()
    corners = np.array([tuple(obj.matrix_world @ v.co) for v in obj.data.vertices])
    return corners.min(0), corners.max(0)


def test_add_fitted_body_adds_the_pose_beside_the_body_in_one_undo_step(bpy, fitted_blend, anny_body):
    from interactvlm_blender import fitted_body, results
    from test_blender_addon import window_override

    body, arrays = open_result(bpy, fitted_blend)
    assert arrays["fitted_vertices"].shape == (anny_body.n_vertices, 3)  # the default localizer's posed Anny
    stored = bpy.data.meshes[results.read_record(body)[""]["fitted"]["mesh"]]
    assert stored.use_fake_user and stored.users == 1  # kept by the file through save and reopen, shown by nothing
    bpy.ops.ed.undo_push(message="before add")
    objects_before = sorted(o.name for o in bpy.data.objects)
    # undo=True asks Blender for the operator's undo push as the UI does (as the other undo tests do).
    assert bpy.ops.interactvlm.add_fitted_body("EXEC_DEFAULT", True) == {"FINISHED"}
    added = bpy.data.objects["Body Fitted Body"]
    vertices, faces = geometry(added)
    np.testing.assert_array_equal(vertices, arrays["fitted_vertices"])
    np.testing.assert_array_equal(faces, arrays["fitted_faces"])
    assert len(added.data.polygons) == len(arrays["fitted_faces"]) == len(anny_body.faces)
    assert fitted_body.is_ours(added) and results.read_record(body)[""]["fitted"]["objects"] == [added.name]
    assert added.users_collection[:] == body.users_collection[:]
    assert bpy.context.view_layer.objects.active == body and body.mode == "OBJECT"  # the user's active object kept
    # Beside the body: past its bounding box in +X by the gap, on the same floor, centred on it in Y.
    (b_low, b_high), (f_low, f_high) = world_box(bpy, body), world_box(bpy, added)
    assert f_low[0] == pytest.approx(b_high[0] + fitted_body.GAP_M, abs=1e-4)
    assert f_low[2] == pytest.approx(b_low[2], abs=1e-4)
    assert (f_low[1] + f_high[1]) / 2 == pytest.approx((b_low[1] + b_high[1]) / 2, abs=1e-4)
    assert 1.3 < f_high[2] - f_low[2] < 2.1  # a person's height in metres (scene units: metres)

    with window_override(bpy):  # one undo step takes it all back
        assert bpy.ops.ed.undo() == {"FINISHED"}
    assert sorted(o.name for o in bpy.data.objects) == objects_before
    assert results.read_record(bpy.data.objects["Body"])[""]["fitted"]["objects"] == []


def test_adds_never_overwrite_an_earlier_one_or_the_users_object(bpy, fitted_blend):
    from interactvlm_blender import api, fitted_body

    body, arrays = open_result(bpy, fitted_blend)
    bpy.ops.mesh.primitive_cube_add(size=0.5, location=(-3.0, 0.0, 0.0))
    user = bpy.context.active_object
    user.name = "Body Fitted Body"  # the user's own object with the name ours wants
    user_mesh, user_vertices = user.data.name, geometry(user)[0].copy()
    bpy.context.view_layer.objects.active = body
    assert bpy.ops.interactvlm.add_fitted_body(object="Body") == {"FINISHED"}
    first = bpy.data.objects["Body Fitted Body (InteractVLM)"]
    first_location = tuple(first.location)
    second = api.add_fitted_body(body)
    assert second.name == "Body Fitted Body (InteractVLM).001" and second.data != first.data
    assert tuple(first.location) == first_location and fitted_body.is_ours(first)
    np.testing.assert_array_equal(geometry(first)[0], arrays["fitted_vertices"])
    assert world_box(bpy, second)[0][0] > world_box(bpy, first)[1][0]  # lined up beside the first, not on it
    assert user.name == "Body Fitted Body" and user.data.name == user_mesh and not fitted_body.is_ours(user)
    np.testing.assert_array_equal(geometry(user)[0], user_vertices)


def test_remove_results_removes_what_was_added_and_nothing_of_the_users(bpy, fitted_blend):
    from interactvlm_blender import api, fitted_body, results

    body, _arrays = open_result(bpy, fitted_blend)
    stored = results.read_record(body)[""]["fitted"]["mesh"]
    kept = api.add_fitted_body(body)
    edited = api.add_fitted_body(body)
    edited.data.vertices[0].co.x += 0.01  # the user posed it further: theirs now
    duplicate = kept.copy()  # a copy the user made of ours (same mark, a name the record does not list)
    duplicate.data = kept.data.copy()
    bpy.context.scene.collection.objects.link(duplicate)
    kept_name, kept_mesh = kept.name, kept.data.name
    bpy.context.view_layer.objects.active = body
    body.select_set(True)
    assert bpy.ops.interactvlm.remove_results() == {"FINISHED"}
    assert kept_name not in bpy.data.objects and kept_mesh not in bpy.data.meshes
    assert stored not in bpy.data.meshes and not results.read_record(body)
    assert {"Body Fitted Body.001", duplicate.name} <= set(bpy.data.objects.keys())
    assert not fitted_body.is_ours(bpy.data.objects["Body Fitted Body.001"])
    assert "Contact" not in body.vertex_groups


def test_a_result_without_a_fitted_body_is_refused_with_what_to_do(bpy, fitted_blend, photo):
    from interactvlm_blender import results

    add_body(bpy, "Fresh")
    with pytest.raises(RuntimeError, match=r"InteractVLM: 'Fresh' has no contact result; run Estimate Contact"):
        bpy.ops.interactvlm.add_fitted_body(object="Fresh")
    body, _arrays = open_result(bpy, fitted_blend)
    stored = results.read_record(body)[""]["fitted"]["mesh"]
    # A new plain-contact result from a localizer that fits no body replaces the one that had it.
    assert bpy.ops.interactvlm.estimate_contact(image=str(photo), body="Body", localizer=LOCALIZER,
                                                resolution=RESOLUTION) == {"FINISHED"}
    assert stored not in bpy.data.meshes and "fitted" not in results.read_record(body)[""]
    objects = set(bpy.data.objects.keys())
    with pytest.raises(RuntimeError, match=r"has no fitted body \(its localizer, testing-lowest, returns none.*"
                                           r"run Estimate Contact with the default localizer"):
        bpy.ops.interactvlm.add_fitted_body()
    assert set(bpy.data.objects.keys()) == objects


def test_an_imported_result_brings_its_fitted_body(bpy, fitted_blend, tmp_path):
    from interactvlm_blender import api, results

    _path, arrays = fitted_blend
    body = add_body(bpy)  # the same 482-vertex test body the result was made for
    path = tmp_path / "item.npz"
    np.savez(path, **arrays)
    api.import_result(body, str(path))
    assert results.read_record(body)[""]["fitted"]["serial"] == 1
    added = api.add_fitted_body(body, "")
    np.testing.assert_array_equal(geometry(added)[1], arrays["fitted_faces"])


def test_the_fitted_body_keeps_its_size_in_a_scene_of_other_units(bpy, fitted_blend):
    from interactvlm_blender import api, fitted_body

    body, arrays = open_result(bpy, fitted_blend)
    units = bpy.context.scene.unit_settings
    units.scale_length = 0.01  # 1 scene unit = 1 cm
    try:
        added = api.add_fitted_body(body)
    finally:
        units.scale_length = 1.0  # the scene lives on into later tests
    assert tuple(added.scale) == pytest.approx((100.0, 100.0, 100.0))
    low, high = world_box(bpy, added)
    height = np.ptp(arrays["fitted_vertices"][:, 2])
    assert high[2] - low[2] == pytest.approx(100.0 * height, rel=1e-5)  # the same metres, in centimetres
    assert low[0] == pytest.approx(world_box(bpy, body)[1][0] + 100.0 * fitted_body.GAP_M, abs=1e-3)


def test_a_batch_estimate_without_the_extras_keeps_no_fitted_body(bpy, addon, tmp_path):
    """masks=False (what batches use) leaves out the ~0.7 MB fitted body per item, as it leaves out the
    mask images; a result holding one replaces nothing of it (there is none)."""
    from test_blender_addon import run_job

    from interactvlm_blender import naming, results

    clear_scene(bpy)
    body = add_body(bpy)
    _report, arrays, _steps = run_job(bpy, Path(__file__).resolve().parents[1] / "data" / "anny_stand.jpg", tmp_path,
                                      localizer="default", masks=False)
    assert "fitted_vertices" in arrays  # the backend sent one: the add-on chose not to keep it
    entry = results.read_record(body)[naming.result_key("human_contact", None)]
    assert "fitted" not in entry and not any(m.get("ivlm_owner") for m in bpy.data.meshes if m is not body.data)
