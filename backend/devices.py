"""Device selection: 'auto' | 'cpu' | 'cuda' -> the torch device a job runs on.

torch is imported lazily (only when a device is resolved) so the server starts fast.
"""
from __future__ import annotations

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


class DeviceUnavailable(ValueError):
    """An explicitly requested device is absent; `hint` says what to do."""

    code = "device_unavailable"

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def available_devices() -> list[str]:
    """The concrete devices this process can run on, CPU first."""
    return ["cpu", "cuda"] if cuda_available() else ["cpu"]


def resolve_device(requested: str = "auto") -> str:
    """'auto' -> cuda when present else cpu; 'cpu' -> cpu; 'cuda' -> cuda or DeviceUnavailable."""
    if requested not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {requested!r}")
    if requested == "cpu":
        return "cpu"
    present = cuda_available()
    if requested == "cuda" and not present:
        import torch

        build = f"torch {torch.__version__}" + ("" if torch.version.cuda else " (a CPU-only build)")
        raise DeviceUnavailable(
            f"device 'cuda' was requested but no CUDA GPU is usable ({build})",
            "choose device 'auto' or 'cpu', or install a CUDA build of torch on a machine with an NVIDIA GPU",
        )
    return "cuda" if present else "cpu"
