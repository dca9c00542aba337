"""InteractVLM localizer timings: the tiny model on CPU (always) and a randomly initialised full-size model
(LISA-13B-llama2 + CLIP ViT-L/14 + SAM ViT-H, no weights needed) with --full on a CUDA GPU.

Baseline measured in the same run: rendering the same 4 views at 1024² (the stage before localize).
  python bench/interactvlm_gpu.py               # tiny model, CPU
  python bench/interactvlm_gpu.py --full        # + full size on cuda (bf16); refused without a GPU
  python bench/interactvlm_gpu.py --full --layers 1 --device cpu   # the full-size code path, 1 layer each
Last line: RESULT interactvlm_tiny_cpu_s=<median s> [interactvlm_full_<device>_s=<s> ...]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# LISA-13B-llama2-v1 (config.json of the released model) and the official SAM ViT-H / CLIP ViT-L/14 sizes.
FULL_LLM = {"hidden_size": 5120, "intermediate_size": 13824, "num_hidden_layers": 40, "num_attention_heads": 40,
            "num_key_value_heads": 40, "vocab_size": 32004, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
            "mm_hidden_size": 1024, "out_dim": 256, "multiview_channels": 4, "multiview_cam_cond": True,
            "cam_encoder_type": "vi_v1", "token_type": "Gen", "hC_sam_view_type": "4MV-Z_Vitru_mv2"}
ANSWER_TOKENS = 32  # a typical "parts" answer before [SEG] (random weights never emit [SEG] themselves)


def _views(size: int):
    import trimesh

    from backend.cameras import body_rig
    from backend.render import render

    sphere = trimesh.creation.icosphere(subdivisions=5)
    vertices = (sphere.vertices * [0.25, 0.15, 0.85] + [0.0, 0.0, 0.85]).astype(np.float32)
    start = time.perf_counter()
    views = render(vertices, sphere.faces.astype(np.int32), body_rig(vertices, size))
    return views, time.perf_counter() - start


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def tiny_cpu(views, photo, repeats: int) -> float:
    from backend.localizers.base import Query
    from backend.localizers.interactvlm import InteractVLMLocalizer
    from tests.interactvlm_tiny import write_tiny_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        # tokenizer.json: a GPU machine may lack sentencepiece (this script needs only torch, transformers, ...)
        localizer = InteractVLMLocalizer(write_tiny_checkpoint(Path(tmp) / "tiny", tokenizer="json"))
        localizer.load("cpu")
        query = Query("semantic_contact", label="bicycle")
        localizer.localize(photo, views, query)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            localizer.localize(photo, views, query)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def full_size(device: str, layers: int | None) -> dict[str, float]:
    """Time one estimate of a randomly initialised full-size network: LLM prefill + answer, SAM, decoder."""
    from transformers import CLIPVisionConfig

    from backend.localizers.interactvlm.config import SamSizes, parse_config
    from backend.localizers.interactvlm.inputs import clip_pixels, sam_pixels
    from backend.localizers.interactvlm.loader import _materialise_buffers
    from backend.localizers.interactvlm.localizer import normalised_cams
    from backend.localizers.interactvlm.model import InteractVLMNet

    raw = dict(FULL_LLM)
    sam = SamSizes(encoder_width=1280, encoder_depth=32, encoder_heads=16, patch_size=16, image_size=1024,
                   window_size=14, global_attn_indexes=[7, 15, 23, 31], encoder_mlp_dim=5120, prompt_dim=256,
                   decoder_depth=2, decoder_mlp_dim=2048, iou_head_hidden_dim=256, num_mask_tokens=4,
                   mask_in_chans=16)
    clip = CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                            image_size=224, patch_size=14, projection_dim=768)
    if layers:  # same widths, fewer blocks: exercises the full-size code path where memory is short
        raw["num_hidden_layers"] = layers
        sam.encoder_depth, sam.global_attn_indexes = layers, [layers - 1]
        clip.num_hidden_layers = max(layers, 2)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    with torch.device("meta"):
        net = InteractVLMNet(parse_config(raw), sam, clip)
    net = net.to_empty(device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    with torch.no_grad():
        for name, param in net.named_parameters():
            if param.ndim == 1 and "norm" in name and name.endswith("weight"):
                param.fill_(1.0)
            else:
                param.normal_(0.0, 0.02, generator=gen)
        net.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix.normal_(generator=gen)
    net = net.to(dtype)
    _materialise_buffers(net, device, dtype)
    net.eval()
    photo = (np.random.default_rng(0).random((480, 640, 3)) * 255).astype(np.uint8)
    ids = [1] + list(range(100, 160)) + [-200] + list(range(200, 240))  # ~ the official prompt's length
    views, _ = _views(1024)
    timings = {}
    _sync(device)
    start = time.perf_counter()
    with torch.no_grad():
        image = net.image_tokens(clip_pixels(photo, 224).to(device, dtype))
        # seg_id=-1 never matches: decode ANSWER_TOKENS tokens and use the last state as the [SEG] state
        _, generated, seg_state = net.seg_hidden_state(ids, image, seg_id=-1, eos_id=None,
                                                      max_new_tokens=ANSWER_TOKENS)
        _sync(device)
        timings["llm"] = time.perf_counter() - start
        start = time.perf_counter()
        pixels, _ = sam_pixels(views.shaded, 1024)
        embeds = net.view_embeddings(pixels.to(device, dtype))
        _sync(device)
        timings["sam_encoder"] = time.perf_counter() - start
        start = time.perf_counter()
        cams = torch.from_numpy(normalised_cams("4MV-Z_Vitru_mv2")).to(device, dtype)
        masks = net.decode_masks(seg_state, embeds, cams)
        _sync(device)
        timings["mask_decoder"] = time.perf_counter() - start
    assert masks.shape == (4, 256, 256) and len(generated) == ANSWER_TOKENS
    timings["total"] = sum(timings.values())
    if device == "cuda":
        timings["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="also time a random full-size model")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"), help="device for --full")
    parser.add_argument("--layers", type=int, default=None, help="--full with this many blocks per stack")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    _views(1024)  # warm-up (first torch ops, allocator)
    views, render_s = _views(1024)
    photo = (np.random.default_rng(0).random((480, 640, 3)) * 255).astype(np.uint8)
    tiny_s = tiny_cpu(views, photo, args.repeats)
    rows = [("render 4 views at 1024² (baseline)", render_s), ("tiny InteractVLM localize, CPU fp32", tiny_s)]
    result = f"RESULT interactvlm_tiny_cpu_s={tiny_s:.4f}"
    if args.full:
        if args.device == "cuda" and not torch.cuda.is_available():
            raise SystemExit("--full on cuda needs a CUDA GPU (the full model is 13B parameters); "
                             "use --device cpu --layers 1 to exercise the code path")
        timings = full_size(args.device, args.layers)
        label = f"full-size{'' if not args.layers else f' ({args.layers} block(s) per stack)'}, {args.device}"
        rows += [(f"{label}: {stage}", value) for stage, value in timings.items() if stage != "peak_gib"]
        key = f"interactvlm_full_{args.device}{'' if not args.layers else f'_l{args.layers}'}_s"
        result += f" {key}={timings['total']:.4f}"
        if "peak_gib" in timings:
            result += f" peak_gib={timings['peak_gib']:.2f}"
    width = max(len(r[0]) for r in rows)
    print(f"{'stage'.ljust(width)}  seconds")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value:.4f}")
    print(result)


if __name__ == "__main__":
    main()
