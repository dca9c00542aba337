"""Issue 19's Blender side: batches (progress, resume, periodic saves), provenance in the record,
the Estimate Selected job, glTF export through Blender's own importer, importing a result npz."""
from __future__ import annotations

import numpy as np

from blender_helpers import LOCALIZER, RESOLUTION, add_body


def _attributes(obj) -> dict[str, np.ndarray]:
    out = {}
    for attribute in obj.data.attributes:
        if attribute.name.startswith("ivlm_"):
            width = 4 if attribute.data_type == "FLOAT_COLOR" else 1
            values = np.empty(len(obj.data.vertices) * width, np.float32)
            attribute.data.foreach_get("color" if width == 4 else "value", values)
            out[attribute.name] = values
    return out


def test_batch_progress_resume_and_saves(bpy, photo, tmp_path):
    from interactvlm_blender import api, results

    add_body(bpy, "A")
    add_body(bpy, "B", location=(2.0, 0.0, 0.0))
    items = [{"image": str(photo), "body": name, "localizer": LOCALIZER, "resolution": RESOLUTION}
             for name in ("A", "B")] + [{"image": str(tmp_path / "missing.png"), "body": "A",
                                         "localizer": LOCALIZER, "resolution": RESOLUTION}]
    seen = []
    saved = tmp_path / "batch.blend"
    rows = api.estimate_batch(items, progress=seen.append, save_every=2, save_path=str(saved))
    assert [r["status"] for r in rows] == ["done", "done", "failed"] and seen == rows
    assert "does not exist" in rows[2]["error"] and rows[0]["contact_count"] > 0
    assert rows[1]["saved"] == str(saved) and rows[2]["saved"] == str(saved) and saved.is_file()
    assert rows[0]["eta_s"] > 0 and rows[2]["eta_s"] == 0.0
    assert not bpy.data.images  # batches leave out the mask images
    entry = results.read_record(bpy.data.objects["A"])[""]
    assert entry["image"] == str(photo.resolve())
    provenance = entry["provenance"]
    assert provenance["localizer"] == LOCALIZER and provenance["backend_version"]
    assert provenance["settings"]["resolution"] == RESOLUTION and provenance["data_hashes"]["body"]
    # Resume: done items are skipped, the failed one runs again; force redoes everything.
    again = api.estimate_batch(items)
    assert [r["status"] for r in again] == ["skipped", "skipped", "failed"]
    assert [r["status"] for r in api.estimate_batch(items[:1], skip_done=False)] == ["done"]
    # A result edited away is no longer "done".
    attribute = bpy.data.objects["B"].data.attributes["ivlm_contact"]
    attribute.data.foreach_set("value", np.zeros(len(attribute.data), np.float32))
    assert [r["status"] for r in api.estimate_batch(items[1:2])] == ["done"]
    with_masks = api.estimate_batch(items[:1], skip_done=False, masks=True)
    assert with_masks[0]["status"] == "done" and len(bpy.data.images) > 0


def test_batch_save_target_is_checked_first(bpy, photo, tmp_path):
    import pytest

    from interactvlm_blender import api

    add_body(bpy, "A")
    item = {"image": str(photo), "body": "A", "localizer": LOCALIZER, "resolution": RESOLUTION}
    with pytest.raises(api.JobError, match="folder .* does not exist"):
        api.estimate_batch([item], save_every=1, save_path=str(tmp_path / "no" / "such.blend"))
    if not bpy.data.filepath:  # another test may have saved this session's file
        with pytest.raises(api.JobError, match="save_every needs a saved .blend"):
            api.estimate_batch([item], save_every=1)
    assert "ivlm_results" not in bpy.data.objects["A"]  # refused before any item ran


def test_estimate_selected_operator(bpy, photo):
    from interactvlm_blender import results

    add_body(bpy, "A")
    add_body(bpy, "B", location=(2.0, 0.0, 0.0))
    bpy.ops.mesh.primitive_cube_add()  # selected last: a third mesh
    for obj in bpy.data.objects:
        obj.select_set(obj.name in ("A", "B"))
    settings = bpy.context.scene.interactvlm
    settings.image_source, settings.image_path, settings.task = "FILE", str(photo), "human_contact"
    settings.body = settings.object = None
    assert bpy.ops.interactvlm.estimate_selected() == {"FINISHED"}
    for name in ("A", "B"):
        assert results.stored_scores(bpy.data.objects[name]) is not None
        assert "Contact" in bpy.data.objects[name].vertex_groups
    assert results.read_record(bpy.data.objects["Cube"]) == {}


def test_gltf_export_carries_the_scores(bpy, photo, tmp_path):
    from interactvlm_blender import api

    body = add_body(bpy, "Body")
    api.estimate_contact(str(photo), body="Body", localizer=LOCALIZER, resolution=RESOLUTION, masks=False)
    before = sorted(a.name for a in body.data.attributes)
    path = api.export_gltf(str(tmp_path / "body.glb"), [body])
    assert sorted(a.name for a in body.data.attributes) == before  # the temporary copy is gone
    bpy.ops.import_scene.gltf(filepath=path)
    imported = [o for o in bpy.context.selected_objects if o.type == "MESH"][0]
    attribute = imported.data.attributes["_IVLM_CONTACT"]  # glTF's exporter upper-cases custom names
    values = np.empty(len(attribute.data), np.float32)
    attribute.data.foreach_get("value", values)
    # glTF splits vertices at seams: compare per position (the sphere's poles and seam repeat a value)
    source = api.contact_scores(body)
    world = np.array([body.matrix_world @ v.co for v in body.data.vertices])
    got = np.array([imported.matrix_world @ v.co for v in imported.data.vertices])
    nearest = np.argmin(((got[:, None, :] - world[None, :, :]) ** 2).sum(-1), axis=1)
    np.testing.assert_allclose(values, source[nearest], atol=1e-6)
    assert (values >= 0.5).any()


def test_import_result_reproduces_an_estimate(bpy, photo, tmp_path):
    import shutil

    from interactvlm_blender import api, estimate, results, runner

    body = add_body(bpy, "Body")
    kept = tmp_path / "result.npz"

    def keep(job):  # the estimate's own result npz, kept before its folder is removed
        shutil.copy(job.result_path, kept)
        yield from estimate.apply_steps(job)

    params = estimate.EstimateParams(image_path=str(photo), body="Body", localizer=LOCALIZER, resolution=RESOLUTION)
    assert runner.run(lambda: estimate.start_job(bpy.context, params), keep).job.state == runner.DONE
    expected, groups = _attributes(body), results.group_weights(body, "Contact")
    twin = add_body(bpy, "Twin")
    out = api.import_result(twin, str(kept))
    assert out["group"] == "Contact" and out["contact_count"] == int((expected["ivlm_contact"] >= 0.5).sum())
    got = _attributes(twin)
    assert got.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name])
    np.testing.assert_array_equal(results.group_weights(twin, "Contact"), groups)
    assert len(out["images"]) == len(results.read_record(body)[""]["images"])
    assert results.stored_scores(twin) is not None  # ours: re-thresholding works on it
    assert api.set_threshold(twin, 0.9) == 1
    # A mesh with another vertex count is refused, nothing written.
    bpy.ops.mesh.primitive_cube_add()
    cube = bpy.context.active_object
    try:
        api.import_result(cube, str(kept))
        raise AssertionError("import onto a cube should fail")
    except api.JobError as error:
        assert "vertex scores" in str(error) and "8 vertices" in str(error)
    assert not [a for a in cube.data.attributes if a.name.startswith("ivlm")] and not cube.vertex_groups
    assert bpy.ops.interactvlm.import_result(filepath=str(kept), object="Twin") == {"FINISHED"}
