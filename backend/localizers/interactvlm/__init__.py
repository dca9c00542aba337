"""InteractVLM (CVPR 2025) MV-Loc from an official checkpoint folder, as the `interactvlm` localizer."""
from backend.localizers.interactvlm.config import CheckpointError
from backend.localizers.interactvlm.loader import CheckpointReport, build_skeleton
from backend.localizers.interactvlm.localizer import InteractVLMLocalizer

__all__ = ["CheckpointError", "CheckpointReport", "InteractVLMLocalizer", "build_skeleton", "inspect_checkpoint"]


def inspect_checkpoint(folder, vision_tower=None) -> CheckpointReport:
    """Check a folder without loading its weights (headers and shapes only)."""
    return build_skeleton(folder, vision_tower)[1]
