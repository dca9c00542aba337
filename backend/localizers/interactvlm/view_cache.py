"""SAM image embeddings of fixed views, computed once and kept (memory, and disk as safetensors).

The official human views are the same four images for every photo, so their SAM embeddings are too: only the
photo's CLIP pass, the LLM up to [SEG] and the mask decoder need to run per photo (the official code recomputes
the ViT-H encoder on all four 1024 x 1024 views every time). The key is the images' sha256 together with the
checkpoint's identity, the SAM input size and the dtype. The checkpoint's identity is its weight files' names,
sizes and modification times, not their sha256: hashing a 13B checkpoint (~26 GB) would cost minutes per load.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

import torch


def checkpoint_identity(files: list[Path]) -> str:
    """A cheap identity of a checkpoint: sha256 over its weight files' (name, size, mtime_ns)."""
    digest = hashlib.sha256()
    for path in sorted(Path(f) for f in files):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


class ViewEmbeddingCache:
    """Embeddings keyed by (checkpoint identity, images sha256, SAM size, dtype); `computed` counts encoder runs."""

    def __init__(self, checkpoint_key: str, folder: Path | None = None) -> None:
        from backend.bodies.anny_body import cache_dir

        self.checkpoint_key = checkpoint_key
        self.folder = Path(folder) if folder is not None else cache_dir() / "view-embeddings"
        self.memory: dict[str, torch.Tensor] = {}
        self.computed = 0

    def key(self, images_sha256: str, sam_size: int, dtype: torch.dtype) -> str:
        text = f"{self.checkpoint_key}|{images_sha256}|{sam_size}|{dtype}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def get(self, images_sha256: str, sam_size: int, dtype: torch.dtype, device: str,
            compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The (V,C,g,g) embeddings on `device`: from memory, else disk, else `compute()` (then stored)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file, save_file

        key = self.key(images_sha256, sam_size, dtype)
        if key in self.memory:
            return self.memory[key]
        path = self.folder / f"{key}.safetensors"
        embeds = None
        if path.is_file():
            try:
                embeds = load_file(str(path))["embeddings"].to(device=device, dtype=dtype)
            except (OSError, KeyError, SafetensorError, RuntimeError):
                embeds = None  # a damaged cache file is recomputed and replaced
        if embeds is None:
            embeds = compute()
            self.computed += 1
            self.folder.mkdir(parents=True, exist_ok=True)
            temp = path.with_suffix(f".{os.getpid()}.tmp")
            save_file({"embeddings": embeds.detach().cpu().contiguous()}, str(temp))
            os.replace(temp, path)
        self.memory[key] = embeds
        return embeds
