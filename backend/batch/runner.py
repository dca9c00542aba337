"""Run a batch: skip what is done, run the rest on an executor, record each item as it finishes.

The same for every executor: an item is done when its latest index record succeeded with the same
fingerprint (settings, localizer, device, inputs' hashes) and its output files exist; `force` redoes
everything. A record is appended only after the item's files were renamed into place, so Ctrl-C at
any moment leaves an index that resume can trust (see backend/batch/index.py).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from backend.batch.executors import Executor
from backend.batch.index import IndexWriter, is_complete, latest_records
from backend.batch.items import Item
from backend.batch.provenance import settings_fingerprint
from backend.batch.worker import BatchSettings


@dataclass
class BatchOutcome:
    records: list[dict[str, Any]] = field(default_factory=list)  # this run's, in finishing order
    skipped: list[str] = field(default_factory=list)  # ids already complete
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["status"] != "ok"]

    def exit_code(self) -> int:
        """0: every item done; 1: some item failed; 130: interrupted (as a shell reports Ctrl-C)."""
        return 130 if self.interrupted else (1 if self.failed else 0)


def item_fingerprint(item: Item, settings: BatchSettings) -> str:
    return settings_fingerprint({**item.settings(), "localizer": item.localizer or settings.localizer,
                                 "device": settings.device, "checkpoint_dir": settings.checkpoint_dir,
                                 "exports": sorted(settings.exports), "threshold": settings.threshold})


def plan(items: list[Item], out_dir: Path, settings: BatchSettings, force: bool = False
         ) -> tuple[list[Item], list[Item]]:
    """(to run, already complete) in list order."""
    if force:
        return list(items), []
    latest = latest_records(out_dir)
    todo, done = [], []
    for item in items:
        (done if is_complete(latest.get(item.id), item_fingerprint(item, settings), out_dir) else todo).append(item)
    return todo, done


def run_batch(items: list[Item], out_dir: Path, executor: Executor, settings: BatchSettings,
              index: IndexWriter | None, force: bool = False, show_progress: bool = True,
              on_record: Callable[[dict[str, Any], Any], None] | None = None, unit: str = "item") -> BatchOutcome:
    """Run `items` (skipping complete ones unless `force`) and append each record to `index`.

    The executor must be started; it is closed here, whatever happens. `on_record(record, bar)` is called
    after each record is stored (bar: the tqdm bar, for bar.write)."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    start = time.perf_counter()
    todo, done = plan(items, out_dir, settings, force) if index is not None else (list(items), [])
    outcome = BatchOutcome(skipped=[i.id for i in done])
    by_id = {item.id: item for item in todo}
    bar = tqdm(total=len(todo), unit=unit, file=sys.stderr, dynamic_ncols=True, disable=not show_progress,
               desc=executor.name)
    try:
        for record in executor.run(todo, out_dir):
            record["fingerprint"] = item_fingerprint(by_id[record["item"]], settings)
            record["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="microseconds")
            if index is not None:
                index.append(record)
            outcome.records.append(record)
            bar.update(1)
            bar.set_postfix_str(f"{len(outcome.failed)} failed" if outcome.failed else record["item"])
            if on_record:
                on_record(record, bar)
    except KeyboardInterrupt:
        outcome.interrupted = True
    finally:
        bar.close()
        executor.close()
    outcome.seconds = time.perf_counter() - start
    return outcome
