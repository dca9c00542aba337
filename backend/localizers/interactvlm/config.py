"""What an InteractVLM checkpoint folder says about the model: config.json + tensor shapes.

config.json is the official LlavaConfig (a LlamaConfig plus LLaVA/LISA/InteractVLM fields). SAM's sizes are
not in it (the official code hard-codes ViT-H), so they are read from the weights' shapes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Official 4-view rigs (preprocess_data/constants.py): (distance, elevation deg, azimuth deg, x_shift, y_shift)
# per view, in the order the views are fed to the model.
OFFICIAL_VIEWS: dict[str, dict[str, tuple[float, float, float, float, float]]] = {
    "4MV-Z_Vitru": {
        "topfront": (2.0, 45.0, 315.0, 0.0, 0.0), "bottomfront": (2.0, 315.0, 315.0, 0.0, 0.3),
        "topback": (2.0, 45.0, 135.0, 0.0, 0.0), "bottomback": (2.0, 315.0, 135.0, 0.0, 0.3)},
    "4MV-Z_HM": {
        "frontleft": (2.0, 45.0, 315.0, 0.0, 0.0), "frontright": (2.0, 45.0, 45.0, 0.0, 0.0),
        "backleft": (2.0, 330.0, 135.0, 0.0, 0.0), "backright": (2.0, 330.0, 225.0, 0.0, 0.0)},
}
for _alias in ("4MV-Z_Vitru_mv2", "4MV-Z_Vitru_FootGround", "4MV-Z_Vitru_wScene"):
    OFFICIAL_VIEWS[_alias] = OFFICIAL_VIEWS["4MV-Z_Vitru"]
for _alias in ("4MV-Z_HM1", "4MV-Z_HM2", "4MV-Z_HM_MeshInf", "4MV-Z_HM_BM", "4MV-Z_HM_BM-L", "4MV-Z_Fix"):
    OFFICIAL_VIEWS[_alias] = OFFICIAL_VIEWS["4MV-Z_HM"]

SUPPORTED_CAM_ENCODERS = ("simple", "view_index", "vi_v1")
# 'Gen': one [SEG]; 'Gen-Hu-Obj' (interactvlm-3d-hcontact-ocontact): [SEG], [HSEG], [OSEG] and the
# AttentionSplitter that turns the prompt tokens into their human or object part (InteractVLM.py 212-214, 284-294).
SUPPORTED_TOKEN_TYPES = ("Gen", "Gen-Hu-Obj")


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be used; the message says what is wrong and what to do."""


@dataclass
class SamSizes:
    """SAM dimensions read from tensor shapes (official ViT-H: 1280 wide, 32 blocks, 16 heads, window 14)."""

    encoder_width: int
    encoder_depth: int
    encoder_heads: int
    patch_size: int
    image_size: int
    window_size: int
    global_attn_indexes: list[int]
    encoder_mlp_dim: int
    prompt_dim: int
    decoder_depth: int
    decoder_mlp_dim: int
    iou_head_hidden_dim: int
    num_mask_tokens: int
    mask_in_chans: int
    decoder_heads: int = 8  # official MaskDecoder/TwoWayTransformer: 8 heads (not visible in shapes)


@dataclass
class IVLMConfig:
    raw: dict[str, Any]
    hidden_size: int
    vocab_size: int
    out_dim: int
    mm_hidden_size: int
    seg_token_idx: int | None
    token_type: str
    multiview_channels: int
    multiview_cam_cond: bool
    cam_encoder_type: str
    mm_use_im_start_end: bool
    mm_vision_select_layer: int
    view_type: str | None
    problems: list[str] = field(default_factory=list)
    hseg_token_idx: int | None = None  # Gen-Hu-Obj: the human [HSEG] and object [OSEG] tokens
    oseg_token_idx: int | None = None
    human_view_type: str | None = None  # hC_sam_view_type / oC_sam_view_type (a joint model records both)
    object_view_type: str | None = None
    splitter_hidden: int = 128  # AttentionSplitter width (official: 256 -> 128), read from the weights' shapes


def read_config(folder: Path) -> IVLMConfig:
    """The folder's config.json, parsed (CheckpointError when it is absent or not JSON)."""
    path = folder / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{folder} has no config.json; point to the unzipped InteractVLM model folder "
                              "(e.g. trained_models/interactvlm-3d-hcontact-damon)")
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}); re-extract the checkpoint archive") from error
    return parse_config(raw, str(path))


def parse_config(raw: dict[str, Any], source: str = "config") -> IVLMConfig:
    """The fields we use; variants we cannot run are listed in `problems`, not raised (the report shows them)."""
    for needed in ("hidden_size", "vocab_size", "num_hidden_layers", "num_attention_heads"):
        if needed not in raw:
            raise CheckpointError(f"{source} lacks '{needed}': this is not a LLaVA/LISA-style config.json")
    problems = []
    token_type = str(raw.get("token_type", "Gen"))
    if token_type not in SUPPORTED_TOKEN_TYPES:
        problems.append(f"token_type {token_type!r} (separate decoders / a joint [ISEG] token) is not supported; "
                        "the released models use 'Gen' (interactvlm-3d-hcontact-damon, -hcontact-wScene, "
                        "-oafford-lemon-piad) or 'Gen-Hu-Obj' (interactvlm-3d-hcontact-ocontact)")
    if token_type == "Gen-Hu-Obj" and (raw.get("hseg_token_idx") is None or raw.get("oseg_token_idx") is None):
        problems.append("token_type 'Gen-Hu-Obj' needs hseg_token_idx and oseg_token_idx in config.json")
    for flag in ("use_fusion", "use_uncertainty"):
        if raw.get(flag):
            problems.append(f"{flag}=true is not supported (no released model uses it)")
    cam_type = str(raw.get("cam_encoder_type", "simple"))
    if raw.get("multiview_cam_cond") and cam_type not in SUPPORTED_CAM_ENCODERS:
        problems.append(f"cam_encoder_type {cam_type!r} unknown; expected one of {SUPPORTED_CAM_ENCODERS}")
    return IVLMConfig(
        raw=raw,
        hidden_size=int(raw["hidden_size"]),
        vocab_size=int(raw["vocab_size"]),
        out_dim=int(raw.get("out_dim", 256)),
        mm_hidden_size=int(raw.get("mm_hidden_size", 1024)),
        seg_token_idx=raw.get("seg_token_idx"),
        token_type=token_type,
        multiview_channels=int(raw.get("multiview_channels", 4)),
        multiview_cam_cond=bool(raw.get("multiview_cam_cond", False)),
        cam_encoder_type=cam_type,
        mm_use_im_start_end=bool(raw.get("mm_use_im_start_end", True)),
        mm_vision_select_layer=int(raw.get("mm_vision_select_layer", -2)),
        view_type=raw.get("hC_sam_view_type") or raw.get("oC_sam_view_type"),
        problems=problems,
        hseg_token_idx=raw.get("hseg_token_idx"),
        oseg_token_idx=raw.get("oseg_token_idx"),
        human_view_type=raw.get("hC_sam_view_type"),
        object_view_type=raw.get("oC_sam_view_type"),
    )


def sam_sizes(shapes: dict[str, tuple[int, ...]]) -> SamSizes:
    """Read SAM's dimensions from the official keys' shapes."""
    enc = "model.visual_model.image_encoder."
    dec = "model.visual_model.mask_decoder."
    try:
        width = shapes[enc + "pos_embed"][-1]
        grid = shapes[enc + "pos_embed"][1]
        patch = shapes[enc + "patch_embed.proj.weight"][-1]
        depth = 1 + max(int(k[len(enc):].split(".")[1]) for k in shapes if k.startswith(enc + "blocks."))
        rel = [shapes[f"{enc}blocks.{i}.attn.rel_pos_h"] for i in range(depth)]
        head_dim = rel[0][1]
        global_idx = [i for i, r in enumerate(rel) if r[0] == 2 * grid - 1]
        local = [r[0] for r in rel if r[0] != 2 * grid - 1]
        window = (local[0] + 1) // 2 if local else grid
        prompt_dim = shapes[dec + "iou_token.weight"][1]
        dec_depth = 1 + max(int(k[len(dec):].split(".")[2]) for k in shapes
                            if k.startswith(dec + "transformer.layers."))
        n_masks = shapes[dec + "mask_tokens.weight"][0]
        return SamSizes(
            encoder_width=width, encoder_depth=depth, encoder_heads=width // head_dim, patch_size=patch,
            image_size=grid * patch, window_size=window, global_attn_indexes=global_idx,
            encoder_mlp_dim=shapes[enc + "blocks.0.mlp.lin1.weight"][0], prompt_dim=prompt_dim,
            decoder_depth=dec_depth, decoder_mlp_dim=shapes[dec + "transformer.layers.0.mlp.lin1.weight"][0],
            iou_head_hidden_dim=shapes[dec + "iou_prediction_head.layers.0.weight"][0],
            num_mask_tokens=n_masks,
            mask_in_chans=shapes["model.visual_model.prompt_encoder.mask_downscaling.3.weight"][0],
        )
    except (KeyError, IndexError, ValueError) as error:
        raise CheckpointError(f"the checkpoint's SAM weights are incomplete (missing {error}); it must hold "
                              "model.visual_model.image_encoder.*, prompt_encoder.* and mask_decoder.*") from error
