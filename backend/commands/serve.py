"""`python -m backend serve`: the stdio JSON-lines worker used by the Blender extension.

Stdout carries protocol lines only: at start the real stdout is kept privately and file
descriptor 1 is pointed at stderr, so stray prints of libraries (Python or C) land in the log.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="stderr log verbosity (default INFO)")
    parser.add_argument("--verbose", action="store_true",
                        help="keep MediaPipe/absl/TF-Lite native start-up chatter in the log (dropped by default)")


def run(args: argparse.Namespace) -> int:
    sys.stdout.flush()
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n", buffering=1)
    from backend.native_noise import install

    noise = None if args.verbose else install()
    os.dup2(2, 1)  # anything else written to fd 1 (prints, C libraries) goes to the log
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, level=args.log_level,
                        format="%(asctime)s backend %(levelname)s %(name)s: %(message)s")
    from backend.server import Server

    server = Server(protocol_out)
    logging.getLogger("backend.server").info("serving on stdio (pid %d)", os.getpid())
    status = server.serve(sys.stdin.buffer)
    # os._exit runs no `finally`: a result being written is finished first (bounded), and any temporary
    # file still open is removed, so nothing partial stays in the client's folder.
    from backend.pending_files import remove_all

    server.wait_for_write()
    for path in remove_all():
        logging.getLogger("backend.server").info("removed the unfinished %s", path)
    protocol_out.flush()
    sys.stderr.flush()
    if noise is not None:
        noise.close(fds=(1, 2), timeout=0.5)
    # A job may still be inside a long C call (torch); do not wait for it: the client is gone.
    os._exit(status)
