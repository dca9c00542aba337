"""Localizer names -> factories, and which of them can run here.

A factory is `factory(checkpoint_dir: str | None) -> Localizer` (not yet loaded). Built-in
factories import their module only when called, so listing localizers stays cheap (no torch).

Test hook: the environment variable INTERACTVLM_EXTRA_LOCALIZERS names extra modules (comma-separated,
e.g. `tests.testing_localizers`); each defines `LOCALIZERS: dict[name, factory]`. Production code
ships no such module; the tests use it to run the server without model weights.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from pathlib import Path
from typing import Any, Callable

from backend.localizers.base import Localizer

log = logging.getLogger(__name__)

DEFAULT_LOCALIZER = "default"
EXTRA_ENV = "INTERACTVLM_EXTRA_LOCALIZERS"

Factory = Callable[[str | None], Localizer]


class LocalizerUnavailable(ValueError):
    code = "localizer_unavailable"

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _module_present(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _default(checkpoint_dir: str | None) -> Localizer:
    from backend.localizers.default import create

    return create()


# Packages a localizer imports at load time: a Python without them (not the project's environment)
# is told so by `hello` instead of failing mid-job.
_NEEDS = {"default": ("numpy", "torch", "PIL", "mediapipe"),
          "interactvlm": ("numpy", "torch", "PIL", "transformers", "safetensors")}
_ENV_HINT = "use the project's environment (.venv/bin/python, made by `python build.py setup`)"


def _missing_packages(name: str) -> str | None:
    missing = [package for package in _NEEDS[name] if not _module_present(package)]
    return f"this Python lacks {', '.join(missing)}: {_ENV_HINT}" if missing else None


def _default_unavailable(checkpoint_dir: str | None) -> str | None:
    if not _module_present("backend.localizers.default"):
        return "the embedded default localizer (backend/localizers/default) is not installed in this backend"
    return _missing_packages("default")


def _interactvlm(checkpoint_dir: str | None) -> Localizer:
    from backend.localizers.interactvlm import InteractVLMLocalizer

    return InteractVLMLocalizer(checkpoint_dir)


def _interactvlm_unavailable(checkpoint_dir: str | None) -> str | None:
    if not _module_present("backend.localizers.interactvlm"):
        return "the interactvlm localizer is not installed in this backend"
    if not checkpoint_dir:
        return ("needs checkpoint_dir: the folder with the official InteractVLM weights (the add-on's "
                "preference 'InteractVLM Checkpoint Folder', or --checkpoint-dir on the command line)")
    if not Path(checkpoint_dir).is_dir():
        return f"checkpoint_dir {checkpoint_dir} is not a folder"
    return _missing_packages("interactvlm")


# name -> (factory, reason-it-cannot-run-or-None); the second is cheap (no weight loading).
_BUILTIN: dict[str, tuple[Factory, Callable[[str | None], str | None]]] = {
    "default": (_default, _default_unavailable),
    "interactvlm": (_interactvlm, _interactvlm_unavailable),
}


def _extra() -> dict[str, Factory]:
    """Localizers from the modules named in INTERACTVLM_EXTRA_LOCALIZERS (tests only)."""
    found: dict[str, Factory] = {}
    for module_name in filter(None, (m.strip() for m in os.environ.get(EXTRA_ENV, "").split(","))):
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            log.warning("%s names %s, which cannot be imported: %s", EXTRA_ENV, module_name, error)
            continue
        found.update(getattr(module, "LOCALIZERS", {}))
    return found


def localizer_names() -> list[str]:
    return [*_BUILTIN, *(n for n in _extra() if n not in _BUILTIN)]


def unavailable_reason(name: str, checkpoint_dir: str | None = None) -> str | None:
    """None when `name` can be created here, else why not (unknown names included)."""
    if name in _BUILTIN:
        return _BUILTIN[name][1](checkpoint_dir)
    if name in _extra():
        return None
    return f"unknown localizer {name!r}; known: {', '.join(localizer_names())}"


def available_localizers(checkpoint_dir: str | None = None) -> list[dict[str, Any]]:
    """[{"name", "available", "reason"}] for every registered localizer (the `hello` event's list)."""
    rows = []
    for name in localizer_names():
        reason = unavailable_reason(name, checkpoint_dir)
        rows.append({"name": name, "available": reason is None, "reason": reason or ""})
    return rows


def require_localizer(name: str, checkpoint_dir: str | None = None) -> None:
    """LocalizerUnavailable (why `name` cannot run, and which can) unless it can be created here."""
    reason = unavailable_reason(name, checkpoint_dir)
    if reason is not None:
        usable = [row["name"] for row in available_localizers(checkpoint_dir) if row["available"]]
        raise LocalizerUnavailable(f"localizer {name!r} cannot run: {reason}",
                                   f"choose one of: {', '.join(usable) or 'none available'}")


def create_localizer(name: str | None = None, checkpoint_dir: str | None = None) -> Localizer:
    """A new (unloaded) localizer; LocalizerUnavailable names why it cannot run and what to do."""
    name = name or DEFAULT_LOCALIZER
    require_localizer(name, checkpoint_dir)
    factory = _BUILTIN[name][0] if name in _BUILTIN else _extra()[name]
    return factory(checkpoint_dir)
