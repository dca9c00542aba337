"""Drop the start-up chatter that MediaPipe's native code (absl logging, TF-Lite) writes straight to file
descriptor 2, which no Python logging setting reaches; every other line passes unchanged.

Measured with mediapipe 0.10.21 (one CLI estimate with the default localizer): per run one TF-Lite
"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", one absl "WARNING: All log messages before
absl::InitializeLog() ..." and one "W0000 ... Feedback manager requires a model with a single signature ..."
per model graph (4). `--verbose` (estimate, serve) keeps them.

How: fd 2 becomes a pipe read by a thread that forwards the lines that are not noise to the real stderr;
Python's own sys.stderr is pointed at the real stderr directly, so tracebacks, logging and progress bars
(which redraw with \\r, no newline) are never held back.
"""
from __future__ import annotations

import os
import re
import sys
import threading

# absl's prefix: severity (I info, W warning; E and F are kept), MMDD, a time (before absl::InitializeLog it
# reads "00:00:<epoch seconds>"), thread id, file:line]
_NOISE = re.compile(rb"^(?:[IW]\d{4} [\d:.]+\s+\d+ [^\]]+\] "
                    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
                    rb"|INFO: Created TensorFlow Lite )")


class NativeNoiseFilter:
    """Installed by `install()`; `close()` forwards what is left and restores fd 2."""

    def __init__(self) -> None:
        sys.stderr.flush()
        self._real = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self._read_end = read_end
        sys.stderr = os.fdopen(os.dup(self._real), "w", buffering=1, encoding="utf-8", errors="backslashreplace")
        self.dropped = 0
        self._thread = threading.Thread(target=self._pump, name="native-noise-filter", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        with os.fdopen(self._read_end, "rb", buffering=0) as pipe:
            pending = b""
            while chunk := pipe.read(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                self._forward(lines)
            if pending:
                self._forward([pending])

    def _forward(self, lines: list[bytes]) -> None:
        kept = [line for line in lines if not _NOISE.match(line)]
        self.dropped += len(lines) - len(kept)
        if kept:
            os.write(self._real, b"".join(line + b"\n" for line in kept))

    def close(self, fds: tuple[int, ...] = (2,), timeout: float = 2.0) -> None:
        """Point `fds` (every descriptor that writes into the pipe: 2, and 1 where serve redirected it) back at
        the real stderr, which closes the pipe, and forward what is still in it."""
        for fd in fds:
            os.dup2(self._real, fd)
        self._thread.join(timeout)


def install() -> NativeNoiseFilter:
    """Filter fd 2 from now on (call before MediaPipe is imported; fds dup'ed from 2 later inherit it)."""
    return NativeNoiseFilter()
