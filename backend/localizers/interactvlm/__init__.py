"""InteractVLM (CVPR 2025) MV-Loc from an official checkpoint folder, as the `interactvlm` localizer."""
from __future__ import annotations

from pathlib import Path

from backend.localizers.interactvlm.config import CheckpointError
from backend.localizers.interactvlm.loader import CheckpointReport, build_skeleton
from backend.localizers.interactvlm.localizer import InteractVLMLocalizer

__all__ = ["CheckpointError", "CheckpointReport", "InteractVLMLocalizer", "build_skeleton", "inspect_checkpoint"]


def inspect_checkpoint(folder: str | Path, vision_tower: str | Path | None = None) -> CheckpointReport:
    """Check a folder without loading its weights (headers and shapes only)."""
    return build_skeleton(folder, vision_tower)[1]
