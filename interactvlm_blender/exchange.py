"""Results in and out of Blender: glTF export with the scores, and importing a result npz.

glTF: custom vertex attributes must start with `_` (glTF 2.0, 3.7.2.1), and Blender 5.0's exporter
(io_scene_gltf2/blender/exp/primitive_extract.py) keeps a mesh attribute only with
export_attributes=True and a name starting with `_`, which it writes upper-cased. So for the export
each stored estimate's scores are copied to a temporary POINT attribute `_ivlm_contact`
(`_ivlm_contact_<label>`), written as `_IVLM_CONTACT` in the file, and removed again afterwards; a
user's own attribute of that name is left alone and exported as it is.

Import: a result npz written by the backend's CLI, batch or Ray executor (the same arrays as the
worker's) goes onto a mesh with the same vertex count through results.write_result, the one writer,
as an estimate's result: same attribute, group, heat map, record (with the sidecar <id>.json's
provenance and photo when it is there), the fitted body when the result carries one, and optionally
the view-mask images.

PLY and DAMON-style npz exports are the backend's (`python -m backend export`, backend/exports.py).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from . import estimate, naming, protocol, results, runner, thumbnails
from .runner import JobError

GLTF_PREFIX = "_"  # glTF's rule for application-specific attributes


def gltf_name(attribute: str) -> str:
    """Our attribute's name for glTF: `ivlm_contact` -> `_ivlm_contact`."""
    return GLTF_PREFIX + attribute.lstrip(GLTF_PREFIX)


def _add_export_attributes(obj: bpy.types.Object) -> list[str]:
    """Temporary `_`-named copies of obj's stored scores; the names added."""
    added = []
    for key in results.estimate_entries(results.read_record(obj)):
        scores = results.stored_scores(obj, key)
        name = gltf_name(naming.estimate_names(key)["attribute"])
        if scores is None or name in obj.data.attributes:  # not ours any more, or the user's own name
            continue
        results.set_point_attribute(obj.data, name, "FLOAT", scores, "value")
        added.append(name)
    return added


def export_gltf(path: str | Path, objects: list[bpy.types.Object]) -> str:
    """Export `objects` (.glb or .gltf by the suffix) with their scores as `_ivlm_contact`; the path."""
    path = Path(bpy.path.abspath(str(path))).expanduser()
    meshes = [obj for obj in objects if obj is not None and obj.type == "MESH"]
    if not meshes:
        raise JobError("nothing to export: select the meshes that hold InteractVLM results")
    if path.suffix.lower() not in (".glb", ".gltf"):
        raise JobError(f"{path.name!r}: a glTF file ends in .glb or .gltf")
    if not path.parent.is_dir():
        raise JobError(f"the folder {str(path.parent)!r} does not exist; choose an existing folder")
    added = {obj.name: _add_export_attributes(obj) for obj in meshes}
    selection = [o for o in bpy.context.view_layer.objects if o.select_get()]
    try:
        for obj in bpy.context.view_layer.objects:
            obj.select_set(obj in meshes)
        bpy.ops.export_scene.gltf(filepath=str(path), use_selection=True, export_attributes=True,
                                  export_format="GLB" if path.suffix.lower() == ".glb" else "GLTF_SEPARATE")
    finally:
        for obj in meshes:
            for name in added[obj.name]:
                obj.data.attributes.remove(obj.data.attributes[name])
        for obj in bpy.context.view_layer.objects:
            obj.select_set(obj in selection)
    return str(path)


def _sidecar(path: Path) -> dict[str, Any]:
    """The batch's <id>.json next to the npz (summary and provenance), {} when absent or unreadable."""
    try:
        value = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def import_result(obj: bpy.types.Object, path: str | Path, task: str = "human_contact", label: str = "",
                  threshold: float = 0.5, masks: bool = True) -> results.WriteReport:
    """Write a result npz onto obj as an estimate writes it; JobError (nothing written) on a bad file
    or a vertex count that differs from obj's."""
    if obj is None or obj.type != "MESH":
        raise JobError("importing a result needs a mesh object: select the mesh the result was made for")
    path = Path(bpy.path.abspath(str(path))).expanduser()
    if not path.is_file():
        raise JobError(f"the result {str(path)!r} does not exist; choose a result .npz of an estimate or batch")
    if task not in protocol.TASKS:
        raise JobError(f"unknown task {task!r}; use {', '.join(protocol.TASKS)}")
    try:
        arrays = protocol.read_result("estimate", path)
    except protocol.ResultError as error:
        raise JobError(f"{path.name}: {error}") from None
    scores = np.asarray(arrays["scores"], dtype=np.float32).reshape(-1)
    if scores.shape[0] != len(obj.data.vertices):
        raise JobError(f"{path.name} has {scores.shape[0]} vertex scores but {obj.name!r} has "
                       f"{len(obj.data.vertices)} vertices; import it onto the mesh it was made for")
    sidecar = _sidecar(path)
    label = label or str((sidecar.get("item") or {}).get("label") or sidecar.get("label") or "")
    key = naming.result_key(task, label or None)
    image = str(sidecar.get("image") or "")
    report = results.write_result(
        obj, key, naming.estimate_names(key), scores, group_values=scores, group_threshold=threshold,
        settings={"threshold": float(threshold), "task": task, "label": label,
                  "image": str(Path(image).resolve()) if image else "", "provenance": sidecar.get("provenance"),
                  "imported_from": str(path)})
    # the fitted body and the images as an estimate writes them (the sidecar is the result's summary)
    found = thumbnails.result_detections(sidecar)[0] if masks else None
    runner.finish(estimate.extras_steps(obj, key, arrays, report, masks, found))
    return report
