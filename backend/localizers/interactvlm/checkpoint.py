"""Find, inspect and safely read the weight files of an InteractVLM checkpoint folder.

Only safetensors and `torch.load(weights_only=True)` are used. A shard that cannot be loaded that way is refused,
and the message says which of two things it is, read without unpickling it (backend.safe_pickle): a damaged file
(re-download it), or a pickle that references code, with the globals it would import named (do not load it; get
the official file). No message ever suggests a command that unpickles the file.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any, Iterator

import torch

from backend.localizers.interactvlm.config import CheckpointError
from backend.safe_pickle import PickleFormatError, pickle_globals

_SAFE_INDEX = "model.safetensors.index.json"
_BIN_INDEX = "pytorch_model.bin.index.json"

REDOWNLOAD = "re-download or re-extract it from the official release"


def _shard_paths(index: Path, weight_map: Any) -> list[Path]:
    """The shard files an index names, each confined to the index's folder: an entry such as
    `../elsewhere/x.bin` or an absolute path is refused, never opened."""
    folder = index.parent.resolve()
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) and v for v in weight_map.values()):
        raise CheckpointError(f"{index} is not a valid shard index (weight_map must map names to file names); "
                              "re-extract the archive")
    shards = []
    for name in sorted(set(weight_map.values())):
        path = (folder / name).resolve()
        if Path(name).is_absolute() or path.parent != folder:
            raise CheckpointError(f"{index.name} names the shard {name!r}, which is not a file in the checkpoint "
                                  f"folder {folder}; it was not opened. Shard names must be plain file names; "
                                  "re-extract the official archive")
        shards.append(folder / name)
    return shards


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
            shards = _shard_paths(index, weight_map)
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


# Globals of a plain tensor state dict as torch.save writes it (checked against torch 2.13's output): they are
# not named as "code" in the refusal message.
_TENSOR_MODULES = ("torch._utils", "torch", "torch.storage", "collections")


def _is_tensor_global(name: str) -> bool:
    module, _, attr = name.rpartition(".")
    if module not in _TENSOR_MODULES:
        return False
    if module == "collections":
        return attr == "OrderedDict"
    if module == "torch._utils":
        return attr.startswith("_rebuild_")
    return attr.endswith("Storage") or attr in ("Size", "device") or isinstance(getattr(torch, attr, None),
                                                                              torch.dtype)


def _refusal(path: Path) -> CheckpointError:
    """Why weights_only=True could not load `path`: damaged, or a pickle that references code (named)."""
    try:
        names, damage = pickle_globals(path), ""
    except PickleFormatError as error:
        names, damage = error.globals_seen, str(error)
    # Random bytes can decode as a GLOBAL opcode with a garbage name; only real dotted names count as code.
    code = [n for n in names if all(p.isidentifier() for p in n.split(".")) and not _is_tensor_global(n)]
    if code:
        return CheckpointError(
            f"{path} cannot be loaded safely: it is a pickle that needs full unpickling and it references code, "
            f"not only tensors: {', '.join(code[:8])}{' ...' if len(code) > 8 else ''}. Unpickling it would import "
            "and could run that code, so it was not loaded. Do not load this file; re-download it from the official "
            "source (a file from a source you trust holds only tensors; a .safetensors release is read directly)")
    if damage:
        return CheckpointError(f"{path} is unreadable or truncated (not a complete torch checkpoint: {damage}); "
                               + REDOWNLOAD)
    return CheckpointError(f"{path} is unreadable or truncated (its tensors could not be read although it names "
                           "no code); " + REDOWNLOAD)


def _torch_load(path: Path) -> dict[str, torch.Tensor]:
    try:
        try:
            data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as error:
            if "mmap" not in str(error):
                raise
            data = torch.load(path, map_location="cpu", weights_only=True)  # legacy (non-zip) format
    except pickle.UnpicklingError as error:
        # torch's own error text suggests disabling weights_only, which would run a planted payload: never shown.
        raise _refusal(path) from error
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        reason = str(error).splitlines()[0] if "weights_only" not in str(error) else type(error).__name__
        raise CheckpointError(f"{path} is unreadable or truncated ({reason}); {REDOWNLOAD}") from error
    for wrapper in ("state_dict", "module", "model"):
        if isinstance(data, dict) and isinstance(data.get(wrapper), dict) and len(data) <= 3:
            data = data[wrapper]  # training checkpoints nest the weights one level down
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"{path.name} does not hold a flat name -> tensor state dict (it is not a weights "
                              f"file of the official release); {REDOWNLOAD}")
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
