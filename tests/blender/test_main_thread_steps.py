"""The estimate's main-thread work split into steps (issue 14, item 12): a 1M-vertex body is read
(mesh, triangles, vertex groups) and its result written over many timer ticks. How long each step
takes is measured by bench/blender_main_thread.py, not asserted here; these tests pin what the split
must not change: the stepped read gives exactly the arrays of the one-go read and of Blender's own
triangulation, and a cancel while reading or writing frees the job slot and leaves the mesh as it was."""
from __future__ import annotations

import time

import numpy as np
import pytest

from blender_helpers import LOCALIZER, RESOLUTION, add_ellipsoid, snapshot


def _blender_triangles(mesh) -> np.ndarray:
    tris = np.empty(len(mesh.loop_triangles) * 3, np.int32)
    mesh.loop_triangles.foreach_get("vertices", tris)
    return tris.reshape(-1, 3)


def _reference_groups(obj, skip: set[str]) -> tuple[list[str], np.ndarray]:
    """The strongest kept group per vertex, straight from bpy (the add-on's one-go loop, written out)."""
    keep = [g.index for g in obj.vertex_groups if g.name not in skip]
    position = {gi: i for i, gi in enumerate(keep)}
    index = np.full(len(obj.data.vertices), -1, np.int32)
    for vertex in obj.data.vertices:
        best = max(((e.weight, e.group) for e in vertex.groups if e.group in position and e.weight > 0),
                   default=None, key=lambda item: item[0])
        index[vertex.index] = -1 if best is None else position[best[1]]
    return [obj.vertex_groups[i].name for i in keep], index


def _stepped(generator) -> tuple[object, int]:
    count = 0
    while True:
        try:
            next(generator)
            count += 1
        except StopIteration as end:
            return end.value, count


def test_stepped_read_equals_the_one_go_read_and_blenders_own_triangles(bpy, monkeypatch):
    from interactvlm_blender import mesh_io

    body = add_ellipsoid(bpy, 30, 40, groups=9)  # quads with triangle fans at the poles
    rng = np.random.default_rng(3)
    co = np.empty(len(body.data.vertices) * 3, np.float32)
    body.data.vertices.foreach_get("co", co)
    body.data.vertices.foreach_set("co", co + rng.normal(0, 0.02, co.shape).astype(np.float32))  # non-planar quads
    body.data.update()
    body.vertex_groups["bone04"].add(list(range(0, 1200, 7)), 0.9, "REPLACE")  # a third group on some vertices
    body.rotation_euler = (0.3, 0.0, 1.0)
    bpy.context.view_layer.update()
    skip = {"bone02"}
    depsgraph = bpy.context.evaluated_depsgraph_get()
    one_go = mesh_io.read_mesh(body, depsgraph, "WORLD", with_groups=True, skip_groups=skip)

    monkeypatch.setattr(mesh_io, "STEP_S", 1e-12)  # a step per block of vertices
    monkeypatch.setattr(mesh_io, "GROUP_BLOCK", 64)
    stepped, steps = _stepped(mesh_io.read_steps(body, depsgraph, "WORLD", with_groups=True, skip_groups=skip))
    assert steps > len(body.data.vertices) // 64
    for name in ("vertices", "faces", "group_index"):
        np.testing.assert_array_equal(getattr(stepped, name), getattr(one_go, name))
    assert stepped.group_names == one_go.group_names and stepped.note == one_go.note

    names, index = _reference_groups(body, skip)
    assert one_go.group_names == names and "bone02" not in names
    np.testing.assert_array_equal(one_go.group_index, index)
    assert (index == names.index("bone04")).sum() > 100  # the third group wins where it is strongest
    np.testing.assert_array_equal(one_go.faces, _blender_triangles(body.data))
    matrix = np.array(body.matrix_world)
    local = np.empty(len(body.data.vertices) * 3, np.float32)
    body.data.vertices.foreach_get("co", local)
    np.testing.assert_allclose(one_go.vertices, local.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3], atol=1e-6)


@pytest.mark.parametrize("shape", ["triangles", "quads", "ngons", "concave quads"])
def test_triangles_are_blenders_for_every_kind_of_face(bpy, shape):
    from interactvlm_blender import mesh_io

    if shape == "triangles":
        bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=3)
    elif shape == "quads":
        bpy.ops.mesh.primitive_cube_add()
    elif shape == "ngons":
        bpy.ops.mesh.primitive_cylinder_add(vertices=12, end_fill_type="NGON")
    else:
        mesh = bpy.data.meshes.new("darts")
        rng = np.random.default_rng(5)
        co = rng.normal(size=(400 * 4, 3)).astype(np.float32)
        mesh.from_pydata(co.tolist(), [], np.arange(len(co)).reshape(-1, 4).tolist())
        obj = bpy.data.objects.new("darts", mesh)
        bpy.context.scene.collection.objects.link(obj)
        bpy.context.view_layer.objects.active = obj
    obj = bpy.context.active_object
    arrays = mesh_io.read_mesh(obj, bpy.context.evaluated_depsgraph_get(), "REST")
    np.testing.assert_array_equal(arrays.faces, _blender_triangles(obj.data))


def _params(photo, **overrides):
    from interactvlm_blender import estimate

    return estimate.EstimateParams(**{"image_path": str(photo), "body": "Body", "localizer": LOCALIZER,
                                      "resolution": RESOLUTION, **overrides})


def _job_dirs() -> set:
    from interactvlm_blender import client

    return set(client.private_dir().glob("estimate-*"))


def test_a_cancel_while_the_mesh_is_read_frees_the_slot_and_changes_nothing(bpy, photo, monkeypatch):
    from interactvlm_blender import estimate, mesh_io, runner

    add_ellipsoid(bpy, 20, 24, groups=6)
    before, folders = snapshot(bpy), _job_dirs()
    monkeypatch.setattr(mesh_io, "STEP_S", 1e-12)
    monkeypatch.setattr(mesh_io, "GROUP_BLOCK", 32)
    current = runner.start(lambda: estimate.start_steps(bpy.context, _params(photo)), estimate.apply_steps,
                           what="estimate")
    assert current.preparing and runner.active_job() is current.job
    with pytest.raises(runner.JobError, match="estimate is running"):
        runner.start(lambda: estimate.start_steps(bpy.context, _params(photo)), estimate.apply_steps)
    for _ in range(5):
        assert not current.step() and current.preparing
    assert current.job.stage == "reading" and 0 < current.job.fraction < 1
    assert len(_job_dirs() - folders) == 1  # the request folder exists while the body is read
    assert runner.cancel_active()
    assert current.step() and current.ended and not current.applied
    assert current.job.state == runner.CANCELLED and "cancelled; nothing was changed" in current.job.message
    assert runner.active_job() is None and _job_dirs() == folders and snapshot(bpy) == before
    # The slot is free: the next estimate runs to its end, stepped as the timer steps it.
    done = runner.start(lambda: estimate.start_steps(bpy.context, _params(photo)), estimate.apply_steps).wait()
    assert done.job.state == runner.DONE and not done.error and done.job.report.group == "Contact"


def test_a_mesh_changed_while_it_is_read_fails_clearly(bpy, photo, monkeypatch):
    from interactvlm_blender import estimate, mesh_io, runner

    body = add_ellipsoid(bpy, 20, 24, groups=6)
    folders = _job_dirs()
    monkeypatch.setattr(mesh_io, "STEP_S", 1e-12)
    monkeypatch.setattr(mesh_io, "GROUP_BLOCK", 32)
    current = runner.start(lambda: estimate.start_steps(bpy.context, _params(photo)), estimate.apply_steps)
    current.step()
    bpy.data.objects.remove(body)
    assert current.wait().ended and not current.applied and current.job.state == runner.FAILED
    assert "'Body' was removed or its mesh changed while it was read" in current.job.message
    assert runner.active_job() is None and _job_dirs() == folders


def _result_state(body):
    from interactvlm_blender import results

    mesh = body.data
    color = np.empty(len(mesh.vertices) * 4, np.float32)
    mesh.attributes["ivlm_contact_color"].data.foreach_get("color", color)
    return (results.stored_scores(body).copy(), results.group_weights(body, "Contact"), color,
            mesh.color_attributes.active_color_name, body.get(results.RECORD_KEY))


def test_a_cancel_while_the_result_is_written_leaves_the_mesh_as_it_was(bpy, photo, monkeypatch):
    from interactvlm_blender import estimate, results, runner

    body = add_ellipsoid(bpy, 20, 24, groups=6)
    first = runner.run(lambda: estimate.start_job(bpy.context, _params(photo)), estimate.apply_steps)
    assert first.job.state == runner.DONE and not first.error
    before, kept = snapshot(bpy), _result_state(body)

    monkeypatch.setattr(results, "WRITE_STEP_S", 1e-12)  # a step per piece: attribute, colours, each weight
    current = runner.start(lambda: estimate.start_steps(bpy.context, _params(photo, threshold=0.2)),
                           estimate.apply_steps)
    while not current.writing:
        assert not current.step()
        time.sleep(0.01)
    # The proofs of our earlier data, the attribute, the colours, then the first weights of the group.
    for _ in range(30):
        assert not current.step() and current.revocable
        if any(g.name.startswith("ivlm_writing_") for g in body.vertex_groups):
            break
    assert any(g.name.startswith("ivlm_writing_") for g in body.vertex_groups)
    assert any(a.name.startswith("ivlm_writing_") for a in body.data.attributes)  # written, not yet swapped in
    assert not current.step() and current.revocable  # a second weight written
    assert runner.cancel_active()
    assert current.ended and current.withdrawn and current.job.state == runner.CANCELLED
    assert "cancelled; nothing was changed" in current.job.message and runner.active_job() is None
    assert snapshot(bpy) == before
    for was, now in zip(kept, _result_state(body)):
        np.testing.assert_array_equal(now, was)

    # Uncancelled, the same stepped writing gives the result a one-go write gives.
    done = runner.start(lambda: estimate.start_steps(bpy.context, _params(photo, threshold=0.2)),
                        estimate.apply_steps).wait()
    assert done.job.state == runner.DONE and done.steps > 10 and snapshot(bpy) == before
    scores = results.stored_scores(body)
    np.testing.assert_array_equal(results.group_weights(body, "Contact"), np.where(scores >= 0.2, scores, 0))
    assert done.job.report.contact_count == int((scores >= 0.2).sum())


def test_the_request_npz_written_in_steps_is_what_np_savez_writes(tmp_path, monkeypatch):
    from interactvlm_blender import protocol

    rng = np.random.default_rng(2)
    vertices, faces = rng.random((5000, 3)).astype(np.float32), rng.integers(0, 5000, (9000, 3)).astype(np.int32)
    names, index = ["pelvis", "spine01"], (np.arange(5000) % 3 - 1).astype(np.int32)
    monkeypatch.setattr(protocol, "NPZ_CHUNK_BYTES", 4096)  # many steps per array
    steps = protocol.mesh_npz_steps(tmp_path / "body.npz", vertices, faces, group_names=names, group_index=index)
    path, count = _stepped(steps)
    assert count > 20
    np.savez(tmp_path / "reference.npz", vertices=vertices, faces=faces, vertex_group_names=np.array(names),
             vertex_group_index=index)
    with np.load(path) as written, np.load(tmp_path / "reference.npz") as reference:
        assert written.files == reference.files
        for key in reference.files:
            assert written[key].dtype == reference[key].dtype
            np.testing.assert_array_equal(written[key], reference[key])
    closed = protocol.mesh_npz_steps(tmp_path / "partial.npz", vertices, faces)
    for _ in range(3):
        next(closed)
    closed.close()  # a cancel while the request is written
    assert not (tmp_path / "partial.npz").exists()


def test_scene_contact_and_placement_run_in_steps_and_a_cancel_while_reading_changes_nothing(bpy, monkeypatch):
    """The pair jobs are stepped like the estimate (mesh_io.read_steps, group_weight_steps,
    results.write_steps): stepped they give the one-go result; cancelled while the contact group is
    read, nothing changed and the slot is free."""
    from interactvlm_blender import mesh_io, naming, placement, results, runner, scene_contact

    body = add_ellipsoid(bpy, 20, 24)
    prop = add_ellipsoid(bpy, 12, 12, name="Prop")
    prop.location = (0.45, 0.0, 0.0)  # pressed 5 cm into the body's side
    bpy.context.view_layer.update()
    one_go = runner.run(lambda: scene_contact.start_job(bpy.context, "Body", "Prop", 0.02), scene_contact.apply_steps)
    assert one_go.job.state == runner.DONE and not one_go.error
    expected = results.stored_scores(body, naming.SCENE_CONTACT_KEY).copy()
    assert 3 <= np.count_nonzero(expected) < len(expected)
    monkeypatch.setattr(mesh_io, "STEP_S", 1e-12)
    monkeypatch.setattr(mesh_io, "GROUP_BLOCK", 32)
    monkeypatch.setattr(results, "WRITE_STEP_S", 1e-12)
    stepped = runner.start(lambda: scene_contact.start_steps(bpy.context, "Body", "Prop", 0.02),
                           scene_contact.apply_steps, what="scene contact")
    ticks = 0
    while not stepped.step():
        ticks += stepped.preparing or stepped.writing
    assert stepped.job.state == runner.DONE and not stepped.error and ticks > 10
    np.testing.assert_array_equal(results.stored_scores(body, naming.SCENE_CONTACT_KEY), expected)

    group = naming.SCENE_CONTACT_NAMES["group"]
    before, matrix = snapshot(bpy), [tuple(row) for row in prop.matrix_world]
    current = runner.start(lambda: placement.start_steps(bpy.context, "Body", "Prop", group, group),
                           placement.apply_steps, what="placement")
    for _ in range(4):
        assert not current.step() and current.preparing  # the body's group, 32 vertices a step
    assert runner.cancel_active() and current.step() and not current.applied
    assert current.job.state == runner.CANCELLED and runner.active_job() is None
    assert snapshot(bpy) == before and [tuple(row) for row in prop.matrix_world] == matrix
    with pytest.raises(runner.JobError, match="no vertex group or float point attribute 'nothing'"):
        runner.start(lambda: placement.start_steps(bpy.context, "Body", "Prop", group, "nothing"),
                     placement.apply_steps)  # a missing source is refused at once, before any step
    assert runner.active_job() is None
