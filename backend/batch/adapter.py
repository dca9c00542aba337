"""The one place where the batch machinery calls the pipeline and the mesh loaders.

Everything else in backend/batch/ goes through these three functions, so a change of the pipeline's
entry points (e.g. run_estimate split into resolving inputs and an estimate over arrays) is merged here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from backend.bodies.base import Body
from backend.jobs import JobError, JobResult
from backend.localizers.cache import LocalizerCache
from backend.pipeline import run_estimate
from backend.protocol import EstimateRequest


def estimate_item(request: EstimateRequest, cache: LocalizerCache, out_path: Path) -> JobResult:
    """Run one estimate (body already loaded, object as arrays) and write `out_path`."""
    return run_estimate(request, cache, out_path)


def load_item_body(spec: str, gender: str) -> Body:
    """`anny`, `smplx:DIR` or a mesh file -> a loaded Body; JobError (missing_file / bad_mesh) otherwise."""
    from backend.bodies import load_body
    from backend.meshes import read_mesh_file

    try:
        if spec == "anny":
            return load_body({"source": "anny"})
        if spec.startswith("smplx:"):
            model_dir = Path(spec.split(":", 1)[1])
            if not model_dir.is_dir():
                raise JobError("missing_file", f"SMPL-X model folder {model_dir} does not exist",
                               "give smplx:DIR with the folder that holds SMPLX_NEUTRAL.npz")
            return load_body({"source": "smplx", "model_dir": str(model_dir), "gender": gender})
        return load_body({"source": "mesh", **read_mesh_file(spec, "body mesh")})
    except FileNotFoundError as error:
        raise JobError("missing_file", f"body: {error}",
                       "body must be 'anny', 'smplx:DIR' or an existing mesh file (.obj/.ply/.glb/.npz)") from error
    except ValueError as error:
        raise JobError("bad_mesh", f"body: {error}", "use a triangulated mesh file, Z up, facing -Y") from error


def load_item_object(path: str) -> dict[str, np.ndarray]:
    """An object mesh file -> {"vertices", "faces"} checked arrays; JobError otherwise."""
    from backend.meshes import read_mesh

    try:
        mesh = read_mesh(path, "object mesh", any_format=True)
    except FileNotFoundError as error:
        raise JobError("missing_file", f"object: {error}", "check the object column's path") from error
    except ValueError as error:
        raise JobError("bad_mesh", f"object: {error}", "use a triangulated mesh file (.obj/.ply/.glb/.npz)") from error
    return {"vertices": mesh.vertices, "faces": mesh.faces}


def request_for(item: Any, out_dir: Path, body: Body | None, obj: dict[str, np.ndarray] | None, localizer: str,
                device: str, checkpoint_dir: str | None, data_dir: str | None = None) -> EstimateRequest:
    """The pipeline's request for one batch item (backend.batch.items.Item)."""
    return EstimateRequest(image=item.image, out_dir=str(out_dir), task=item.task, label=item.label, body=body,
                           object=obj, localizer=localizer, device=device, resolution=item.resolution,
                           checkpoint_dir=checkpoint_dir, labels=tuple(item.labels), data_dir=data_dir)
