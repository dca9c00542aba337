"""Our SAM side equals the official modules on a fixed input: masks and lifted scores (goldens, 1e-5).

tests/data/interactvlm_goldens/masks.npz was written by scripts/official_goldens.py: the official SAM encoder,
prompt encoder and mask decoder, VIv1CamPoseEncoder and AttentionSplitter (saidwivedi/InteractVLM @ 79b4bf2) at
the tiny model's size on seeded weights under their official key names, fed as InteractVLM.evaluate feeds them
for [SEG], [HSEG] and [OSEG], the masks lifted by the official HumanContact3DPredictor and
ObjectMeshContact3DPredictor on the maps of lift.npz."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.lift import LiftRule, lift
from backend.localizers.interactvlm.config import parse_config, sam_sizes
from backend.localizers.interactvlm.inputs import masks_to_views, sam_pixels
from backend.localizers.interactvlm.keymap import official_to_ours
from backend.localizers.interactvlm.model import InteractVLMNet
from tests.test_lift_official import official_probabilities, views_from_official_maps

DATA = Path(__file__).parent / "data" / "interactvlm_goldens"
PARTS = {"seg": None, "hseg": "human", "oseg": "object"}


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(DATA / "masks.npz") as data:
        masks = {k: data[k] for k in data.files}
    with np.load(DATA / "lift.npz") as data:
        masks.update({k: data[k] for k in ("pixel_to_vertex", "bary", "n_vertices")})
    return masks


@pytest.fixture(scope="module")
def net(golden) -> InteractVLMNet:
    from transformers import CLIPVisionConfig

    tiny = json.loads(str(golden["tiny"]))
    weights = {k: torch.from_numpy(v) for k, v in golden.items()
               if k.startswith(("model.", "cam_pose_encoder.", "attention_splitter."))}
    cfg = parse_config({"hidden_size": tiny["hidden"], "vocab_size": 8, "num_hidden_layers": 1,
                        "num_attention_heads": 4, "intermediate_size": 64, "out_dim": tiny["out_dim"],
                        "mm_hidden_size": 16, "multiview_cam_cond": True, "cam_encoder_type": "vi_v1",
                        "token_type": "Gen-Hu-Obj", "hseg_token_idx": 6, "oseg_token_idx": 7})
    cfg.splitter_hidden = tiny["splitter_hidden"]
    clip = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                            image_size=28, patch_size=14)
    model = InteractVLMNet(cfg, sam_sizes({k: tuple(v.shape) for k, v in weights.items()}), clip)
    expected = model.state_dict()
    ours = {official_to_ours(k): v for k, v in weights.items()}
    assert all(k in expected and expected[k].shape == v.shape for k, v in ours.items()), \
        sorted(k for k, v in ours.items() if k not in expected or expected[k].shape != v.shape)
    missing = [k for k in expected if k.startswith(("sam_encoder.", "mask_decoder.", "cam_pose_encoder.",
                                                    "attention_splitter.", "text_hidden_fcs."))
               and k not in ours]
    assert not missing, missing
    model.load_state_dict(ours, strict=False)
    return model.eval()


def our_masks(net, golden, part):
    pixels, resized = sam_pixels(golden["sam_images"], net.sam.image_size)
    embeds = net.view_embeddings(pixels)
    logits = net.decode_masks(torch.from_numpy(golden["seg_hidden"]), embeds, torch.from_numpy(golden["cams"]), part)
    return masks_to_views(logits, net.sam.image_size, resized, golden["mask_logits_seg"].shape[-2:])


def test_masks_equal_the_official_modules_for_each_token(net, golden):
    for name, part in PARTS.items():
        official = golden[f"mask_logits_{name}"]
        assert np.ptp(official) > 1.0  # logits spread on both sides of 0: a real comparison
        np.testing.assert_allclose(our_masks(net, golden, part), official_probabilities(official), atol=1e-5,
                                   rtol=0, err_msg=name)
    assert np.abs(golden["mask_logits_hseg"] - golden["mask_logits_oseg"]).max() > 1e-3


def test_lifted_scores_equal_the_official_predictors(net, golden):
    views = views_from_official_maps(golden["pixel_to_vertex"], golden["bary"], int(golden["n_vertices"]))
    human, _ = lift(views, our_masks(net, golden, "human"))
    np.testing.assert_allclose(human, golden["human_scores_hseg"], atol=1e-5, rtol=0)
    obj, _ = lift(views, our_masks(net, golden, "object"), LiftRule(min_pixel_probability=0.3))
    np.testing.assert_allclose(obj, golden["object_scores_oseg"], atol=1e-5, rtol=0)
    assert np.ptp(golden["human_scores_hseg"]) > 0.1 and np.ptp(golden["object_scores_oseg"]) > 0.1
