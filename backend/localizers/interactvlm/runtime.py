"""Device, precision and memory decisions for running the model."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

log = logging.getLogger(__name__)

# Activations, the KV cache, SAM ViT windows and allocator slack on top of the weights (measured headroom
# for the tiny model is larger in relative terms, but absolute numbers there are negligible).
MEMORY_OVERHEAD = 1.25
MIN_OVERHEAD_BYTES = 512 * 1024 * 1024


class InsufficientMemory(MemoryError, ValueError):
    """The model does not fit: a MemoryError that callers treating bad requests as ValueError also catch."""


@dataclass(frozen=True)
class Placement:
    device: str
    dtype: torch.dtype
    warning: str | None = None


def mem_available_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """MemAvailable from /proc/meminfo, None where that file does not exist (non-Linux)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def required_bytes(n_parameters: int, dtype: torch.dtype) -> int:
    per = torch.empty(0, dtype=dtype).element_size()
    return int(n_parameters * per * MEMORY_OVERHEAD) + MIN_OVERHEAD_BYTES


def choose(requested: str, n_parameters: int, available: int | None = None) -> Placement:
    """cuda -> bf16 (fp16 where bf16 is unsupported); cpu -> fp32, refused when RAM is too small."""
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {requested!r}")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but torch sees no CUDA GPU; use device 'cpu' or 'auto'")
    if requested in ("auto", "cuda") and torch.cuda.is_available():
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        need = required_bytes(n_parameters, dtype)
        free, _ = torch.cuda.mem_get_info()
        if need > free:
            raise InsufficientMemory(
                f"the model needs about {need / 2**30:.1f} GiB of GPU memory in {dtype}, the GPU has "
                f"{free / 2**30:.1f} GiB free; close other GPU programs or use a larger GPU")
        return Placement("cuda", dtype)
    dtype = torch.float32  # CPU bf16 matmuls are slow or unsupported on many CPUs; fp32 is the safe choice
    need = required_bytes(n_parameters, dtype)
    available = mem_available_bytes() if available is None else available
    if available is not None and need > available:
        raise InsufficientMemory(
            f"running InteractVLM on the CPU needs about {need / 2**30:.1f} GiB of RAM in float32 "
            f"({n_parameters / 1e9:.2f} B parameters) but only {available / 2**30:.1f} GiB is available; "
            "use a CUDA GPU (about 30 GiB in bf16 for the 13B model) or the embedded default localizer")
    warning = None
    if n_parameters > 1e9:
        warning = (f"InteractVLM runs on the CPU in float32: {n_parameters / 1e9:.1f} B parameters, about "
                   f"{need / 2**30:.0f} GiB of RAM; one estimate takes many minutes (13B LLM decoding + SAM ViT-H "
                   "on 4 views). A CUDA GPU is strongly recommended.")
        log.warning(warning)
    return Placement("cpu", dtype, warning)
