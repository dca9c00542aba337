"""What an artist sees (issue 18): the heat map in the viewport and back, the result box's
operators, Remove Results, every operator in a menu."""
from __future__ import annotations

import numpy as np
import pytest

from blender_helpers import LOCALIZER, RESOLUTION, add_body, snapshot


def spaces(bpy):
    from interactvlm_blender import viewport

    found = list(viewport.view_spaces(bpy.context))
    assert found, "headless bpy has a window with a 3D viewport"
    return [space for _key, space in found]


def estimate(bpy, photo, **args):
    args = {"task": "human_contact", "label": "", **args}  # not the panel's settings an earlier test left
    assert bpy.ops.interactvlm.estimate_contact("EXEC_DEFAULT", True, image=str(photo), localizer=LOCALIZER,
                                                resolution=RESOLUTION, **args) == {"FINISHED"}


def test_estimate_shows_heat_map_and_toggle_restores_user_shading(bpy, photo):
    body = add_body(bpy)
    settings = bpy.context.scene.interactvlm
    settings.show_heat_map = False
    for space in spaces(bpy):  # the user's own shading
        space.shading.type, space.shading.light, space.shading.color_type = "SOLID", "MATCAP", "OBJECT"
    estimate(bpy, photo, body="Body")
    assert settings.show_heat_map
    for space in spaces(bpy):
        assert (space.shading.type, space.shading.color_type) == ("SOLID", "VERTEX")  # "Attribute" in the UI
    assert body.data.color_attributes.active_color_name == "ivlm_contact_color"
    settings.show_heat_map = False
    for space in spaces(bpy):
        assert (space.shading.type, space.shading.light, space.shading.color_type) == ("SOLID", "MATCAP", "OBJECT")

    settings.heat_map_display = "MATERIAL"  # remembered in the file's scene settings
    settings.show_heat_map = True
    material = body.data.materials[0]
    node = next(n for n in material.node_tree.nodes if n.type == "VERTEX_COLOR")
    assert node.layer_name == "ivlm_contact_color"
    assert all(space.shading.type == "MATERIAL" for space in spaces(bpy))
    settings.show_heat_map = False
    assert len(body.data.materials) == 0 and all(s.shading.type == "SOLID" for s in spaces(bpy))
    settings.heat_map_display = "SHADING"


def test_result_box_operators_select_and_weight_paint(bpy, photo):
    from interactvlm_blender import results

    body = add_body(bpy)
    estimate(bpy, photo, body="Body")
    entry = results.read_record(body)[""]
    scores = results.stored_scores(body)
    assert entry["marks"]["group"]["count"] == int((scores >= 0.5).sum()) > 0
    assert isinstance(entry["parts"], list)
    assert bpy.ops.interactvlm.select_result(object="Body") == {"FINISHED"}
    assert body.mode == "EDIT"
    bpy.ops.object.mode_set(mode="OBJECT")
    selected = np.zeros(len(body.data.vertices), bool)
    body.data.vertices.foreach_get("select", selected)
    np.testing.assert_array_equal(selected, scores >= 0.5)
    assert bpy.ops.interactvlm.weight_paint_result(object="Body") == {"FINISHED"}
    assert body.mode == "WEIGHT_PAINT" and body.vertex_groups.active.name == "Contact"
    bpy.ops.object.mode_set(mode="OBJECT")


def test_remove_results_keeps_the_users_data(bpy, photo):
    from interactvlm_blender import results

    body = add_body(bpy)
    user = body.vertex_groups.new(name="Contact")  # the user's own group with our name
    user.add([0, 1, 2], 0.25, "REPLACE")
    body.vertex_groups.new(name="spine")
    body.data.attributes.new("paint", "FLOAT_COLOR", "POINT")
    bpy.ops.ed.undo_push(message="before")
    before = snapshot(bpy)
    estimate(bpy, photo, body="Body")
    estimate(bpy, photo, body="Body", task="semantic_contact", label="chair")
    assert "Contact (InteractVLM)" in body.vertex_groups and "Contact chair" in body.vertex_groups
    body.select_set(True)
    assert bpy.ops.interactvlm.remove_results("EXEC_DEFAULT", True) == {"FINISHED"}
    assert snapshot(bpy) == before
    np.testing.assert_array_equal(np.flatnonzero(results.group_weights(body, "Contact")), [0, 1, 2])
    assert not bpy.context.scene.interactvlm.show_heat_map
    # One undo step brings every result back.
    from test_blender_addon import window_override

    with window_override(bpy):
        assert bpy.ops.ed.undo() == {"FINISHED"}
    body = bpy.data.objects["Body"]
    assert "Contact chair" in body.vertex_groups and results.stored_scores(body) is not None


def test_every_operator_is_in_a_menu(bpy):
    from interactvlm_blender import ops_results

    registered = {f"interactvlm.{name}" for name in dir(bpy.ops.interactvlm)}
    assert registered == set(ops_results.MENU_OPERATORS)
    assert ops_results.draw_object_menu in bpy.types.VIEW3D_MT_object._dyn_ui_initialize()
    assert ops_results.draw_vertex_group_menu in bpy.types.MESH_MT_vertex_group_context_menu._dyn_ui_initialize()


def test_localizer_choice_and_label_suggestions_come_from_the_cached_hello(bpy):
    from interactvlm_blender import managed, messages, props
    from test_blender_addon import LOCALIZER as TESTING

    from backend.labels import VOCABULARY

    settings = bpy.context.scene.interactvlm
    saved = dict(managed.LAST_HELLO)
    managed.LAST_HELLO.clear()  # no cached hello: the backend's default only (plus the current name)
    settings.localizer = ""
    assert [item[0] for item in props.localizer_items(settings, bpy.context)] == [props.DEFAULT_CHOICE]
    assert props.label_suggestions(settings, bpy.context, "bi") == []
    assert bpy.ops.interactvlm.check_backend() == {"FINISHED"}  # the real worker's hello, cached
    items = {item[0]: item for item in props.localizer_items(settings, bpy.context)}
    listed = {row["name"]: row for row in managed.LAST_HELLO["localizers"]}
    assert set(items) == {props.DEFAULT_CHOICE} | set(listed)
    for name, row in listed.items():
        if not row["available"]:
            tooltip = items[name][2]  # says why, without command-line flags
            assert messages.artist_text(row["reason"]) in tooltip and "--" not in tooltip
    settings.localizer_choice = TESTING
    assert settings.localizer == TESTING and settings.localizer_choice == TESTING
    settings.localizer_choice = props.DEFAULT_CHOICE
    assert settings.localizer == ""
    assert props.label_suggestions(settings, bpy.context, "") == list(VOCABULARY)
    assert props.label_suggestions(settings, bpy.context, "bicycle, tennis r") == ["bicycle, tennis_racket"]
    settings.label = "my own thing"  # free text still accepted
    assert settings.label == "my own thing"
    settings.label, settings.localizer = "", TESTING
    managed.LAST_HELLO.clear()
    managed.LAST_HELLO.update(saved)


def test_progress_moves_within_the_render_stage_and_while_writing(bpy, photo):
    from interactvlm_blender import estimate, ops_job, runner

    add_body(bpy)
    params = estimate.EstimateParams(image_path=str(photo), body="Body", localizer=LOCALIZER, resolution=RESOLUTION)
    job = estimate.start_job(bpy.context, params)
    run = runner.Run(job, estimate.apply_steps)
    written, texts = [], set()
    while not run.step():
        texts.add(ops_job.progress_text(job))
        if run.writing:
            written.append(job.fraction)
    assert job.state == runner.DONE and not run.error, job.message or run.error
    views = len(job.report.images)
    render = [fraction for stage, fraction in job.history if stage == "render"]
    assert len(set(render)) >= views >= 4, job.history
    assert render == sorted(render)
    assert [f for _s, f in job.history] == sorted(f for _s, f in job.history)  # over the whole job
    assert written == sorted(written) and written[-1] == 1.0 and len(set(written)) == views + 1
    # The status text carries the backend's in-stage message (a poll may take several events at once, so
    # which message was showing at a given tick is timing; the text rule itself is checked here).
    assert any("%" in text for text in texts)
    job.state, job.stage, job.fraction, job.message = runner.RUNNING, "render", 0.4, "view 2 of 4"
    assert "view 2 of 4" in ops_job.progress_text(job) and "40%" in ops_job.progress_text(job)


def test_blender_conventions_labels_tooltips_and_reports(bpy):
    from interactvlm_blender import messages, ops_results

    small = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with",
             "glTF"}  # a format's own spelling, as Blender's File > Export menu writes it
    for name in ops_results.MENU_OPERATORS:
        rna = getattr(bpy.ops.interactvlm, name.split(".")[1]).get_rna_type()
        words = rna.name.split()
        assert all(w[0].isupper() or w in small for w in words[1:]) and words[0][0].isupper(), rna.name
        assert "\n" not in rna.description and "  " not in rna.description, (name, rna.description)
        for prop in rna.properties:
            if prop.identifier != "rna_type":
                assert all(w[0].isupper() or w in small for w in prop.name.split()), (name, prop.name)
    settings = bpy.context.scene.interactvlm.bl_rna
    for prop in settings.properties:
        if prop.identifier != "rna_type" and prop.name:
            assert all(w[0].isupper() or w in small for w in prop.name.split()), prop.name
    long = ("InteractVLM: 94 of 482 vertices of 'Body' in group 'Contact' (threshold 0.50, localizer testing-lowest "
            "on cpu); parts: left_shin, right_shin; note: the checkpoint (or --checkpoint-dir on the command line)")
    details, short = messages.reports(long)
    assert "--" not in details and len(short) <= messages.STATUS_LIMIT and short.startswith("InteractVLM: 94 of 482")
    assert messages.reports("InteractVLM: done") == ["InteractVLM: done"]


def test_preferences_link_to_the_documentation(bpy):
    import tomllib
    from pathlib import Path

    from interactvlm_blender import prefs

    manifest = Path(prefs.__file__).resolve().parents[1] / "blender_manifest.toml"
    assert prefs.docs_url() == tomllib.loads(manifest.read_text())["website"]
    assert prefs.docs_url().startswith("https://")


def test_result_thumbnails_are_the_mask_images(bpy, photo):
    from interactvlm_blender import results, thumbnails

    body = add_body(bpy)
    estimate(bpy, photo, body="Body")
    masks = thumbnails.mask_images(body)
    assert len(masks) == len(results.read_record(body)[""]["images"]) >= 4
    assert thumbnails.detection_image(body) is None and thumbnails.result_images(body) == masks  # none reported
    sheet = thumbnails.strip([thumbnails.photo_image(str(photo)), *masks], size=64)
    assert sheet.shape == (64, 64 * (1 + len(masks)), 4)
    for index, image in enumerate(masks, start=1):
        pixels = np.empty(image.size[0] * image.size[1] * 4, np.float32)
        image.pixels.foreach_get(pixels)
        cell = sheet[:, 64 * index:64 * (index + 1), 0]
        assert cell.max() == pytest.approx(pixels[0::4].max())  # the mask's own pixels, not a re-render
    for image in masks:  # the panel's icons are previews of the same images (icon ids need a GPU context)
        thumbnails.icon_id(image)
        assert image.preview is not None


def test_panel_result_box_draws_results_with_counts_and_operators(bpy, photo):
    from interactvlm_blender import panel, results
    from test_blender_addon import RecordingLayout

    body = add_body(bpy)
    estimate(bpy, photo, body="Body")
    calls = []
    panel.VIEW3D_PT_interactvlm.draw(type("P", (), {"layout": RecordingLayout(bpy, calls)})(), bpy.context)
    count = results.read_record(body)[""]["marks"]["group"]["count"]
    assert ("label", f"Contact: {count} vertices (threshold 0.50)") in calls
    assert {("prop", "show_heat_map"), ("prop", "heat_map_display"), ("prop", "localizer_choice"),
            ("operator", "interactvlm.select_result"), ("operator", "interactvlm.weight_paint_result"),
            ("operator", "interactvlm.remove_results")} <= set(calls)
    assert sum(1 for c in calls if c[0] == "icon") >= len(results.read_record(body)[""]["images"])


def test_default_localizer_result_shows_the_photo_with_its_detections(bpy):
    """The first thumbnail: the photo with the person box, skeleton and hands the default localizer
    reported, drawn into our own image, recorded, and gone with Remove Results (the user's image of
    the same name stays)."""
    from pathlib import Path

    from PIL import Image

    from interactvlm_blender import api, naming, panel, results, thumbnails
    from test_blender_addon import RecordingLayout

    photo = Path(__file__).resolve().parents[1] / "data" / "anny_sit.jpg"
    body = add_body(bpy)
    title, tag = naming.image_names(body.name, "", naming.DETECTIONS_IMAGE)
    users = bpy.data.images.new(title, 4, 4)  # the user's own image with our image's name
    before = snapshot(bpy)
    out = api.estimate_contact(image=str(photo), body=body.name, localizer="default", resolution=RESOLUTION)
    found = out["summary"]["localizer_report"]["detections"]
    image = bpy.data.images[results.read_record(body)[""]["detection_image"]]
    assert image != users and image.get(results.IMAGE_OWNER_KEY) == tag and image.name.startswith(title)
    assert thumbnails.result_images(body) == [image, *thumbnails.mask_images(body)]
    assert len(thumbnails.mask_images(body)) >= 4

    # Drawn into the photo's own pixels (320 px: not scaled), top row first after the flip.
    width, height = image.size
    drawn = np.empty(width * height * 4, np.float32)
    image.pixels.foreach_get(drawn)
    drawn = drawn.reshape(height, width, 4)[::-1, :, :3]
    source = np.asarray(Image.open(photo).convert("RGB"), np.float32) / 255.0
    assert drawn.shape == source.shape
    x0, y0, x1, y1 = found["person"]["box"]
    top, middle = int(y0 * height), int((x0 + x1) / 2 * width)
    colour = np.array(thumbnails.PERSON_COLOUR)
    assert np.abs(drawn[top, middle] - colour).max() <= 1 / 255  # the box's top edge
    assert np.abs(source[top, middle] - colour).max() > 0.1  # ...where the photo is not that colour
    edge = np.abs(drawn[top, int(x0 * width):int(x1 * width)] - colour).max(axis=1) <= 1 / 255
    assert edge.mean() > 0.9  # the whole edge (a bone or a dot may cross it)
    assert np.abs(drawn[:top - 3] - source[:top - 3]).max() <= 1 / 255  # above the box: the photo itself
    wrist = np.array(found["keypoints"]["left_wrist"]) * (width, height)
    assert np.abs(drawn[int(wrist[1]), int(wrist[0])] - 1.0).max() <= 1 / 255  # a keypoint's white dot

    # The panel draws it with the masks (headless bpy gives every icon id 0: the preview it made shows it).
    bpy.context.scene.interactvlm.image_source, bpy.context.scene.interactvlm.image_path = "FILE", ""
    assert image.preview is None
    calls = []
    panel.VIEW3D_PT_interactvlm.draw(type("P", (), {"layout": RecordingLayout(bpy, calls)})(), bpy.context)
    assert sum(1 for kind, _ in calls if kind == "icon") == len(thumbnails.result_images(body))
    assert image.preview is not None

    # A later result without detections takes the old picture away (it would show another photo's).
    api.estimate_contact(image=str(photo), body=body.name, localizer=LOCALIZER, resolution=RESOLUTION)
    assert thumbnails.detection_image(body) is None and "detection_image" not in results.read_record(body)[""]
    assert tag not in [i.get(results.IMAGE_OWNER_KEY) for i in bpy.data.images] and users.name in bpy.data.images

    api.estimate_contact(image=str(photo), body=body.name, localizer="default", resolution=RESOLUTION)
    assert thumbnails.detection_image(body) is not None
    body.select_set(True)
    assert bpy.ops.interactvlm.remove_results("EXEC_DEFAULT", True) == {"FINISHED"}
    assert tag not in [i.get(results.IMAGE_OWNER_KEY) for i in bpy.data.images]
    assert snapshot(bpy) == before and users.name in bpy.data.images
