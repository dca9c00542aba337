"""The add-on's pure naming and colour helpers (no bpy): result keys, the names a result wants,
how a user's name is avoided, the heat-map colours."""
from __future__ import annotations

import numpy as np

from interactvlm_blender import naming
from interactvlm_blender.heat_map import HEAT_RGB, HEAT_STOPS, heat_colors


def test_result_keys_and_wanted_names():
    assert naming.result_key("human_contact", "chair") == ""  # plain contact ignores a label
    assert naming.result_key("semantic_contact", "  Chair seat ") == "Chair seat"
    assert naming.result_key("object_contact", "") == ""
    assert naming.estimate_names("") == {"attribute": "ivlm_contact", "group": "Contact", "color": naming.COLOR_NAME}
    assert naming.estimate_names("Chair seat") == {
        "attribute": "ivlm_contact_chair_seat",
        "group": "Contact Chair seat",
        "color": naming.COLOR_NAME,
    }
    assert naming.estimate_names("!!")["attribute"] == "ivlm_contact_label"  # nothing usable in the label
    assert naming.SCENE_CONTACT_KEY not in {naming.result_key("semantic_contact", x) for x in ("scene contact", "#")}


def test_a_users_name_is_never_taken():
    assert naming.free_name("Contact", {"Contact"}, set(), naming.SUFFIX) == "Contact (InteractVLM)"
    assert naming.free_name("Contact", {"Contact"}, {"Contact"}, naming.SUFFIX) == "Contact"  # ours: reused
    taken = {"Contact", "Contact (InteractVLM)", "Contact (InteractVLM).002"}
    assert naming.free_name("Contact", taken, set(), naming.SUFFIX) == "Contact (InteractVLM).003"
    used, renamed = naming.claim({"attribute": "ivlm_contact", "group": "Contact", "color": naming.COLOR_NAME},
                                 groups={"Contact"}, attributes={naming.COLOR_NAME},
                                 owned={"group": set(), "color": set()})
    assert used == {"attribute": "ivlm_contact", "group": "Contact (InteractVLM)", "color": "ivlm_contact_color_ivlm"}
    assert renamed == ["Contact -> Contact (InteractVLM)", "ivlm_contact_color -> ivlm_contact_color_ivlm"]


def test_heat_colors_follow_the_stops():
    colors = heat_colors(np.concatenate([HEAT_STOPS, [-1.0, 2.0, 0.125]]))
    assert colors.dtype == np.float32 and colors.shape == (8, 4) and (colors[:, 3] == 1).all()
    np.testing.assert_array_equal(colors[:5, :3], HEAT_RGB)
    np.testing.assert_array_equal(colors[5:7, :3], HEAT_RGB[[0, -1]])  # clipped to [0, 1]
    np.testing.assert_allclose(colors[7, :3], [0.0, 0.5, 1.0])  # halfway from blue to cyan


def test_an_added_object_replaces_no_name():
    wanted = naming.fitted_body_name("Body", "")
    assert wanted == "Body Fitted Body" and naming.fitted_body_name("Body", "chair") == "Body Fitted Body chair"
    assert naming.new_object_name(wanted, {"Cube"}, set()) == wanted
    assert naming.new_object_name(wanted, set(), {wanted}) == wanted + ".001"  # a second add: Blender's numbering
    assert naming.new_object_name(wanted, {wanted}, set()) == wanted + naming.SUFFIX  # the user's name
    assert naming.new_object_name(wanted, {wanted}, {wanted + naming.SUFFIX}) == wanted + naming.SUFFIX + ".001"
