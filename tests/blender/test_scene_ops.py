"""Scene contact and placement in real headless Blender against the real backend worker (subprocess).

Fixtures (the add-on registered once per session, a clean scene per test) come from conftest.py.
Undo: headless bpy has no undo stack (ed.undo's poll fails in background mode), so the tests check
what can be checked: the operators declare UNDO and a placement is one operator call that changes
only the moved object's matrix (test_placement_is_one_undoable_step).
"""
from __future__ import annotations

import numpy as np
import pytest

from blender_helpers import LOCALIZER, RESOLUTION
from tests.test_placement import scene as placement_scene

T = 0.02  # contact distance (scene units = metres)


def world_vertices(obj) -> np.ndarray:
    co = np.empty(len(obj.data.vertices) * 3, dtype=np.float64)
    obj.data.vertices.foreach_get("co", co)
    m = np.array(obj.matrix_world)
    return co.reshape(-1, 3) @ m[:3, :3].T + m[:3, 3]


def attribute(obj, name: str) -> np.ndarray:
    values = np.empty(len(obj.data.vertices), dtype=np.float32)
    obj.data.attributes[name].data.foreach_get("value", values)
    return values


def sphere_on_plane(bpy, bottom: float = 0.0):
    """A 10 cm ball (unit UV sphere scaled by its object, so world transforms matter) above a 60 cm grid."""
    bpy.ops.mesh.primitive_uv_sphere_add(segments=48, ring_count=24, radius=1.0, location=(0.05, 0.0, 0.1 + bottom))
    ball = bpy.context.active_object
    ball.name, ball.scale = "Ball", (0.1, 0.1, 0.1)
    bpy.ops.mesh.primitive_grid_add(x_subdivisions=60, y_subdivisions=60, size=0.6)
    floor = bpy.context.active_object
    floor.name = "Floor"
    bpy.context.view_layer.update()
    return ball, floor


def mesh_object(bpy, name: str, vertices: np.ndarray, faces: np.ndarray):
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(vertices.tolist(), [], faces.tolist())
    mesh.update()
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def add_group(obj, name: str, indices: np.ndarray, weight: float = 1.0):
    group = obj.vertex_groups.new(name=name)
    group.add([int(i) for i in indices], weight, "REPLACE")
    return group


def bumpy_scene(bpy):
    """The placement tests' scene (a bumpy 'body' surface and a block whose underside copies a patch
    of it, in place) as two Blender objects with their contact groups."""
    bv, bf, ov, of, bidx, _ = placement_scene(41)
    body = mesh_object(bpy, "Body", bv, bf)
    prop = mesh_object(bpy, "Prop", ov, of)
    add_group(body, "Contact", bidx)
    add_group(prop, "Contact", np.arange(len(bidx)))
    return body, prop, ov


def rigid(rotvec_deg, shift, pivot) -> np.ndarray:
    """4x4: rotate by rotvec (degrees) about pivot, then shift."""
    from mathutils import Matrix, Vector

    angle = np.radians(np.linalg.norm(rotvec_deg))
    r = np.array(Matrix.Rotation(angle, 3, Vector(np.asarray(rotvec_deg) / np.linalg.norm(rotvec_deg))))
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = pivot - r @ pivot + np.asarray(shift)
    return m


def matrix(m: np.ndarray):
    from mathutils import Matrix

    return Matrix(m.tolist())


def rotation_angle_deg(m: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(m[:3, :3]) - 1) / 2, -1, 1))))


def test_registered_with_a_sub_panel_of_the_main_panel(bpy):
    from interactvlm_blender import ops_scene

    assert bpy.types.VIEW3D_PT_interactvlm_scene.bl_parent_id == "VIEW3D_PT_interactvlm"
    assert hasattr(bpy.types.VIEW3D_PT_interactvlm_scene, "bl_rna")  # registered
    for op in (ops_scene.INTERACTVLM_OT_scene_contact, ops_scene.INTERACTVLM_OT_place_object):
        assert "UNDO" in op.bl_options and op.__doc__
    assert bpy.ops.interactvlm.scene_contact.get_rna_type().description
    assert bpy.context.scene.interactvlm_scene.contact_distance == pytest.approx(T)


def test_sphere_on_plane_marks_contact_on_both(bpy):
    ball, floor = sphere_on_plane(bpy)
    assert bpy.ops.interactvlm.scene_contact(body="Ball", object="Floor", contact_distance=T) == {"FINISHED"}
    ball_world, floor_world = world_vertices(ball), world_vertices(floor)
    ball_score, floor_score = attribute(ball, "ivlm_scene_contact"), attribute(floor, "ivlm_scene_contact")
    # Ball: exactly its vertices below the contact distance (distance = height above the flat floor).
    below = ball_world[:, 2] < T - 1e-6
    assert np.array_equal(ball_score > 0, below) and below.sum() > 10
    assert np.allclose(ball_score[below], 1 - ball_world[below, 2] / T, atol=1e-4)
    # Floor: the disc under the ball (analytic distance to the ideal sphere; 2 mm tessellation margin).
    r = np.linalg.norm(floor_world[:, :2] - [0.05, 0.0], axis=1)
    analytic = np.sqrt(r**2 + 0.1**2) - 0.1
    assert (floor_score > 0)[analytic < T - 2e-3].all() and not (floor_score > 0)[analytic > T + 2e-3].any()
    # Groups and the rest of the written data, on both.
    from interactvlm_blender.naming import SCENE_CONTACT_KEY
    from interactvlm_blender.results import group_weights, read_record

    for obj, score in ((ball, ball_score), (floor, floor_score)):
        weights = group_weights(obj, "Scene Contact")
        assert np.array_equal(weights > 0, score > 0)
        assert np.allclose(weights, score, atol=1e-3)
        assert not attribute(obj, "ivlm_scene_depth").any()
        assert obj.data.color_attributes.active_color.name == "ivlm_scene_contact_color"
        assert read_record(obj)[SCENE_CONTACT_KEY]["group"] == "Scene Contact"
    report = bpy.context.scene.interactvlm_scene.last_report
    assert f"{int(below.sum())} vertices of 'Ball'" in report and "no penetration" in report


def test_far_apart_is_a_clear_no_contact_report(bpy):
    ball, floor = sphere_on_plane(bpy, bottom=1.0)
    # INVOKE (what the panel button does) runs blocking in background mode, like EXEC
    assert bpy.ops.interactvlm.scene_contact("INVOKE_DEFAULT", body="Ball", object="Floor",
                                             contact_distance=T) == {"FINISHED"}
    report = bpy.context.scene.interactvlm_scene.last_report
    assert "no contact between 'Ball' and 'Floor'" in report and "2 cm" in report
    assert not attribute(ball, "ivlm_scene_contact").any() and not attribute(floor, "ivlm_scene_contact").any()


def test_penetration_is_reported_and_user_groups_are_kept(bpy):
    ball, floor = sphere_on_plane(bpy, bottom=-0.01)
    mine = add_group(ball, "Scene Contact", [0, 1, 2], 0.25)  # the user's own group of the same name
    bpy.context.scene.interactvlm_scene.contact_distance = 0.005  # unset argument: taken from the panel
    try:
        assert bpy.ops.interactvlm.scene_contact(body="Ball", object="Floor") == {"FINISHED"}
    finally:
        bpy.context.scene.interactvlm_scene.contact_distance = T
    depth = attribute(ball, "ivlm_scene_depth")
    under = world_vertices(ball)[:, 2] < -1e-6
    assert np.array_equal(depth > 0, under) and depth.max() == pytest.approx(0.01, abs=1e-5)
    report = bpy.context.scene.interactvlm_scene.last_report
    assert "penetration:" in report and f"{int(under.sum())} body" in report and "5 mm" in report
    from interactvlm_blender.naming import SCENE_CONTACT_KEY
    from interactvlm_blender.results import group_weights, read_record

    assert ball.vertex_groups["Scene Contact"] == mine
    assert np.flatnonzero(group_weights(ball, "Scene Contact")).tolist() == [0, 1, 2]
    assert "Scene Contact (InteractVLM)" in ball.vertex_groups
    assert "Scene Contact -> Scene Contact (InteractVLM)" in report
    assert read_record(ball)[SCENE_CONTACT_KEY]["contact_distance"] == pytest.approx(0.005)


def test_an_estimate_after_scene_contact_treats_its_data_as_ours(bpy, photo):
    """Scene Contact is a result, not a rig group: the estimate's request leaves it out of the vertex
    groups it sends for body parts, and shows its own heat map instead of the scene contact's."""
    from interactvlm_blender import estimate, runner

    ball, _floor = sphere_on_plane(bpy)
    add_group(ball, "spine", np.arange(len(ball.data.vertices)), 0.5)  # a rig group, weaker than the contact
    assert bpy.ops.interactvlm.scene_contact(body="Ball", object="Floor", contact_distance=T) == {"FINISHED"}
    assert ball.data.color_attributes.active_color.name == "ivlm_scene_contact_color"
    job = estimate.start_job(bpy.context, estimate.EstimateParams(image_path=str(photo), body="Ball",
                                                                  localizer=LOCALIZER, resolution=RESOLUTION))
    with np.load(job.job_dir / "body.npz") as request:
        assert request["vertex_group_names"].tolist() == ["spine"] and (request["vertex_group_index"] == 0).all()
    run = runner.Run(job, estimate.apply_steps).wait()
    assert job.state == runner.DONE and not run.error, job.message or run.error
    assert ball.data.color_attributes.active_color.name == "ivlm_contact_color"


def test_displaced_prop_is_put_back(bpy):
    body, prop, original = bumpy_scene(bpy)
    pivot = original[: len(original) // 2].mean(0)
    prop.matrix_world = matrix(rigid([5, -8, 12], [0.04, -0.03, 0.05], pivot))
    bpy.context.view_layer.update()
    assert np.abs(world_vertices(prop) - original).max() > 0.03
    assert bpy.ops.interactvlm.place_object(body="Body", object="Prop") == {"FINISHED"}
    placed = np.array(prop.matrix_world)
    assert np.abs(world_vertices(prop) - original).max() < 1e-3  # 1 mm everywhere on the prop
    assert rotation_angle_deg(placed) < 1.0  # back to the identity rotation within 1 degree
    report = bpy.context.scene.interactvlm_scene.last_report
    assert "moved 'Prop'" in report and "contact residual mean" in report and "penetration:" in report
    assert np.allclose(np.array(body.matrix_world), np.eye(4))  # the body did not move


def test_reverse_moves_the_body_root(bpy):
    body, prop, original = bumpy_scene(bpy)
    rig = bpy.data.objects.new("Rig", None)  # the body's root, as an armature would be
    bpy.context.scene.collection.objects.link(rig)
    body.parent = rig
    shift = rigid([0, 0, 6], [0.03, 0.02, 0.04], original.mean(0))
    prop.matrix_world = matrix(shift)
    bpy.context.view_layer.update()
    assert bpy.ops.interactvlm.place_object(body="Body", object="Prop", move="body") == {"FINISHED"}
    bpy.context.view_layer.update()
    assert np.allclose(np.array(prop.matrix_world), shift)  # the prop stayed where it was
    assert not np.allclose(np.array(rig.matrix_world), np.eye(4))  # the root moved, the body with it
    # The relative placement is restored: the body's patch lies under the prop again.
    rel = np.linalg.inv(np.array(body.matrix_world)) @ np.array(prop.matrix_world)
    assert np.abs(original @ rel[:3, :3].T + rel[:3, 3] - original).max() < 1e-3
    assert "moved 'Rig'" in bpy.context.scene.interactvlm_scene.last_report


def test_placement_is_one_undoable_step(bpy):
    body, prop, original = bumpy_scene(bpy)
    prop.location = (0.02, 0.0, 0.03)
    bpy.context.view_layer.update()
    body_before = world_vertices(body)
    groups_before = [g.name for g in prop.vertex_groups]
    name = prop.name  # the object's own name: an earlier test's leftovers may have taken "Prop"
    from test_blender_addon import window_override

    bpy.ops.ed.undo_push(message="scene built")  # the scene as built is an undo step of its own
    # undo=True asks Blender for the operator's undo push as the UI does (test_blender_addon does the same)
    assert bpy.ops.interactvlm.place_object("EXEC_DEFAULT", True, body=body.name, object=name) == {"FINISHED"}
    assert np.abs(world_vertices(prop) - original).max() < 1e-3
    assert np.array_equal(world_vertices(body), body_before) and [g.name for g in prop.vertex_groups] == groups_before
    if bpy.ops.ed.undo.poll():  # only with an undo stack (not in background mode)
        with window_override(bpy):  # as the other undo tests drive it (a window's undo stack)
            bpy.ops.ed.undo()
        assert np.allclose(np.array(bpy.data.objects[name].location), (0.02, 0.0, 0.03))


def test_problems_are_clear_errors_and_change_nothing(bpy):
    body, prop, _ = bumpy_scene(bpy)
    before = np.array(prop.matrix_world)
    with pytest.raises(RuntimeError, match="no vertex group or float point attribute 'Touch'.*paint a vertex group"):
        bpy.ops.interactvlm.place_object(body="Body", object="Prop", object_contact="Touch")
    prop.vertex_groups["Contact"].remove(list(range(3, len(prop.data.vertices))))
    prop.vertex_groups["Contact"].remove([0])
    with pytest.raises(RuntimeError, match="marks 2 vertices.*at least 3"):
        bpy.ops.interactvlm.place_object(body="Body", object="Prop")
    with pytest.raises(RuntimeError, match="same mesh"):
        bpy.ops.interactvlm.scene_contact(body="Body", object="Body")
    with pytest.raises(RuntimeError, match="no object 'Nope'"):
        bpy.ops.interactvlm.scene_contact(body="Body", object="Nope")
    prop.parent = body
    with pytest.raises(RuntimeError, match="parented under the body's root"):
        bpy.ops.interactvlm.place_object(body="Body", object="Prop", move="body")
    assert np.allclose(np.array(prop.matrix_world), before)
    assert "ivlm_scene_contact" not in body.data.attributes


def test_cancel_changes_nothing(bpy):
    from interactvlm_blender import runner, scene_contact

    ball, floor = sphere_on_plane(bpy)
    job = scene_contact.start_job(bpy.context, "Ball", "Floor", T)
    job.cancel()
    state = runner.wait(job)
    assert state in (runner.CANCELLED, runner.DONE)  # DONE only if it finished before the cancel arrived
    if state == runner.CANCELLED:
        assert "cancelled; nothing was changed" in job.message
        assert not runner.Run(job, scene_contact.apply_steps).wait().applied  # a cancelled job applies nothing
    assert "ivlm_scene_contact" not in ball.data.attributes and not job.job_dir.exists()


def test_one_job_at_a_time_across_estimate_and_scene_jobs(bpy, photo):
    """The worker runs one job at a time: while a scene job runs, Estimate says so instead of queueing,
    and the one Cancel button is enabled and stops it."""
    from interactvlm_blender import runner, scene_contact

    sphere_on_plane(bpy)
    assert not bpy.ops.interactvlm.cancel_job.poll()
    current = runner.start(lambda: scene_contact.start_job(bpy.context, "Ball", "Floor", T),
                           scene_contact.apply_steps)  # the slot, as the modal operator holds it while it runs
    job = current.job
    try:
        with pytest.raises(RuntimeError, match="scene contact is running; wait for it or press Cancel"):
            bpy.ops.interactvlm.estimate_contact(image=str(photo), body="Ball", localizer=LOCALIZER,
                                                 resolution=RESOLUTION)
        assert "ivlm_contact" not in bpy.data.objects["Ball"].data.attributes
        assert bpy.ops.interactvlm.cancel_job.poll()
        assert bpy.ops.interactvlm.cancel_job() == {"FINISHED"} and job.cancel_requested
    finally:
        runner.wait(job)
        current.discard()
    assert runner.active_job() is None
    assert "ivlm_scene_contact" not in bpy.data.objects["Ball"].data.attributes
