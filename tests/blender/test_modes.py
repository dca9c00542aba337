"""Every registered operator from every mode a mesh can be in (Object, Edit, Weight Paint, Vertex
Paint, Sculpt): it works, or refuses with a clear report; the job slot is free afterwards; the
user's mode is kept; what it writes survives leaving the mode (real bpy, real worker)."""
from __future__ import annotations

import numpy as np
import pytest

from blender_helpers import LOCALIZER, RESOLUTION, add_body

MODES = ("OBJECT", "EDIT", "WEIGHT_PAINT", "VERTEX_PAINT", "SCULPT")


def scene(bpy):
    body = add_body(bpy)
    bpy.ops.mesh.primitive_cube_add(size=0.3, location=(0.0, 0.0, 0.15))
    prop = bpy.context.active_object
    prop.name = "Prop"
    for obj in (body, prop):  # contact regions for placement: the lowest vertices of each
        co = np.array([obj.matrix_world @ v.co for v in obj.data.vertices])
        low = np.flatnonzero(co[:, 2] <= np.sort(co[:, 2])[7])
        obj.vertex_groups.new(name="Touch").add(low.tolist(), 1.0, "REPLACE")
    bpy.context.view_layer.objects.active = body
    for obj in bpy.data.objects:
        obj.select_set(obj is body)
    return body, prop


def arguments(photo) -> dict[str, dict]:
    """Explicit arguments per operator; an operator not listed here (added later) runs with none."""
    return {
        "estimate_contact": dict(image=str(photo), body="Body", task="human_contact", localizer=LOCALIZER,
                                 resolution=RESOLUTION),
        "apply_threshold": dict(threshold=0.3, object="Body"),
        "check_backend": {},
        "cancel_job": {},
        "scene_contact": dict(body="Body", object="Prop", contact_distance=0.05),
        "place_object": dict(body="Body", object="Prop", body_contact="Touch", object_contact="Touch"),
    }


MODE_SWITCHING = {"weight_paint_result": "WEIGHT_PAINT", "select_result": "EDIT"}


def registered_operators(addon) -> list[str]:
    import bpy

    return [cls.bl_idname.split(".", 1)[1] for cls in addon._registered
            if issubclass(cls, bpy.types.Operator) and cls.bl_idname.startswith("interactvlm.")]


def test_every_operator_from_every_mode(bpy, addon, photo):
    from interactvlm_blender import results, runner

    body, _prop = scene(bpy)
    names = registered_operators(addon)
    assert {"estimate_contact", "apply_threshold", "check_backend", "cancel_job", "scene_contact",
            "place_object"} <= set(names)
    args = arguments(photo)
    outcomes = {}
    for mode in MODES:
        for name in names:
            bpy.context.view_layer.objects.active = body
            bpy.ops.object.mode_set(mode=mode)
            try:
                outcome = getattr(bpy.ops.interactvlm, name)(**args.get(name, {}))
            except RuntimeError as error:  # a refusal: Blender's own poll message or our report
                text = str(error)
                assert "InteractVLM: " in text or "poll() failed" in text, (mode, name, text)
                assert "internal error" not in text and "Traceback" not in text, (mode, name, text)
                outcome = {"REFUSED"}
            outcomes[mode, name] = outcome
            # the user's mode is kept, except by the operators whose whole point is a mode
            expected = MODE_SWITCHING.get(name, mode) if outcome == {"FINISHED"} else mode
            assert body.mode == expected, (mode, name)
            assert runner.active_job() is None, (mode, name)  # the slot is free again
            bpy.ops.object.mode_set(mode="OBJECT")
            if name == "estimate_contact" and outcome == {"FINISHED"}:
                scores = results.stored_scores(body)  # written to the mesh, not lost with the edit-mesh
                assert scores is not None and len(scores) == len(body.data.vertices), (mode, name)
                assert results.group_weights(body, "Contact").any(), mode
    for mode in MODES:  # the jobs work from every mode; Cancel has nothing to cancel
        for name in ("estimate_contact", "apply_threshold", "check_backend", "scene_contact", "place_object"):
            assert outcomes[mode, name] == {"FINISHED"}, (mode, name, outcomes[mode, name])
        assert outcomes[mode, "cancel_job"] == {"REFUSED"}


def test_add_fitted_body_from_every_mode(bpy, fitted_blend):
    """The loop above meets only results without a fitted body (a refusal); from the default localizer's
    result it adds the body in every mode, the user's mode and active object kept."""
    from interactvlm_blender import fitted_body

    bpy.ops.wm.open_mainfile(filepath=str(fitted_blend[0]))
    body = bpy.data.objects["Body"]
    added = []
    for mode in MODES:
        bpy.context.view_layer.objects.active = body
        bpy.ops.object.mode_set(mode=mode)
        assert bpy.ops.interactvlm.add_fitted_body() == {"FINISHED"}, mode
        assert body.mode == mode and bpy.context.view_layer.objects.active == body, mode
        new = [o for o in bpy.data.objects if o.name.startswith("Body Fitted Body") and o not in added]
        assert len(new) == 1 and fitted_body.is_ours(new[0]), mode
        added += new
        bpy.ops.object.mode_set(mode="OBJECT")
    assert len({o.name for o in added}) == len(MODES)


def test_estimate_in_edit_mode_sees_the_edits(bpy, photo):
    from interactvlm_blender import results

    body = add_body(bpy)
    bpy.ops.object.mode_set(mode="EDIT")
    bpy.ops.mesh.select_all(action="SELECT")
    bpy.ops.mesh.subdivide()  # not yet in body.data until the edit-mesh is flushed
    assert bpy.ops.interactvlm.estimate_contact(image=str(photo), body="Body", task="human_contact",
                                                localizer=LOCALIZER, resolution=RESOLUTION) == {"FINISHED"}
    assert body.mode == "EDIT"
    bpy.ops.object.mode_set(mode="OBJECT")
    scores = results.stored_scores(body)
    assert len(body.data.vertices) > 482 and len(scores) == len(body.data.vertices)
    assert "ivlm_contact" in body.data.attributes and "Contact" in body.vertex_groups


def test_a_failed_write_leaves_no_half_result_and_frees_the_slot(bpy, photo, monkeypatch):
    from blender_helpers import snapshot
    from interactvlm_blender import results, runner

    add_body(bpy)
    before = snapshot(bpy)

    def broken(*_args, **_kwargs):
        raise RuntimeError("simulated failure while writing")

    # Fault injection: once modes are handled no real input makes bpy fail half-way through a write,
    # so the failure is raised right after the score attribute was written.
    monkeypatch.setattr(results, "write_heat_colors", broken)
    with pytest.raises(RuntimeError, match="internal error .RuntimeError: simulated failure"):
        bpy.ops.interactvlm.estimate_contact(image=str(photo), body="Body", task="human_contact",
                                             localizer=LOCALIZER, resolution=RESOLUTION)
    assert runner.active_job() is None and snapshot(bpy) == before
    monkeypatch.undo()
    assert bpy.ops.interactvlm.estimate_contact(image=str(photo), body="Body", task="human_contact",
                                                localizer=LOCALIZER, resolution=RESOLUTION) == {"FINISHED"}


def test_an_operator_that_forgets_a_hook_is_refused(bpy):
    from interactvlm_blender.ops_job import JobOperator

    with pytest.raises(TypeError, match="INTERACTVLM_OT_forgetful must define job_apply, job_report"):
        class INTERACTVLM_OT_forgetful(JobOperator, bpy.types.Operator):  # noqa: F841 - refused at creation
            bl_idname = "interactvlm.forgetful"
            bl_label = "Forgetful"

            def job_start(self, context):
                raise NotImplementedError
