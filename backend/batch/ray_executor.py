"""Ray as the batch engine: one long-lived actor per worker slot, each a warm Worker.

Imported only for `--executor ray` (ray is an optional extra of the backend, never in Blender's
managed environment). Without an address it starts a private local Ray instance (usage stats and the
dashboard off); with one it joins that cluster as a driver and leaves it running afterwards.

Assumptions on a cluster: every node runs the same Python environment with this backend importable
(the driver passes its PYTHONPATH and INTERACTVLM_EXTRA_LOCALIZERS to the actors), and every node sees the
batch list's inputs and the output folder at the same absolute paths (a shared file system: NFS, SMB,
Lustre...). Only items and records travel through Ray; arrays are read and written as files.

Each actor holds `threads` CPUs (torch.set_num_threads(threads) inside it, so actors do not
oversubscribe cores) or, with gpus=True, one GPU (num_gpus=1). Actors get at most one item at a time,
so a slow item never queues others behind it. An actor that dies (killed, OOM, a lost node) is replaced
by a new one and its item is retried up to `retries` times; then the item fails with code `internal`.
"""
from __future__ import annotations

import os
import sys
from collections import deque
from pathlib import Path
from typing import Any, Iterator

from backend.batch.items import Item
from backend.batch.worker import BatchSettings, Worker

_FORWARDED_ENV = ("INTERACTVLM_EXTRA_LOCALIZERS",)


def _import_ray():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # before ray's import: it reads it at start-up
    try:
        import ray
    except ImportError as error:
        raise RuntimeError("--executor ray needs the ray package in this environment: "
                           "pip install -r requirements.txt (ray is pinned there), or use --executor local") from error
    return ray


class _ActorBody:
    """What each Ray actor runs: a Worker built once, then items one at a time."""

    def __init__(self, settings: dict[str, Any]) -> None:
        settings = dict(settings, exports=tuple(settings["exports"]))
        self.worker = Worker(BatchSettings(**settings), "ray")

    def warm(self) -> dict[str, Any]:
        return self.worker.warm()

    def run(self, item: dict[str, Any], out_dir: str) -> dict[str, Any]:
        return self.worker.run(Item.from_dict(item), out_dir)


class RayExecutor:
    name = "ray"

    def __init__(self, settings: BatchSettings, address: str | None = None, workers: int | None = None,
                 gpus: bool = False, retries: int = 2, local_cpus: int | None = None) -> None:
        self.settings = settings if settings.threads else BatchSettings(**{**settings.to_dict(), "threads": 1,
                                                                           "exports": settings.exports})
        self.address, self.gpus, self.retries = address, gpus, retries
        self.requested = workers
        self.local_cpus = local_cpus
        self.actors: list[Any] = []
        self.identities: list[dict[str, Any]] = []
        self._ray = None
        self._started_ray = False

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        ray = self._ray = _import_ray()
        runtime_env = {"env_vars": self._env()}
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, runtime_env=runtime_env, logging_level="WARNING",
                         log_to_driver=False)
            else:
                cpus = self.local_cpus or (self.requested * self.settings.threads if self.requested
                                           else os.cpu_count() or 1)
                ray.init(num_cpus=cpus, num_gpus=None if self.gpus else 0, include_dashboard=False,
                         runtime_env=runtime_env, logging_level="WARNING", log_to_driver=False)
            self._started_ray = True
        self._actor_class = ray.remote(_ActorBody)
        count = self.requested or self._slots()
        if count < 1:
            raise RuntimeError(f"the Ray cluster has no free {'GPU' if self.gpus else 'CPU'} slot of "
                               f"{self.settings.threads} CPU(s); lower --threads or add workers")
        self.actors = [self._new_actor() for _ in range(count)]
        self.identities = ray.get([actor.warm.remote() for actor in self.actors])

    def _env(self) -> dict[str, str]:
        root = str(Path(__file__).resolve().parents[2])  # the folder that holds the backend package
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH", "")]))
        env = {"PYTHONPATH": path, "RAY_USAGE_STATS_ENABLED": "0", "OMP_NUM_THREADS": str(self.settings.threads)}
        env.update({k: os.environ[k] for k in _FORWARDED_ENV if k in os.environ})
        return env

    def _slots(self) -> int:
        resources = self._ray.available_resources()
        if self.gpus:
            return int(resources.get("GPU", 0))
        return int(resources.get("CPU", 0) // self.settings.threads)

    def _new_actor(self):
        options = {"num_cpus": self.settings.threads, "max_restarts": 0, "max_task_retries": 0}
        if self.gpus:
            options["num_gpus"] = 1
        return self._actor_class.options(**options).remote(self.settings.to_dict())

    def actor_pids(self) -> list[int]:
        """Process ids of the actors as started (tests kill one to show that the batch survives)."""
        return [identity["pid"] for identity in self.identities]

    def close(self) -> None:
        if self._ray is None:
            return
        for actor in self.actors:
            try:
                self._ray.kill(actor)
            except Exception:  # noqa: BLE001 - already dead
                pass
        self.actors = []
        if self._started_ray:
            self._ray.shutdown()  # a cluster we joined keeps running; a local instance stops
            self._started_ray = False

    # -- scheduling -------------------------------------------------------------------------------------
    def run(self, items: list[Item], out_dir: Path) -> Iterator[dict[str, Any]]:
        ray = self._ray
        from ray.exceptions import GetTimeoutError, RayActorError  # noqa: F401 (ActorDiedError is a subclass)

        queue = deque(items)
        attempts = {item.id: 0 for item in items}
        idle = list(self.actors)
        running: dict[Any, tuple[Any, Item]] = {}  # object ref -> (actor, item)
        while queue or running:
            while queue and idle:
                actor, item = idle.pop(), queue.popleft()
                attempts[item.id] += 1
                ref = actor.run.remote(_item_dict(item), str(out_dir))
                running[ref] = (actor, item)
            ready, _ = ray.wait(list(running), num_returns=1)
            ref = ready[0]
            actor, item = running.pop(ref)
            try:
                record = ray.get(ref)
            except RayActorError as error:
                replacement = self._replace(actor)
                if replacement is not None:
                    idle.append(replacement)
                if attempts[item.id] <= self.retries:
                    queue.appendleft(item)
                    print(f"batch: a Ray worker died while running {item.id} ({type(error).__name__}); "
                          f"retrying it (attempt {attempts[item.id] + 1})", file=sys.stderr)
                    continue
                record = _died_record(item, attempts[item.id], error)
            except Exception as error:  # noqa: BLE001 - a task error is this item's failure
                idle.append(actor)
                record = _died_record(item, attempts[item.id], error, died=False)
            else:
                idle.append(actor)
            record["attempts"] = attempts[item.id]
            yield record
            if not idle and not running and queue:
                raise RuntimeError("every Ray worker died and none could be replaced; see the Ray logs")

    def _replace(self, dead) -> Any:
        """A warm actor in place of a dead one (None when the cluster cannot place one now)."""
        self.actors = [a for a in self.actors if a is not dead]
        try:
            actor = self._new_actor()
            self._ray.get(actor.warm.remote(), timeout=600)
        except Exception as error:  # noqa: BLE001
            print(f"batch: could not start a replacement Ray worker: {error}", file=sys.stderr)
            return None
        self.actors.append(actor)
        return actor


def _item_dict(item: Item) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(item)


def _died_record(item: Item, attempts: int, error: BaseException, died: bool = True) -> dict[str, Any]:
    message = (f"the Ray worker running this item died {attempts} time(s): {type(error).__name__}: {error}"
               if died else f"{type(error).__name__}: {error}")
    return {"item": item.id, "settings": item.settings(), "status": "failed", "outputs": [],
            "contact_vertices": None, "n_vertices": None, "parts": [], "warnings": [], "timings": {},
            "provenance": None, "worker": {"executor": "ray"},
            "error": {"code": "internal", "message": message,
                      "hint": "see the Ray logs (ray logs, or /tmp/ray/session_latest/logs); re-run to retry"}}
