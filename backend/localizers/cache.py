"""Loaded localizers kept warm between jobs (the worker's and the CLI's), least recently used first out."""
from __future__ import annotations

import gc
import logging
import sys
import time
from collections import OrderedDict
from pathlib import Path

from backend.jobs import ESTIMATE_STAGE_STARTS, JobError, Progress
from backend.localizers.base import Localizer
from backend.localizers.registry import create_localizer

log = logging.getLogger(__name__)


class LocalizerCache:
    """Loaded localizers keyed by (name, device, checkpoint_dir); the least recently used goes first."""

    def __init__(self, capacity: int = 2) -> None:
        self.capacity = max(1, capacity)
        self._items: OrderedDict[tuple[str, str, str | None], Localizer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, name: str, device: str, checkpoint_dir: str | None, progress: Progress | None = None) -> Localizer:
        """The loaded localizer, loading it (with a 'load' progress event) only on a miss."""
        checkpoint = str(Path(checkpoint_dir).resolve()) if checkpoint_dir else None
        key = (name, device, checkpoint)
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        while len(self._items) >= self.capacity:  # free the old model before loading a new one
            self._items.popitem(last=False)
            _release_memory()
        if progress:
            progress("load", ESTIMATE_STAGE_STARTS["load"], f"loading localizer {name} on {device}")
        start = time.perf_counter()
        try:
            localizer = create_localizer(name, checkpoint)
            localizer.load(device)
        except (ValueError, OSError) as error:
            if isinstance(getattr(error, "code", None), str):  # already a protocol error (device, registry)
                raise
            raise JobError("localizer_unavailable", f"localizer {name!r} could not be loaded: {error}",
                           "check its checkpoint folder (python -m backend check-checkpoint DIR) or pick "
                           "another localizer") from error
        log.info("loaded localizer %s on %s in %.2f s", name, device, time.perf_counter() - start)
        self._items[key] = localizer
        return localizer


def _release_memory() -> None:
    gc.collect()
    torch = sys.modules.get("torch")  # only when a job already imported it
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
