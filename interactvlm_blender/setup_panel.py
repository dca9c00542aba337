"""The preferences' set-up checklist: backend code, managed environment, localizers and devices (from
the last Check backend), the set-up progress, and the buttons (Set Up Backend / Repair, Check, Remove,
Log). Reads only files and cached answers: drawing never starts a process."""
from __future__ import annotations

import os
from typing import Any

from . import managed, runner


def _line(layout: Any, ok: bool, text: str) -> None:
    layout.label(text=text, icon="CHECKMARK" if ok else "ERROR")


def draw_checklist(layout: Any, prefs: Any, overrides: dict[str, str]) -> None:
    """prefs: the effective preferences (prefs.Effective); overrides: preference -> environment variable."""
    box = layout.box()
    box.label(text="Backend set-up", icon="PREFERENCES")
    found = managed.bundle()
    _line(box, found is not None, f"Backend code: {found.root}" if found is not None else
          "Backend code: not found; reinstall the extension zip (it carries backend/)")
    made = managed.status()
    if made.present:
        text = f"Environment: Python {made.python_version}, torch {made.torch}"
        _line(box, not made.stale, text + (f" (stale: {made.problem})" if made.stale else ""))
    else:
        _line(box, False, f"Environment: {made.problem}")
    python = prefs.backend_python
    if os.environ.get(overrides["backend_python"]):
        _line(box, bool(python) and os.path.isfile(python), f"Backend Python: {python} ({overrides['backend_python']})")
    elif python and python != made.python:
        _line(box, os.path.isfile(python), f"Backend Python: {python} (preference)")
    hello = managed.LAST_HELLO
    if hello:
        for row in hello.get("localizers") or []:
            ready = bool(row.get("available"))
            _line(box, ready, f"Localizer {row.get('name')}: " + ("ready" if ready else str(row.get("reason"))))
        _line(box, True, f"Devices: {', '.join(hello.get('devices') or []) or 'none reported'}")
    else:
        box.label(text="Localizers and devices: press Check backend", icon="QUESTION")
    job = runner.active_job()
    if isinstance(job, managed.EnvironmentJob):
        row = box.row()
        row.progress(factor=job.fraction, text=f"{job.stage}: {job.setup.message}")
        row.operator("interactvlm.cancel_job", text="", icon="CANCEL")
    row = box.row()
    row.operator("interactvlm.setup_backend", text="Repair" if made.present else "Set Up Backend",
                 icon="FILE_REFRESH" if made.present else "IMPORT")
    row.operator("interactvlm.check_backend", icon="CHECKMARK")
    row.operator("interactvlm.remove_backend", text="Remove", icon="TRASH")
    row.operator("interactvlm.open_setup_log", text="Log", icon="TEXT")
    if not managed.online_access() and not prefs.wheel_dir:
        box.label(text="Online access is off: allow it (System > Network) or set a Wheel folder", icon="INFO")
