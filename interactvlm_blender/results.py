"""Writing a result npz onto a mesh object, and re-thresholding it later.

What is written (all namespaced; a user's own data is never modified or removed):
- float POINT attribute `ivlm_contact` (`ivlm_contact_<label>` per label): the scores as sent;
- vertex group `Contact` (`Contact <label>`): weight = score for vertices with score >= threshold;
- FLOAT_COLOR POINT attribute `ivlm_contact_color`: heat_colors(scores) of the latest result;
- one greyscale image per view mask (packed into the .blend when it is saved).
Ownership is recorded in the object's custom property `ivlm_results` (JSON: result key -> the
names we created; scene contact keeps its own record, SCENE_RECORD_KEY). A name already used by
something not recorded there is the user's: ours then gets a distinct name (e.g.
`Contact (InteractVLM)`) and WriteReport.renamed says so.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import bpy
import numpy as np

RECORD_KEY = "ivlm_results"
SCENE_RECORD_KEY = "ivlm_scene_results"  # scene_jobs' record: {kind: name, ...} of its one result
IMAGE_OWNER_KEY = "ivlm_owner"
COLOR_NAME = "ivlm_contact_color"
SUFFIX = " (InteractVLM)"
# Heat map stops (score -> linear RGB): blue, cyan, green, yellow, red.
HEAT_STOPS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
HEAT_RGB = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


@dataclass
class WriteReport:
    attribute: str
    group: str
    color: str
    contact_count: int
    renamed: list[str] = field(default_factory=list)  # "wanted -> used" for names taken by the user
    images: list[str] = field(default_factory=list)


def heat_colors(scores: np.ndarray) -> np.ndarray:
    """(N,) scores in [0,1] -> (N,4) float32 RGBA heat map (piecewise linear through HEAT_STOPS)."""
    s = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    rgb = np.stack([np.interp(s, HEAT_STOPS, HEAT_RGB[:, c]) for c in range(3)], axis=1)
    return np.concatenate([rgb, np.ones((len(s), 1))], axis=1).astype(np.float32)


def result_key(task: str, label: str | None) -> str:
    """The suffix that separates per-label results ("" for plain contact)."""
    if task == "human_contact" or not label:
        return ""
    return label.strip()


def wanted_names(key: str) -> tuple[str, str]:
    """(attribute, vertex group) names for a result key."""
    if not key:
        return "ivlm_contact", "Contact"
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", key).strip("_").lower() or "label"
    return f"ivlm_contact_{slug}", f"Contact {key}"


def read_record(obj: bpy.types.Object, key: str = RECORD_KEY) -> dict[str, Any]:
    """An ownership record (JSON in a custom property); {} when absent or damaged."""
    try:
        record = json.loads(obj.get(key, "{}"))
    except (TypeError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _write_record(obj: bpy.types.Object, record: dict[str, dict[str, Any]]) -> None:
    obj[RECORD_KEY] = json.dumps(record, sort_keys=True)


def _owned_names(record: dict[str, dict[str, Any]], kind: str) -> set[str]:
    return {entry[kind] for entry in record.values() if isinstance(entry, dict) and kind in entry}


def our_names(obj: bpy.types.Object, kind: str) -> set[str]:
    """Names of `kind` ("group", "color", ...) that any of our results on obj uses: the image path's
    and scene contact's (e.g. groups that are results, not rig groups)."""
    scene = read_record(obj, SCENE_RECORD_KEY).get(kind)
    return _owned_names(read_record(obj), kind) | ({scene} if isinstance(scene, str) else set())


def free_name(wanted: str, taken: set[str], ours: set[str], suffix: str) -> str:
    """`wanted` if free or ours, else wanted+suffix, then numbered, skipping names the user has."""
    if wanted not in taken or wanted in ours:
        return wanted
    candidate, n = wanted + suffix, 1
    while candidate in taken and candidate not in ours:
        n += 1
        candidate = f"{wanted}{suffix}.{n:03d}"
    return candidate


def claim_names(obj: bpy.types.Object, wanted: dict[str, str],
                owned: dict[str, set[str]]) -> tuple[dict[str, str], list[str]]:
    """Our name for each kind of data ("group": a vertex group, any other kind: a mesh attribute): the
    wanted name when free or already ours (owned[kind]), else a distinct one (free_name). Also returns
    "wanted -> used" for each renamed one, in the order of `wanted`."""
    groups, attributes = {g.name for g in obj.vertex_groups}, {a.name for a in obj.data.attributes}
    used = {kind: free_name(name, groups, owned.get(kind, set()), SUFFIX) if kind == "group"
            else free_name(name, attributes, owned.get(kind, set()), "_ivlm") for kind, name in wanted.items()}
    return used, [f"{wanted[k]} -> {v}" for k, v in used.items() if v != wanted[k]]


def set_group_weights(group: bpy.types.VertexGroup, scores: np.ndarray, threshold: float) -> int:
    """Replace the group's members: weight = score for score >= threshold. Returns the count.

    VertexGroup.add takes one weight per call, so vertices are batched by distinct score: one call
    per distinct value, not per vertex.
    """
    n = len(scores)
    group.remove(list(range(n)))
    members = np.flatnonzero(scores >= threshold)
    if len(members) == 0:
        return 0
    values, inverse, counts = np.unique(scores[members], return_inverse=True, return_counts=True)
    order = members[np.argsort(inverse, kind="stable")]
    for value, batch in zip(values, np.split(order, np.cumsum(counts)[:-1])):
        group.add(batch.tolist(), float(value), "REPLACE")
    return int(len(members))


def set_point_attribute(mesh: bpy.types.Mesh, name: str, data_type: str, values: np.ndarray, prop: str):
    """Write a POINT attribute of ours; one of ours with another type or domain is recreated."""
    attribute = mesh.attributes.get(name)
    if attribute is not None and (attribute.data_type != data_type or attribute.domain != "POINT"):
        mesh.attributes.remove(attribute)
        attribute = None
    if attribute is None:
        attribute = mesh.attributes.new(name, data_type, "POINT")
    attribute.data.foreach_set(prop, np.ascontiguousarray(values, dtype=np.float32).reshape(-1))
    return attribute


def write_heat_colors(obj: bpy.types.Object, name: str, scores: np.ndarray) -> None:
    """Our heat-map colour attribute `name`; made the active colours unless the active ones are the user's."""
    mesh = obj.data
    set_point_attribute(mesh, name, "FLOAT_COLOR", heat_colors(scores), "color")
    active = mesh.color_attributes.active_color
    if active is None or active.name in our_names(obj, "color") | {name}:
        mesh.color_attributes.active_color_name = name


def write_scores(obj: bpy.types.Object, scores: np.ndarray, task: str, label: str | None,
                 threshold: float) -> WriteReport:
    """The attribute, the vertex group and the colour attribute (fast: bulk array writes)."""
    mesh = obj.data
    scores = np.ascontiguousarray(scores, dtype=np.float32).reshape(-1)
    if len(scores) != len(mesh.vertices):
        raise ValueError(f"the result has {len(scores)} scores but {obj.name!r} has {len(mesh.vertices)} vertices "
                         "(the mesh changed while the job ran); run the estimate again")
    record = read_record(obj)
    key = result_key(task, label)
    attr_wanted, group_wanted = wanted_names(key)
    wanted = {"attribute": attr_wanted, "group": group_wanted, "color": COLOR_NAME}
    names, renamed = claim_names(obj, wanted, {kind: _owned_names(record, kind) for kind in wanted})
    attr_name, group_name, color_name = names["attribute"], names["group"], names["color"]

    set_point_attribute(mesh, attr_name, "FLOAT", scores, "value")
    write_heat_colors(obj, color_name, scores)
    group = obj.vertex_groups.get(group_name) or obj.vertex_groups.new(name=group_name)
    count = set_group_weights(group, scores, threshold)
    images = record.get(key, {}).get("images", [])
    record[key] = {"attribute": attr_name, "group": group_name, "color": color_name, "threshold": float(threshold),
                   "task": task, "label": label or "", "images": images}
    _write_record(obj, record)
    mesh.update()
    return WriteReport(attribute=attr_name, group=group_name, color=color_name, contact_count=count,
                       renamed=renamed)


def mask_view_names(masks: np.ndarray, view_names: list[str] | None) -> list[str]:
    return list(view_names or [f"view{i}" for i in range(len(masks))])


def record_images(obj: bpy.types.Object, key: str, names: list[str]) -> None:
    record = read_record(obj)
    if key in record:
        record[key]["images"] = list(names)
        _write_record(obj, record)


def write_mask_image(obj: bpy.types.Object, key: str, mask: np.ndarray, view: str) -> str:
    """One greyscale image (value = mask / 255) of a view mask; our earlier image is reused.

    About 10 ms at 1024 px; the modal operator writes one per timer tick. pack_mask_images()
    packs it when the file is saved."""
    mask = np.asarray(mask)
    height, width = mask.shape
    tag = f"{obj.name}|{key}|{view}"
    image = next((im for im in bpy.data.images if im.get(IMAGE_OWNER_KEY) == tag), None)
    if image is not None and tuple(image.size) != (width, height):
        bpy.data.images.remove(image)
        image = None
    if image is None:
        title = f"IVLM {obj.name} {key + ' ' if key else ''}{view}"
        image = bpy.data.images.new(title, width, height, alpha=False, float_buffer=False)
        image[IMAGE_OWNER_KEY] = tag
        image.use_fake_user = True  # nothing uses it, and the .blend keeps only used data
    rgba = np.empty((height * width, 4), dtype=np.float32)
    rgba[:, :3] = (mask[::-1].astype(np.float32) / 255.0).reshape(-1, 1)  # Blender images start at the bottom row
    rgba[:, 3] = 1.0
    image.pixels.foreach_set(rgba.reshape(-1))
    image.update()
    return image.name


def pack_mask_images() -> int:
    """Pack our mask images whose pixels are not yet in the .blend (run before every save).

    Packing (PNG encoding) costs tens of ms per 1024 px image, so it happens at save time rather
    than in the modal operator's timer steps. Returns how many were packed."""
    packed = 0
    for image in bpy.data.images:
        if image.get(IMAGE_OWNER_KEY) and (image.packed_file is None or image.is_dirty) and image.has_data:
            image.pack()
            packed += 1
    return packed


def stored_scores(obj: bpy.types.Object, key: str = "") -> np.ndarray | None:
    """The scores of one stored result (from our attribute), or None when there is none."""
    entry = read_record(obj).get(key)
    attribute = obj.data.attributes.get(entry["attribute"]) if entry else None
    if attribute is None or attribute.data_type != "FLOAT" or attribute.domain != "POINT":
        return None
    values = np.empty(len(obj.data.vertices), dtype=np.float32)
    attribute.data.foreach_get("value", values)
    return values


def apply_threshold(obj: bpy.types.Object, threshold: float, key: str | None = None) -> int:
    """Rewrite our group(s) from the stored attribute(s); returns how many results were updated."""
    if obj is None or obj.type != "MESH":
        return 0
    record = read_record(obj)
    updated = 0
    for entry_key, entry in record.items():
        if key is not None and entry_key != key:
            continue
        scores = stored_scores(obj, entry_key)
        group = obj.vertex_groups.get(entry.get("group", ""))
        if scores is None or group is None:
            continue
        set_group_weights(group, scores, threshold)
        entry["threshold"] = float(threshold)
        updated += 1
    if updated:
        _write_record(obj, record)
    return updated


def group_weights(obj: bpy.types.Object, group_name: str) -> np.ndarray:
    """(N,) weights of a vertex group, 0 where a vertex is not a member (placement's contact region, checks).

    bpy has no bulk reader for deform weights (no foreach_get, not among mesh.attributes), so this is
    one pass over the vertices (about 10 ms per 10k vertices)."""
    group = obj.vertex_groups[group_name]
    weights = np.zeros(len(obj.data.vertices), dtype=np.float32)
    gi = group.index
    for vertex in obj.data.vertices:
        for element in vertex.groups:
            if element.group == gi:
                weights[vertex.index] = element.weight
    return weights
