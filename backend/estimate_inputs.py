"""An estimate's inputs resolved once: body, object, device and a warm localizer -> EstimateInputs.

`resolve_inputs` takes the protocol's request (the server, one job each); a caller with its own
loaded body and object (the CLI's batch, the evaluation) calls `prepare_inputs` once and runs
`backend.pipeline.estimate_image` per photo. Errors carry protocol codes: a body or object that
cannot be read is `bad_mesh` (`missing_file` when the file is gone), an absent CUDA
`device_unavailable`, a localizer that cannot load `localizer_unavailable`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from backend.bodies import load_body
from backend.bodies.base import Body
from backend.bodies.correspondence import Surface, surface_of
from backend.devices import resolve_device
from backend.jobs import JobError, Progress
from backend.localizers.base import Localizer, Query
from backend.localizers.registry import DEFAULT_LOCALIZER
from backend.meshes import MeshError, read_mesh
from backend.protocol import EstimateRequest

if TYPE_CHECKING:
    from backend.localizers.cache import LocalizerCache


@dataclass(frozen=True)
class EstimateInputs:
    """Everything an estimate needs besides the photo, loaded.

    query: what to localize (task, label, the body's parts or its placement for an object).
    surface: the surface the scores land on, in its own vertex order: the body's canonical surface
        (human tasks) or the object mesh (object_contact, parts all 0).
    localizer: loaded; localizer_name and device are reported in the summary.
    resolution: the render size in pixels.
    """

    query: Query
    surface: Surface
    localizer: Localizer
    localizer_name: str
    device: str
    resolution: int

    @property
    def on_body(self) -> bool:
        return self.query.task != "object_contact"


def prepare_inputs(task: str, label: str | None, body: Body | None,
                   object_mesh: tuple[np.ndarray, np.ndarray] | None, localizer: Localizer, localizer_name: str,
                   device: str, resolution: int, labels: tuple[str, ...] = ()) -> EstimateInputs:
    """EstimateInputs from loaded parts. body is needed for the human tasks (and optional for
    object_contact, where it gives the localizer the body's placement); object_mesh (vertices,
    faces) for object_contact; labels: the objects in the photo (binary contact = their union)."""
    on_body = task != "object_contact"
    if on_body:
        if body is None:
            raise ValueError(f"task {task} needs a body")
        surface = surface_of(body)
    else:
        if object_mesh is None:
            raise ValueError("task object_contact needs an object mesh")
        vertices, faces = object_mesh
        surface = Surface("object", vertices, faces, np.zeros(len(vertices), np.int16))
    query = Query(task=task, label=label, vertex_parts=body.parts if on_body else None,
                  body_vertices=body.vertices if body is not None and not on_body else None,
                  labels=tuple(labels), body_name=body.name if on_body else None)
    return EstimateInputs(query, surface, localizer, localizer_name, device, resolution)


def resolve_body(spec: dict | Body | None) -> Body | None:
    """The protocol's body spec loaded (an in-process caller's loaded Body is used as it is)."""
    if spec is None or isinstance(spec, Body):
        return spec
    try:
        return load_body(spec)
    except MeshError:  # names the body mesh file already
        raise
    except FileNotFoundError as error:
        raise JobError("missing_file", str(error), "check the body path") from error
    except ValueError as error:
        raise JobError("bad_mesh", f"body: {error}",
                       "send vertices (N,3) float32 and faces (F,3) int32 of a triangulated mesh") from error


def resolve_inputs(request: EstimateRequest, cache: LocalizerCache, progress: Progress | None = None) -> EstimateInputs:
    """The request's body, object mesh (the protocol's npz), device and localizer, loaded."""
    body = resolve_body(request.body)
    object_mesh = None
    if request.object is not None and "npz" in request.object:
        mesh = read_mesh(request.object["npz"], "object mesh")
        object_mesh = (mesh.vertices, mesh.faces)
    elif request.object is not None:  # an in-process caller's checked arrays (the batch worker)
        object_mesh = (request.object["vertices"], request.object["faces"])
    device = resolve_device(request.device)
    name = request.localizer or DEFAULT_LOCALIZER
    localizer = cache.get(name, device, request.checkpoint_dir, progress)
    localizer.use_data_dir(request.data_dir)
    return prepare_inputs(request.task, request.label, body, object_mesh, localizer, name, device, request.resolution,
                          request.labels)
