"""CLI commands of `python -m backend`; see backend/__main__.py."""
