"""Executors run items and yield their records as they finish; the runner owns the index and resume.

An executor has `start()` (warm its workers; an exception means the batch cannot start), `run(items,
out_dir)` (an iterator of records, in any order), `close()` (always called, Ctrl-C included) and
`name`. LocalExecutor is one warm Worker in this process; RayExecutor (backend/batch/ray_executor.py,
imported only for `--executor ray`) is one Worker per Ray actor.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Protocol

from backend.batch.items import Item
from backend.batch.worker import BatchSettings, Worker


class Executor(Protocol):
    name: str

    def start(self) -> None: ...

    def run(self, items: list[Item], out_dir: Path) -> Iterator[dict[str, Any]]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """One warm worker in this process, items in list order."""

    name = "local"

    def __init__(self, settings: BatchSettings, worker: Worker | None = None) -> None:
        self.settings, self.worker = settings, worker

    def start(self) -> None:
        if self.worker is None:
            self.worker = Worker(self.settings, "local")
        self.worker.warm()

    def run(self, items: list[Item], out_dir: Path) -> Iterator[dict[str, Any]]:
        for item in items:
            record = self.worker.run(item, out_dir)
            record["attempts"] = 1
            yield record

    def close(self) -> None:
        pass


def make_executor(name: str, settings: BatchSettings, address: str | None = None, workers: int | None = None,
                  gpus: bool = False, retries: int = 2) -> Executor:
    """The executor a command line asks for (Ray is imported only here, only when asked for)."""
    if name == "local":
        return LocalExecutor(settings)
    if name == "ray":
        from backend.batch.ray_executor import RayExecutor

        return RayExecutor(settings, address=address, workers=workers, gpus=gpus, retries=retries)
    raise ValueError(f"unknown executor {name!r}; use local or ray")
