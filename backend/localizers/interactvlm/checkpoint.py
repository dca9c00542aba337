"""Find, inspect and safely read the weight files of an InteractVLM checkpoint folder.

Only safetensors and `torch.load(weights_only=True)` are used: a pickle that needs full unpickling could run
arbitrary code, so it is refused with instructions to convert it once, in a trusted environment.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any, Iterator

import torch

from backend.localizers.interactvlm.config import CheckpointError

_SAFE_INDEX = "model.safetensors.index.json"
_BIN_INDEX = "pytorch_model.bin.index.json"

CONVERT_HINT = (
    "convert it once, in an environment you trust, to safetensors:\n"
    "  python -c \"import torch; from safetensors.torch import save_file; "
    "sd = torch.load('FILE', map_location='cpu', weights_only=False); "
    "sd = sd.get('state_dict', sd); "
    "save_file({k: v.contiguous() for k, v in sd.items()}, 'FILE.safetensors')\"\n"
    "then remove the .bin file (and its index) from the folder."
)


def weight_files(folder: Path) -> tuple[list[Path], str]:
    """The weight shards of `folder` and their format ('safetensors' or 'torch'). Safetensors win when both exist."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {folder} does not exist or is not a folder")
    for index_name, kind in ((_SAFE_INDEX, "safetensors"), (_BIN_INDEX, "torch")):
        index = folder / index_name
        if index.is_file():
            try:
                weight_map = json.loads(index.read_text())["weight_map"]
            except (OSError, json.JSONDecodeError, KeyError, TypeError) as error:
                raise CheckpointError(f"{index} is not a valid shard index ({error}); "
                                      "re-extract the archive") from error
            shards = [folder / name for name in sorted(set(weight_map.values()))]
            absent = [s.name for s in shards if not s.is_file()]
            if absent:
                raise CheckpointError(f"{index.name} lists shard(s) that are missing from {folder}: "
                                      f"{', '.join(absent)}; the download or extraction is incomplete")
            return shards, kind
    singles = sorted(folder.glob("*.safetensors"))
    if singles:
        return singles, "safetensors"
    bins = sorted(folder.glob("pytorch_model*.bin")) or sorted(folder.glob("*.bin")) or sorted(folder.glob("*.pt*"))
    if bins:
        return bins, "torch"
    raise CheckpointError(f"no weights in {folder}: expected model.safetensors, model-*.safetensors + "
                          f"{_SAFE_INDEX}, or pytorch_model*.bin (the official release)")


def _torch_load(path: Path) -> dict[str, torch.Tensor]:
    try:
        try:
            data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as error:
            if "mmap" not in str(error):
                raise
            data = torch.load(path, map_location="cpu", weights_only=True)  # legacy (non-zip) format
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"{path.name} is a pickle that needs full unpickling (it holds Python objects, not only tensors), "
            f"which could run arbitrary code, so it is not loaded ({str(error).splitlines()[0]}). "
            + CONVERT_HINT.replace("FILE", str(path))) from error
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise CheckpointError(f"{path} is unreadable or truncated ({error}); re-download or re-extract it") from error
    for wrapper in ("state_dict", "module", "model"):
        if isinstance(data, dict) and isinstance(data.get(wrapper), dict) and len(data) <= 3:
            data = data[wrapper]  # training checkpoints nest the weights one level down
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"{path.name} does not hold a flat name -> tensor state dict; "
                              + CONVERT_HINT.replace("FILE", str(path)))
    return data


def _safetensors_items(path: Path, shapes_only: bool) -> Iterator[tuple[str, Any]]:
    """(key, tensor) of one safetensors file, or (key, shape) from its header alone."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            for key in handle.keys():
                yield key, tuple(handle.get_slice(key).get_shape()) if shapes_only else handle.get_tensor(key)
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path} is not a readable safetensors file ({error}); "
                              "re-download or re-extract it") from error


def iter_tensors(files: list[Path], kind: str) -> Iterator[tuple[str, torch.Tensor]]:
    """Yield (official key, tensor) shard by shard so that at most one shard is in memory at a time."""
    for path in files:
        if kind == "safetensors":
            yield from _safetensors_items(path, shapes_only=False)
        else:
            yield from _torch_load(path).items()


def read_shapes(files: list[Path], kind: str) -> dict[str, tuple[int, ...]]:
    """Every tensor's shape without loading the data (safetensors headers; torch files are memory-mapped)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for path in files:
        if kind == "safetensors":
            shapes.update(_safetensors_items(path, shapes_only=True))
        else:
            shapes.update({k: tuple(v.shape) for k, v in _torch_load(path).items()})
    return shapes
