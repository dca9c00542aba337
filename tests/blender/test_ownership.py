"""Data we wrote is recognised by its mark, not its name (real bpy, real worker): renamed results
become the user's, look-alikes are never written into, and duplicated, joined or transferred data
is ours only where it still is exactly what we wrote."""
from __future__ import annotations

import numpy as np

from blender_helpers import LOCALIZER, RESOLUTION, add_body

ARGS = dict(localizer=LOCALIZER, resolution=RESOLUTION, task="human_contact")


def estimate(bpy, photo, body="Body", **extra):
    assert bpy.ops.interactvlm.estimate_contact(image=str(photo), body=body, **ARGS, **extra) == {"FINISHED"}


def attribute(obj, name):
    values = np.empty(len(obj.data.vertices), np.float32)
    obj.data.attributes[name].data.foreach_get("value", values)
    return values


def user_group(obj, name="Contact"):
    group = obj.vertex_groups.new(name=name)
    group.add([0, 1, 2], 0.25, "REPLACE")
    return group


def user_attribute(obj, name="ivlm_contact"):
    values = obj.data.attributes.new(name, "FLOAT", "POINT")
    values.data.foreach_set("value", np.full(len(obj.data.vertices), 7.0, np.float32))


def test_a_renamed_result_is_the_users_and_a_new_look_alike_is_never_written(bpy, photo):
    from interactvlm_blender import results

    body = add_body(bpy)
    estimate(bpy, photo)
    scores = results.stored_scores(body)
    kept_weights = results.group_weights(body, "Contact")
    body.vertex_groups["Contact"].name = "Kept"  # the user keeps this result...
    body.data.attributes["ivlm_contact"].name = "kept_scores"
    user_group(body)  # ...and makes their own data under our names
    user_attribute(body)
    # The threshold slider and the operator leave the user's look-alikes alone.
    assert bpy.ops.interactvlm.apply_threshold(threshold=0.1, object="Body") == {"CANCELLED"}
    bpy.context.scene.interactvlm.body = body
    bpy.context.scene.interactvlm.threshold = 0.2
    bpy.context.scene.interactvlm.body = None
    assert np.flatnonzero(results.group_weights(body, "Contact")).tolist() == [0, 1, 2]
    assert (attribute(body, "ivlm_contact") == 7.0).all() and results.stored_scores(body) is None
    # A second estimate writes beside them, and the renamed result stays as it was.
    estimate(bpy, photo)
    assert (attribute(body, "ivlm_contact") == 7.0).all()
    assert np.flatnonzero(results.group_weights(body, "Contact")).tolist() == [0, 1, 2]
    np.testing.assert_array_equal(attribute(body, "kept_scores"), scores)
    np.testing.assert_array_equal(results.group_weights(body, "Kept"), kept_weights)
    entry = results.read_record(body)[""]
    assert (entry["group"], entry["attribute"]) == ("Contact (InteractVLM)", "ivlm_contact_ivlm")
    np.testing.assert_array_equal(results.stored_scores(body), scores)


def test_our_own_data_is_still_rewritten_in_place(bpy, photo):
    from interactvlm_blender import results

    body = add_body(bpy)
    estimate(bpy, photo)
    assert bpy.ops.interactvlm.apply_threshold(threshold=0.9, object="Body") == {"FINISHED"}
    estimate(bpy, photo, threshold=0.3)  # a re-run replaces ours under the same names
    assert sorted(g.name for g in body.vertex_groups) == ["Contact"]
    scores = results.stored_scores(body)
    np.testing.assert_array_equal(results.group_weights(body, "Contact"), np.where(scores >= 0.3, scores, 0))
    # A group the user edited (painted one vertex) is theirs from then on.
    body.vertex_groups["Contact"].add([int(np.argmin(scores))], 1.0, "REPLACE")
    assert bpy.ops.interactvlm.apply_threshold(threshold=0.5, object="Body") == {"CANCELLED"}


def test_a_duplicate_keeps_its_own_copy_of_the_result(bpy, photo):
    from interactvlm_blender import results

    body = add_body(bpy)
    estimate(bpy, photo)
    original = results.group_weights(body, "Contact")
    bpy.ops.object.select_all(action="DESELECT")
    body.select_set(True)
    bpy.context.view_layer.objects.active = body
    bpy.ops.object.duplicate()  # Shift+D: the record and the data are copied with the object
    copy = bpy.context.active_object
    assert copy != body and copy.data != body.data
    estimate(bpy, photo, body=copy.name, threshold=0.2)
    assert sorted(g.name for g in copy.vertex_groups) == ["Contact"]  # the copy's data is a copy of ours
    scores = results.stored_scores(copy)
    np.testing.assert_array_equal(results.group_weights(copy, "Contact"), np.where(scores >= 0.2, scores, 0))
    np.testing.assert_array_equal(results.group_weights(body, "Contact"), original)  # the original untouched


def test_joined_or_transferred_data_is_the_users(bpy, photo):
    from interactvlm_blender import results

    body = add_body(bpy)
    estimate(bpy, photo)
    other = add_body(bpy, "Other", location=(2.0, 0.0, 0.0))
    estimate(bpy, photo, body="Other")
    # Data Transfer of our group from Body onto Other's own result: Other's Contact now holds Body's weights.
    bpy.ops.object.select_all(action="DESELECT")
    other.select_set(True)
    body.select_set(True)
    bpy.context.view_layer.objects.active = body
    assert bpy.ops.object.data_transfer(data_type="VGROUP_WEIGHTS", vert_mapping="NEAREST",
                                        layers_select_src="ALL", layers_select_dst="NAME") == {"FINISHED"}
    transferred = results.group_weights(other, "Contact")
    assert bpy.ops.interactvlm.apply_threshold(threshold=0.9, object="Other") == {"CANCELLED"}
    np.testing.assert_array_equal(results.group_weights(other, "Contact"), transferred)
    # Join Body (with its result) into a mesh of the user's: the joined data comes along as the user's.
    target = add_body(bpy, "Target", location=(-2.0, 0.0, 0.0))
    bpy.ops.object.select_all(action="DESELECT")
    body.select_set(True)
    target.select_set(True)
    bpy.context.view_layer.objects.active = target
    assert bpy.ops.object.join() == {"FINISHED"}
    joined = results.group_weights(target, "Contact")
    assert joined.any()
    estimate(bpy, photo, body="Target")
    np.testing.assert_array_equal(results.group_weights(target, "Contact"), joined)
    assert results.read_record(target)[""]["group"] == "Contact (InteractVLM)"
