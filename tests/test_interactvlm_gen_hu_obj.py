"""The third release, interactvlm-3d-hcontact-ocontact (token type Gen-Hu-Obj, AttentionSplitter), on a tiny model.

The splitter is compared with the official module's outputs (tests/data/interactvlm_goldens/splitter.npz, made by
scripts/official_goldens.py from model/components.py @ 79b4bf2)."""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.cameras import body_rig
from backend.localizers.base import Query
from backend.localizers.interactvlm import InteractVLMLocalizer, inspect_checkpoint
from backend.localizers.interactvlm.keymap import official_to_ours
from backend.localizers.interactvlm.model import AttentionSplitter
from backend.render import render
from tests.interactvlm_tiny import write_tiny_checkpoint

GOLDEN = Path(__file__).parent / "data" / "interactvlm_goldens" / "splitter.npz"
SIZE = 64


@pytest.fixture(scope="module")
def joint(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("ivlm_joint") / "tiny", seed=2, token_type="Gen-Hu-Obj",
                                 emit="[HSEG]")


@pytest.fixture(scope="module")
def loaded(joint) -> InteractVLMLocalizer:
    localizer = InteractVLMLocalizer(joint)
    localizer.load("cpu")
    return localizer


def test_splitter_equals_the_official_module():
    with np.load(GOLDEN) as data:
        golden = {k: data[k] for k in data.files}
    ours = AttentionSplitter(16, 8)
    state = {official_to_ours(k)[len("attention_splitter."):]: torch.from_numpy(v)
             for k, v in golden.items() if k.startswith("attention_splitter.")}
    ours.load_state_dict(state, strict=True)
    tokens = torch.from_numpy(golden["splitter_tokens"])
    with torch.no_grad():
        np.testing.assert_allclose(ours(tokens, "human").numpy(), golden["splitter_human"], atol=1e-5, rtol=0)
        np.testing.assert_allclose(ours(tokens, "object").numpy(), golden["splitter_object"], atol=1e-5, rtol=0)
    assert np.abs(golden["splitter_human"] - golden["splitter_object"]).max() > 1e-2


def test_checkpoint_is_supported_and_every_key_matches(joint):
    report = inspect_checkpoint(joint)
    assert report.ok, report.message()
    assert report.facts["token_type"] == "Gen-Hu-Obj"
    assert not report.missing and not report.unexpected and not report.shape_mismatches
    assert any(k.startswith("attention_splitter.") for k in json.loads(
        (joint / "pytorch_model.bin.index.json").read_text())["weight_map"])


def test_hseg_answer_decodes_the_human_part(loaded, ellipsoid):
    vertices, faces = ellipsoid
    views = render(vertices, faces, body_rig(vertices, SIZE))
    photo = (np.random.default_rng(4).random((80, 60, 3)) * 255).astype(np.uint8)
    out = loaded.localize(photo, views, Query("semantic_contact", label="bicycle"))
    assert out.report["answer"] == "[HSEG]" and out.report["prompt_part"] == "human"
    assert out.masks.shape == (4, SIZE, SIZE) and np.ptp(out.masks) > 0
    # the three branches give three different prompts, hence masks (the tiny model's 0.05-scale splitter attends
    # uniformly within float precision, so a copy gets larger splitter weights to make the two parts differ)
    net = copy.deepcopy(loaded.net)
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for param in net.attention_splitter.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * 3.0)
    hidden = torch.randn(net.cfg.hidden_size, generator=torch.Generator().manual_seed(0))
    embeds = torch.randn(4, 16, 8, 8, generator=torch.Generator().manual_seed(1))
    cams = torch.rand(4, 5, generator=torch.Generator().manual_seed(2))
    masks = {part: net.decode_masks(hidden, embeds, cams, part) for part in (None, "human", "object")}
    assert not torch.allclose(masks[None], masks["human"])
    assert (masks["human"] - masks["object"]).abs().max() > 1e-7


def test_object_tasks_use_the_recorded_object_rig(loaded):
    assert loaded.view_type("object_contact") == "4MV-Z_HM_BM"
    assert loaded.view_type("human_contact") == "4MV-Z_Vitru"
    assert set(loaded.seg_parts.values()) == {None, "human", "object"}


def test_other_joint_variants_are_refused(joint, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(joint, copy)
    config = json.loads((copy / "config.json").read_text())
    config["token_type"] = "Gen-Int"
    (copy / "config.json").write_text(json.dumps(config))
    report = inspect_checkpoint(copy)
    assert not report.ok and "'Gen-Int'" in report.message() and "not supported" in report.message()
    config["token_type"] = "Gen-Hu-Obj"
    del config["oseg_token_idx"]
    (copy / "config.json").write_text(json.dumps(config))
    assert "needs hseg_token_idx and oseg_token_idx" in inspect_checkpoint(copy).message()
