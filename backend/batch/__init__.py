"""Batches of estimates: lists of items, an append-only index, resume, shards, local and Ray executors.

- items.py: read a CSV / JSON-lines batch list into Items; ids; shards.
- index.py: the index (JSON lines, one record per finished item), resume's "is it complete".
- provenance.py: how a result was made (localizer, checkpoint / data hashes, version, settings).
- adapter.py: the one place that calls the pipeline (run_estimate) and the mesh loaders.
- worker.py: a warm Worker (localizer loaded once) that turns an Item into result files and a record.
- executors.py: the executor interface and the local executor; ray_executor.py: Ray actors (optional).
- runner.py: skip what is complete, run the rest, append each record; Ctrl-C leaves the index consistent.

Used by `python -m backend batch` and `python -m backend estimate --images` (backend/commands/).
"""
