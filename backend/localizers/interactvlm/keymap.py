"""Official InteractVLM state-dict key names -> the names of our modules (backend.localizers.interactvlm.model).

The official checkpoint (LISA-style `save_pretrained` of InteractVLMForCausalLM) names SAM's modules as
facebookresearch/segment_anything does; we run SAM on transformers' SamVisionEncoder/SamMaskDecoder, whose
parameters are the same tensors under other names. Everything else keeps its official name.
"""
from __future__ import annotations

import re

# Official prefix -> our prefix, tried in order (first match wins).
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("model.visual_model.image_encoder.", "sam_encoder."),
    ("model.visual_model.prompt_encoder.", "prompt_encoder."),
    ("model.visual_model.mask_decoder.", "mask_decoder."),
    ("model.vision_tower.vision_tower.", "clip."),
    ("model.mm_projector.", "mm_projector."),
    ("model.text_hidden_fcs.", "text_hidden_fcs."),
    ("cam_pose_encoder.", "cam_pose_encoder."),
    ("attention_splitter.", "attention_splitter."),  # Gen-Hu-Obj, a top-level module like cam_pose_encoder
    ("lm_head.", "lm_head."),
    ("model.", "llama."),  # embed_tokens, layers.N..., norm: the Llama decoder itself
)

# Within the SAM image encoder (official segment_anything ViT -> transformers SamVisionEncoder).
_ENCODER_RULES: tuple[tuple[str, str], ...] = (
    (r"^patch_embed\.proj\.", "patch_embed.projection."),
    (r"^blocks\.(\d+)\.norm(\d)\.", r"layers.\1.layer_norm\2."),
    (r"^blocks\.(\d+)\.", r"layers.\1."),
    (r"^neck\.0\.", "neck.conv1."),
    (r"^neck\.1\.", "neck.layer_norm1."),
    (r"^neck\.2\.", "neck.conv2."),
    (r"^neck\.3\.", "neck.layer_norm2."),
)

# Within the mask decoder (official MaskDecoder/TwoWayTransformer -> transformers SamMaskDecoder).
_DECODER_RULES: tuple[tuple[str, str], ...] = (
    (r"^transformer\.layers\.(\d+)\.norm(\d)\.", r"transformer.layers.\1.layer_norm\2."),
    (r"^transformer\.norm_final_attn\.", "transformer.layer_norm_final_attn."),
    (r"^output_upscaling\.0\.", "upscale_conv1."),
    (r"^output_upscaling\.1\.", "upscale_layer_norm."),
    (r"^output_upscaling\.3\.", "upscale_conv2."),
    # 3-layer MLPs: official layers.0/1/2 -> proj_in / layers.0 / proj_out
    (r"^(output_hypernetworks_mlps\.\d+|iou_prediction_head)\.layers\.0\.", r"\1.proj_in."),
    (r"^(output_hypernetworks_mlps\.\d+|iou_prediction_head)\.layers\.1\.", r"\1.layers.0."),
    (r"^(output_hypernetworks_mlps\.\d+|iou_prediction_head)\.layers\.2\.", r"\1.proj_out."),
)

# Keys that older transformers saved but that are recomputed at load (rotary frequencies).
IGNORED_KEY_PATTERN = re.compile(r"(^|\.)rotary_emb\.inv_freq$")


def _apply(rules: tuple[tuple[str, str], ...], key: str) -> str:
    for pattern, replacement in rules:
        new, count = re.subn(pattern, replacement, key, count=1)
        if count:
            return new
    return key


def official_to_ours(key: str) -> str | None:
    """Our parameter name for an official key, or None when the key is not part of our model."""
    for official, ours in _PREFIXES:
        if key.startswith(official):
            rest = key[len(official):]
            if ours == "sam_encoder.":
                rest = _apply(_ENCODER_RULES, rest)
            elif ours == "mask_decoder.":
                rest = _apply(_DECODER_RULES, rest)
            elif ours == "clip.":
                return clip_key(rest)
            return ours + rest
    return None


def clip_key(key: str) -> str | None:
    """Our name for a key of a CLIP checkpoint (CLIPModel or CLIPVisionModel files name the vision part
    'vision_model.*'; transformers 5's CLIPVisionModel has no such level). None for text-side/unused keys."""
    if key.startswith(("text_model.", "text_projection", "visual_projection", "logit_scale")):
        return None
    if key.endswith("position_ids"):
        return None  # a buffer older transformers saved; recomputed
    return "clip." + key.removeprefix("vision_model.")


def ours_to_official(our_keys: list[str]) -> dict[str, str]:
    """Inverse map for a set of our keys (used by the tiny-checkpoint writer and for reporting)."""
    return {_invert(k): k for k in our_keys}


_INVERSE_ENCODER = (
    (r"^patch_embed\.projection\.", "patch_embed.proj."),
    (r"^layers\.(\d+)\.layer_norm(\d)\.", r"blocks.\1.norm\2."),
    (r"^layers\.(\d+)\.", r"blocks.\1."),
    (r"^neck\.conv1\.", "neck.0."),
    (r"^neck\.layer_norm1\.", "neck.1."),
    (r"^neck\.conv2\.", "neck.2."),
    (r"^neck\.layer_norm2\.", "neck.3."),
)
_INVERSE_DECODER = (
    (r"^transformer\.layers\.(\d+)\.layer_norm(\d)\.", r"transformer.layers.\1.norm\2."),
    (r"^transformer\.layer_norm_final_attn\.", "transformer.norm_final_attn."),
    (r"^upscale_conv1\.", "output_upscaling.0."),
    (r"^upscale_layer_norm\.", "output_upscaling.1."),
    (r"^upscale_conv2\.", "output_upscaling.3."),
    (r"^(output_hypernetworks_mlps\.\d+|iou_prediction_head)\.proj_in\.", r"\1.layers.0."),
    (r"^(output_hypernetworks_mlps\.\d+|iou_prediction_head)\.layers\.0\.", r"\1.layers.1."),
    (r"^(output_hypernetworks_mlps\.\d+|iou_prediction_head)\.proj_out\.", r"\1.layers.2."),
)


def _invert(key: str) -> str:
    for official, ours in _PREFIXES:
        if key.startswith(ours):
            rest = key[len(ours):]
            if ours == "sam_encoder.":
                rest = _apply(_INVERSE_ENCODER, rest)
            elif ours == "mask_decoder.":
                rest = _apply(_INVERSE_DECODER, rest)
            return official + rest
    raise ValueError(f"no official name for our key {key!r}")
