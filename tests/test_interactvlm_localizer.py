"""The `interactvlm` localizer end to end on a tiny random model: prompts, masks per view, determinism."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backend.cameras import body_rig, object_rig
from backend.lift import lift
from backend.localizers.base import Localizer, Query
from backend.localizers.interactvlm import InteractVLMLocalizer
from backend.localizers.interactvlm.inputs import IMAGE_TOKEN_INDEX, conversation, question, tokenize_with_image
from backend.render import render
from tests.interactvlm_tiny import write_tiny_checkpoint

SIZE = 96


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("ivlm") / "tiny", seed=1)


@pytest.fixture(scope="module")
def loaded(tiny) -> InteractVLMLocalizer:
    localizer = InteractVLMLocalizer(tiny)
    localizer.load("cpu")
    return localizer


@pytest.fixture(scope="module")
def views(ellipsoid):
    vertices, faces = ellipsoid
    return render(vertices, faces, body_rig(vertices, SIZE))


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return (np.random.default_rng(3).random((120, 90, 3)) * 255).astype(np.uint8)


def test_is_a_localizer_and_loads_once(loaded):
    assert isinstance(loaded, Localizer) and loaded.name == "interactvlm"
    net = loaded.net
    loaded.load("cpu")
    assert loaded.net is net and loaded.device == "cpu"


def test_masks_per_view_lift_onto_the_mesh(loaded, views, photo, ellipsoid):
    out = loaded.localize(photo, views, Query("semantic_contact", label="bicycle"))
    assert out.masks.shape == (4, SIZE, SIZE) and out.masks.dtype == np.float32
    assert 0.0 <= out.masks.min() and out.masks.max() <= 1.0
    assert np.ptp(out.masks) > 0  # the decoder's output varies over the image, it is not a constant
    assert out.report["seg_token_found"] and out.report["answer"] == "[SEG]"
    assert "bicycle" in out.report["prompt"] and out.report["view_type"] == "4MV-Z_Vitru_mv2"
    scores, seen = lift(views, out.masks)
    assert scores.shape == (len(ellipsoid[0]),) and seen.max() >= 1


def test_outputs_are_deterministic_across_loads(tiny, loaded, views, photo):
    query = Query("human_contact")
    first = loaded.localize(photo, views, query).masks
    again = InteractVLMLocalizer(tiny)
    again.load("cpu")
    np.testing.assert_array_equal(first, again.localize(photo, views, query).masks)


def test_prompt_and_views_change_the_masks(loaded, views, photo, ellipsoid):
    a = loaded.localize(photo, views, Query("semantic_contact", label="bicycle")).masks
    b = loaded.localize(photo, views, Query("semantic_contact", label="chair")).masks
    assert not np.array_equal(a, b)
    vertices, faces = ellipsoid
    objects = render(vertices, faces, object_rig(vertices, SIZE))
    c = loaded.localize(photo, objects, Query("object_contact", label="chair"))
    assert c.masks.shape == (4, SIZE, SIZE) and "affordance" in c.report["prompt"]


def test_no_seg_token_means_no_contact(tmp_path, views, photo):
    localizer = InteractVLMLocalizer(write_tiny_checkpoint(tmp_path / "quiet", emit_seg=False, tokenizer="json"))
    localizer.load("cpu")
    out = localizer.localize(photo, views, Query("human_contact"))
    assert not out.report["seg_token_found"] and "did not emit [SEG]" in out.report["note"]
    assert out.masks.shape == (4, SIZE, SIZE) and not out.masks.any()


def test_view_count_must_match_a_camera_conditioned_model(loaded, ellipsoid, photo):
    vertices, faces = ellipsoid
    cameras = body_rig(vertices, SIZE)[:3]
    with pytest.raises(ValueError, match="trained with 4 views"):
        loaded.localize(photo, render(vertices, faces, cameras), Query("human_contact"))


def test_bad_photo_is_refused(loaded, views):
    with pytest.raises(ValueError, match="uint8 RGB"):
        loaded.localize(np.zeros((10, 10), np.uint8), views, Query("human_contact"))


def test_prompt_follows_the_official_conversation(loaded):
    # DAMON's class name as trained, underscores kept (official base_contact_dataset.py 210); aliases too.
    text = question("semantic_contact", "Tennis_Racket")
    assert text == "Which body parts are in contact with the tennis_racket? Segment these contact areas."
    assert question("semantic_contact", "racquet") == text
    prompt = conversation(text)
    assert prompt.endswith(f"USER: <im_start><image><im_end>\n{text} ASSISTANT:")
    ids = tokenize_with_image(prompt, loaded.tokenizer)
    bos = loaded.tokenizer.bos_token_id
    assert ids[0] == bos and ids.count(bos) == 1 and ids.count(IMAGE_TOKEN_INDEX) == 1
    at = ids.index(IMAGE_TOKEN_INDEX)
    im_start, im_end = loaded.tokenizer.convert_tokens_to_ids(["<im_start>", "<im_end>"])
    assert ids[at - 1] == im_start and ids[at + 1] == im_end
    with pytest.raises(ValueError, match="unknown task"):
        question("hand_contact", None)


def test_registry_creates_it_only_with_a_checkpoint(tiny):
    from backend.localizers.registry import available_localizers, create_localizer

    rows = {row["name"]: row for row in available_localizers(None)}
    assert not rows["interactvlm"]["available"] and "checkpoint" in rows["interactvlm"]["reason"]
    assert {row["name"]: row for row in available_localizers(str(tiny))}["interactvlm"]["available"]
    assert isinstance(create_localizer("interactvlm", str(tiny)), InteractVLMLocalizer)


def test_the_pipeline_renders_the_official_rig(tiny, loaded, photo, ellipsoid, tmp_path):
    """Views follow the official setup: top/bottom x front/back for bodies, scaled HM views for objects."""
    from PIL import Image

    from backend.pipeline import LocalizerCache, run_estimate
    from backend.protocol import EstimateRequest

    vertices, faces = ellipsoid
    human = loaded.cameras(Query(task="human_contact"), vertices, SIZE)
    assert [c.name for c in human] == ["topfront", "bottomfront", "topback", "bottomback"]
    prop = vertices * 0.1  # a 17 cm object: the official distance (2) is scaled by its bounding radius
    cameras = loaded.cameras(Query(task="object_contact"), prop, SIZE)
    assert [c.name for c in cameras] == ["frontleft", "frontright", "backleft", "backright"]
    centre = (prop.min(0) + prop.max(0)) / 2
    radius = np.linalg.norm(prop.max(0) - prop.min(0)) / 2
    for camera in cameras:
        position = -np.asarray(camera.rotation).T @ camera.translation
        assert np.linalg.norm(position - centre) == pytest.approx(2.0 * radius, rel=1e-4)

    Image.fromarray(photo).save(tmp_path / "photo.png")
    np.savez(tmp_path / "body.npz", vertices=vertices, faces=faces)
    request = EstimateRequest(image=str(tmp_path / "photo.png"), out_dir=str(tmp_path), localizer="interactvlm",
                              body={"source": "mesh", "npz": str(tmp_path / "body.npz")}, resolution=SIZE,
                              checkpoint_dir=str(tiny), device="cpu")
    result = run_estimate(request, LocalizerCache(), tmp_path / "result.npz")
    with np.load(result.path) as data:
        assert [str(n) for n in data["view_names"]] == ["topfront", "bottomfront", "topback", "bottomback"]
