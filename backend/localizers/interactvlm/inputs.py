"""Prompts, tokenisation and image preprocessing exactly as the official demo feeds the model."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

IMAGE_TOKEN_INDEX = -200  # LLaVA's placeholder id, replaced by the CLIP patch embeddings
SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. "
          "The assistant gives helpful, detailed, and polite answers to the human's questions.")  # llava_v1

# Official templates (utils/utils.py HCONTACT_PARTS_QUESTION_LIST[0] as used by run_demo.py; OAFFORD
# afford question). Binary human contact uses the semantic template with a generic object, as the demo does
# for "scene" queries.
TEMPLATES = {
    "human_contact": "Which body parts are in contact with the {label}? Segment these contact areas.",
    "semantic_contact": "Which body parts are in contact with the {label}? Segment these contact areas.",
    "object_contact": ("What type of affordance does the human-object interaction suggest? Then, segment the "
                       "area on the {label} where the human is making contact."),
}
DEFAULT_LABELS = {"human_contact": "object", "object_contact": "object"}

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SAM_MEAN = (123.675, 116.28, 103.53)
SAM_STD = (58.395, 57.12, 57.375)


def question(task: str, label: str | None) -> str:
    if task not in TEMPLATES:
        raise ValueError(f"unknown task {task!r}; use one of {', '.join(TEMPLATES)}")
    from backend.labels import normalise_label

    # DAMON's class name as trained: lower case, underscores kept (base_contact_dataset.py 210).
    label = normalise_label(label) or DEFAULT_LABELS.get(task, "")
    if not label:
        raise ValueError(f"{task} needs an object label")
    return TEMPLATES[task].format(label=label)


def conversation(text: str, im_start_end: bool = True) -> str:
    """llava_v1 conversation with the image in front of the question; the answer is left open."""
    image = "<im_start><image><im_end>" if im_start_end else "<image>"
    return f"{SYSTEM} USER: {image}\n{text} ASSISTANT:"


def tokenize_with_image(prompt: str, tokenizer) -> list[int]:
    """Token ids with IMAGE_TOKEN_INDEX where '<image>' is; only the first chunk keeps its BOS."""
    chunks = [tokenizer(chunk).input_ids for chunk in prompt.split("<image>")]
    bos = tokenizer.bos_token_id
    ids = list(chunks[0])
    for chunk in chunks[1:]:
        ids.append(IMAGE_TOKEN_INDEX)
        ids.extend(chunk[1:] if bos is not None and chunk[:1] == [bos] else chunk)
    return ids


def clip_resize_size(height: int, width: int, size: int) -> tuple[int, int]:
    """(h, w) of the CLIP resize as transformers 4.31 (the official version) computes it
    (get_resize_output_image_size): short side -> size, long side int(size * long / short), truncated and in
    that order (round() differs by up to 1.86 grey levels on a 480x640 photo after the crop, int() by 0)."""
    short, long = min(height, width), max(height, width)
    new_long = int(size * long / short)
    return (new_long, size) if width <= height else (size, new_long)


def clip_pixels(image_rgb: np.ndarray, size: int) -> torch.Tensor:
    """CLIPImageProcessor's recipe: shortest side -> size (bicubic), centre crop, [0,1], CLIP mean/std."""
    from PIL import Image

    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError(f"photo must be (H,W,3) uint8 RGB, got {image_rgb.shape} {image_rgb.dtype}")
    height, width = image_rgb.shape[:2]
    new_h, new_w = clip_resize_size(height, width, size)
    resized = np.asarray(Image.fromarray(image_rgb).resize((new_w, new_h), Image.BICUBIC))
    top, left = (new_h - size) // 2, (new_w - size) // 2
    crop = resized[top:top + size, left:left + size].astype(np.float32) / 255.0
    tensor = torch.from_numpy(crop).permute(2, 0, 1)
    mean = torch.tensor(CLIP_MEAN)[:, None, None]
    std = torch.tensor(CLIP_STD)[:, None, None]
    return ((tensor - mean) / std)[None]


def sam_pixels(images: np.ndarray, size: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """(V,H,W) grey or (V,H,W,3) RGB uint8 renders -> (V,3,size,size) SAM input: longest side -> size,
    pixel mean/std, zero-pad bottom/right. Returns the tensor and the resized (h, w) before padding."""
    views = torch.from_numpy(np.ascontiguousarray(images)).float()
    views = views[:, None].expand(-1, 3, -1, -1) if views.ndim == 3 else views.permute(0, 3, 1, 2)
    height, width = views.shape[-2:]
    scale = size / max(height, width)
    new_h, new_w = int(height * scale + 0.5), int(width * scale + 0.5)
    if (new_h, new_w) != (height, width):
        views = F.interpolate(views, (new_h, new_w), mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor(SAM_MEAN)[:, None, None]
    std = torch.tensor(SAM_STD)[:, None, None]
    views = (views - mean) / std
    return F.pad(views, (0, size - new_w, 0, size - new_h)), (new_h, new_w)


def masks_to_views(logits: torch.Tensor, size: int, resized: tuple[int, int], out_hw: tuple[int, int]) -> np.ndarray:
    """Low-res logits (V,h,w) -> probabilities (V,H,W) float32: upsample to the SAM input, crop the padding,
    resize to the render, sigmoid of logits clamped to [-20, 20] (as the official lifting does)."""
    x = F.interpolate(logits[:, None].float(), (size, size), mode="bilinear", align_corners=False)
    x = x[..., :resized[0], :resized[1]]
    x = F.interpolate(x, out_hw, mode="bilinear", align_corners=False)[:, 0]
    return torch.sigmoid(x.clamp(-20.0, 20.0)).cpu().numpy().astype(np.float32)
