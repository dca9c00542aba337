"""Load an official InteractVLM checkpoint folder onto our modules, with an exact report of what matched.

Folder layout (official release, e.g. trained_models/interactvlm-3d-hcontact-damon/):
  config.json, generation_config.json, tokenizer files, pytorch_model-0000k-of-0000n.bin +
  pytorch_model.bin.index.json (or *.safetensors [+ model.safetensors.index.json]).
The CLIP vision tower is *not* in it (the official merge script drops `vision_tower` weights and reloads
openai/clip-vit-large-patch14 by hub id): give its local folder, or put it in `<checkpoint>/vision_tower/`.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from backend.localizers.interactvlm.checkpoint import iter_tensors, read_shapes, weight_files
from backend.localizers.interactvlm.config import CheckpointError, IVLMConfig, read_config, sam_sizes
from backend.localizers.interactvlm.keymap import IGNORED_KEY_PATTERN, clip_key, official_to_ours, ours_to_official

VISION_TOWER_SUBFOLDERS = ("vision_tower", "clip-vit-large-patch14")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")


@dataclass
class CheckpointReport:
    """What a folder holds relative to the model it describes. Keys are official names."""

    folder: str
    weight_format: str = ""
    weight_files: list[str] = field(default_factory=list)
    n_tensors: int = 0
    n_parameters: int = 0
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    shape_mismatches: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    vision_tower: str | None = None
    tokenizer: str | None = None
    config_problems: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.shape_mismatches or self.config_problems
                    or self.vision_tower is None or self.tokenizer is None)

    def message(self, limit: int = 12) -> str:
        lines = [f"checkpoint {self.folder}: {self.n_tensors} tensors, {_count(self.n_parameters)} parameters "
                 f"({self.weight_format}: {', '.join(self.weight_files)})"]
        for name, value in self.facts.items():
            lines.append(f"  {name}: {value}")
        lines.append(f"  vision tower (CLIP): {self.vision_tower or 'NOT FOUND'}")
        lines.append(f"  tokenizer: {self.tokenizer or 'NOT FOUND'}")

        def listing(title: str, items: list) -> None:
            if items:
                lines.append(f"  {title} ({len(items)}):")
                lines.extend(f"    {item}" for item in items[:limit])
                if len(items) > limit:
                    lines.append(f"    ... and {len(items) - limit} more")

        listing("missing keys", self.missing)
        listing("unexpected keys", self.unexpected)
        listing("shape mismatches (key, checkpoint, expected)", self.shape_mismatches)
        listing("ignored keys (recomputed at load)", self.ignored)
        listing("unsupported configuration", self.config_problems)
        lines.append("OK: every weight matched" if self.ok else "NOT USABLE: see above")
        return "\n".join(lines)


def _count(n: int) -> str:
    return f"{n / 1e9:.2f} B" if n >= 1e8 else f"{n / 1e6:.3f} M"


def find_vision_tower(folder: Path, explicit: str | Path | None, cfg: IVLMConfig) -> Path | None:
    """The first of: `explicit`, <folder>/vision_tower, <folder>/clip-vit-large-patch14, a local path in
    config.json, that holds a config.json; None if none does (an explicit folder without one is an error)."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    candidates += [folder / name for name in VISION_TOWER_SUBFOLDERS]
    for key in ("mm_vision_tower", "vision_tower"):  # official configs hold a hub id; only local paths count
        value = cfg.raw.get(key)
        if isinstance(value, str) and value:
            path = Path(value) if Path(value).is_absolute() else folder / value
            candidates.append(path)
    for path in candidates:
        if (path / "config.json").is_file():
            return path
    if explicit:
        raise CheckpointError(f"vision tower folder {explicit} has no config.json; give the local folder of "
                              "openai/clip-vit-large-patch14 (config.json + weights)")
    return None


def _clip_config(path: Path):
    import json

    from transformers import CLIPConfig, CLIPVisionConfig

    raw = json.loads((path / "config.json").read_text())
    if raw.get("model_type") == "clip":
        return CLIPConfig.from_pretrained(str(path), local_files_only=True).vision_config
    return CLIPVisionConfig.from_pretrained(str(path), local_files_only=True)


def _clip_tensors(path: Path):
    """CLIP weights as (our key, tensor): the vision part of a CLIPModel or CLIPVisionModel folder."""
    files, kind = weight_files(path)
    for key, tensor in iter_tensors(files, kind):
        ours = clip_key(key)
        if ours is not None:
            yield ours, tensor


def build_skeleton(folder: Path, vision_tower: str | Path | None = None):
    """Read the folder's metadata and build the network on the meta device (no memory for weights).

    Returns (net, report, cfg, files, kind, clip_path).
    """
    from backend.localizers.interactvlm.model import InteractVLMNet

    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {folder} does not exist or is not a folder")
    cfg = read_config(folder)
    files, kind = weight_files(folder)
    shapes = read_shapes(files, kind)
    report = CheckpointReport(folder=str(folder), weight_format=kind, weight_files=[f.name for f in files],
                              n_tensors=len(shapes), config_problems=list(cfg.problems))
    report.n_parameters = sum(int(torch.Size(s).numel()) for s in shapes.values())
    sam = sam_sizes(shapes)
    splitter = shapes.get("attention_splitter.input_proj.weight")
    if splitter is not None:
        cfg.splitter_hidden = int(splitter[0])
    clip_path = find_vision_tower(folder, vision_tower, cfg)
    has_inline_clip = any(k.startswith("model.vision_tower.vision_tower.") for k in shapes)
    report.vision_tower = str(clip_path) if clip_path else ("in checkpoint" if has_inline_clip else None)
    report.tokenizer = next((name for name in TOKENIZER_FILES if (folder / name).is_file()), None)
    report.facts = {
        "llm": f"Llama, {cfg.raw.get('num_hidden_layers')} layers, hidden {cfg.hidden_size}, vocab {cfg.vocab_size}",
        "sam": (f"ViT {sam.encoder_width} wide x {sam.encoder_depth} blocks, {sam.image_size} px input, "
                f"decoder dim {sam.prompt_dim}"),
        "token_type": cfg.token_type,
        "views": f"{cfg.multiview_channels} ({cfg.view_type or 'view type not recorded'})",
        "camera conditioning": cfg.cam_encoder_type if cfg.multiview_cam_cond else "none",
        "seg_token_idx": cfg.seg_token_idx,
    }
    if clip_path is not None:
        clip_config = _clip_config(clip_path)
    elif has_inline_clip:
        raise CheckpointError(f"the checkpoint holds CLIP weights but no CLIP config: put the config.json of "
                              f"openai/clip-vit-large-patch14 in {folder / 'vision_tower'}/")
    else:
        from transformers import CLIPVisionConfig

        clip_config = CLIPVisionConfig()  # placeholder so the rest can be checked; report says NOT FOUND
    with torch.device("meta"):
        net = InteractVLMNet(cfg, sam, clip_config)
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    supplied: set[str] = set()
    for key, shape in shapes.items():
        if IGNORED_KEY_PATTERN.search(key):
            report.ignored.append(key)
            continue
        ours = official_to_ours(key)
        if ours is None or ours not in expected:
            report.unexpected.append(key)
        elif expected[ours] != shape:
            report.shape_mismatches.append((key, shape, expected[ours]))
            supplied.add(ours)  # present, but wrong: listed as a mismatch, not as missing
        else:
            supplied.add(ours)
    clip_keys = {k for k in expected if k.startswith("clip.")}
    if clip_path is not None:
        clip_files, clip_kind = weight_files(clip_path)
        clip_shapes = {clip_key(k): s for k, s in read_shapes(clip_files, clip_kind).items()
                       if clip_key(k) is not None}
        report.missing += sorted(f"{clip_path.name}/{k[5:]}" for k in clip_keys if k not in clip_shapes)
        report.shape_mismatches += [(f"{clip_path.name}/{k[5:]}", s, expected[k]) for k, s in clip_shapes.items()
                                    if k in expected and expected[k] != s]
        report.n_parameters += sum(int(torch.Size(s).numel()) for s in clip_shapes.values())
    official = ours_to_official([k for k in expected if k not in supplied and k not in clip_keys])
    report.missing = sorted(official) + report.missing
    return net, report, cfg, files, kind, clip_path


def load_weights(net, files: list[Path], kind: str, clip_path: Path | None, dtype: torch.dtype,
                 device: str) -> list[str]:
    """Assign every tensor (cast to dtype, moved to device) into the meta-built net; return CLIP keys missing."""
    expected = net.state_dict()

    def assign(batch: dict[str, torch.Tensor]) -> None:
        net.load_state_dict(batch, strict=False, assign=True)

    ours_tensors = ((official_to_ours(key), tensor) for key, tensor in iter_tensors(files, kind))
    clip_tensors = _clip_tensors(clip_path) if clip_path is not None else ()
    batch: dict[str, torch.Tensor] = {}
    for ours, tensor in itertools.chain(ours_tensors, clip_tensors):
        if ours in expected and tuple(expected[ours].shape) == tuple(tensor.shape):
            batch[ours] = tensor.to(device=device, dtype=dtype if tensor.is_floating_point() else tensor.dtype)
        if len(batch) >= 64:
            assign(batch)
            batch = {}
    assign(batch)
    _materialise_buffers(net, device, dtype)
    return sorted(k for k, v in net.state_dict().items() if v.is_meta and k.startswith("clip."))


def _materialise_buffers(net, device: str, dtype: torch.dtype) -> None:
    """Non-persistent buffers (rotary frequencies, CLIP position ids) are computed, not stored."""
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    with torch.device(device):
        net.llama.rotary_emb = LlamaRotaryEmbedding(net.llama_config)
    embeddings = net.clip.embeddings
    embeddings.register_buffer("position_ids", torch.arange(embeddings.num_positions, device=device)[None],
                               persistent=False)
    left = [name for name, buf in net.named_buffers() if buf.is_meta]
    if left:
        raise CheckpointError(f"internal: buffers without values after loading: {left[:5]}")
