"""`python -m backend <command> ...`: one entry point, each command in its own module.

Each command module under backend/commands/ defines `add_arguments(parser)` and `run(args) -> int`;
a CommandError it raises becomes `COMMAND: error: MESSAGE` on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from backend.commands import CommandError

# command name -> (module under backend.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "run the main job on the embedded default and write demo_out/"),
    "serve": ("serve", "stdio JSON-lines worker used by the Blender extension"),
    "estimate": ("estimate", "estimate contact for one image or a folder of images"),
    "batch": ("batch", "run a batch list (CSV / JSON lines) with an index, resume, shards, Ray"),
    "export": ("export", "write a result as PLY with per-vertex contact, or results as a DAMON-style npz"),
    "evaluate": ("evaluate", "evaluate a localizer on DAMON or a synthetic set"),
    "synth": ("synth", "generate a synthetic closed-loop benchmark set with Blender"),
    "check-checkpoint": ("check_checkpoint", "check an InteractVLM checkpoint folder"),
    "scene-contact": ("scene_contact", "exact body/object contact from mesh proximity"),
    "place": ("place", "move an object so its contact region meets the body's"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        modules[name] = importlib.import_module(f"backend.commands.{module_name}")
        modules[name].add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except CommandError as error:
        print(f"{args.command}: error: {error}", file=sys.stderr)
        return 2
    except (FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError) as error:
        # e.g. --out naming an existing file: one line that names the path, not a traceback
        print(f"{args.command}: error: {error.strerror or error}: {error.filename}; "
              "choose a folder path you can write to (it is created if missing)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
