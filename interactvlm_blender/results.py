"""Writing a result onto a mesh object, the ownership record, and re-thresholding later.

What is written (names from naming.py; a user's own data is never modified or removed):
- estimate: float POINT attribute `ivlm_contact` (`ivlm_contact_<label>` per label): the scores as
  sent; vertex group `Contact` (`Contact <label>`): weight = score for vertices with score >=
  threshold; FLOAT_COLOR POINT attribute `ivlm_contact_color`: heat map of the latest result; one
  greyscale image per view mask and one of the photo with the localizer's detections where it reports
  them (thumbnails.py; images packed into the .blend when it is saved; batches only on request);
- scene contact (scene_contact.py): `ivlm_scene_contact`, `ivlm_scene_depth`, `Scene Contact`,
  `ivlm_scene_contact_color`, through the same writer (write_result).
Ownership is recorded in the object's custom property `ivlm_results` (JSON: result key -> the
names we created, the settings used, and a mark of each piece of data as written: ownership.py).
Data is ours only while its mark matches: a name used by anything else (the user's own data, our
data renamed away and replaced, edited or transferred data) is the user's, and ours then gets a
distinct name (e.g. `Contact (InteractVLM)`); WriteReport.renamed says so.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Generator

import bpy
import numpy as np

from . import naming, ownership, protocol
from .heat_map import heat_colors
from .mesh_io import group_weight_steps
from .modes import mesh_data
from .runner import Alone, JobError, Revocable, Work, finish

RECORD_KEY = "ivlm_results"
IMAGE_OWNER_KEY = "ivlm_owner"  # the tag of a datablock we made (mask images, the stored fitted body)
# record fields a new result under the same key keeps (write_steps)
KEPT_FIELDS = ("images", "detection_image", "fitted")
# Estimated main-thread seconds per writing step (runner.Work), and the costs it is estimated from,
# measured at 1M vertices on the 2-core machine (2026-12-01): VertexGroup.add ~5.7 us per call (97k
# distinct weights: 0.55 s), foreach_set ~16 ms per 1M floats.
WRITE_STEP_S = 0.02
ADD_CALL_S = 6e-6
ADD_VERTEX_S = 5e-8
ARRAY_VALUE_S = 2e-8
REMOVE_VALUE_S = 9e-8  # removing an attribute or an emptied vertex group, per vertex (1M: ~90 ms)
COLOR_VALUE_S, COLOR_BLOCK = 7e-8, 131072  # heat_colors per score
COPY_WEIGHTS_S = 1e-7  # Blender's copy of deform weights shared with the evaluated mesh (1M: 65-117 ms)
REMOVE_VERTEX_S, REMOVE_BLOCK = 1.6e-6, 10000  # VertexGroup.remove of members: 40-50 ms per 25k


@dataclass
class WriteReport:
    attribute: str
    group: str
    color: str
    contact_count: int
    renamed: list[str] = field(default_factory=list)  # "wanted -> used" for names taken by the user
    images: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # every name used, by kind


def read_record(obj: bpy.types.Object) -> dict[str, Any]:
    """The ownership record (JSON in a custom property); {} when absent or damaged."""
    try:
        value = json.loads(obj.get(RECORD_KEY, "{}"))
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def write_record(obj: bpy.types.Object, record: dict[str, dict[str, Any]]) -> None:
    """Store the ownership record (the one writer of the custom property)."""
    obj[RECORD_KEY] = json.dumps(record, sort_keys=True)


def estimate_entries(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The record's estimate results (key -> entry), without scene contact."""
    return {key: entry for key, entry in record.items()
            if isinstance(entry, dict) and entry.get("task") in protocol.TASKS}


def our_names(obj: bpy.types.Object, kind: str) -> set[str]:
    """Names of `kind` ("group", "color", ...) whose data is proven ours on obj (e.g. the groups that
    are results, not rig groups)."""
    with mesh_data(obj):
        return ownership.proven_names(obj, read_record(obj), kind)


def claim_names(
    obj: bpy.types.Object, wanted: dict[str, str], record: dict[str, Any], proven: dict[str, set[str]] | None = None
) -> tuple[dict[str, str], list[str]]:
    """naming.claim against the names on obj and those proven ours (`proven`: kind -> names, when
    already found)."""
    if proven is None:
        proven = {kind: ownership.proven_names(obj, record, kind) for kind in wanted}
    return naming.claim(wanted, {g.name for g in obj.vertex_groups}, {a.name for a in obj.data.attributes}, proven)


def _check_count(obj: bpy.types.Object, count: int) -> None:
    if count != len(obj.data.vertices):
        raise JobError(f"the result has {count} values but {obj.name!r} has {len(obj.data.vertices)} vertices "
                       "(the mesh changed while the job ran); run it again")


def check_counts(obj: bpy.types.Object, *arrays: np.ndarray) -> None:
    """JobError unless every array has one value per vertex of obj (checked before anything is written)."""
    for values in arrays:
        _check_count(obj, int(np.asarray(values).reshape(-1).shape[0]))


def set_group_weights(group: bpy.types.VertexGroup, scores: np.ndarray, threshold: float) -> int:
    """Replace the group's members: weight = score for score >= threshold. Returns the count.

    VertexGroup.add takes one weight per call, so vertices are batched by distinct score: one call
    per distinct value, not per vertex.
    """
    group.remove(list(range(len(scores))))
    values, order, bounds = weight_batches(np.asarray(scores, dtype=np.float32).reshape(-1), threshold)
    for at, value in enumerate(values):
        group.add(order[bounds[at]:bounds[at + 1]].tolist(), float(value), "REPLACE")
    return int(len(order))


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


def write_heat_colors(obj: bpy.types.Object, name: str, scores: np.ndarray, ours: set[str],
                      colors: np.ndarray | None = None) -> np.ndarray:
    """Our heat-map colour attribute `name` (`colors`: heat_colors(scores), when already computed);
    made the active colours unless the active ones are the user's (not in `ours`). Returns the
    colours written."""
    mesh = obj.data
    colors = heat_colors(scores) if colors is None else colors
    set_point_attribute(mesh, name, "FLOAT_COLOR", colors, "color")
    active = mesh.color_attributes.active_color
    if active is None or active.name in ours | {name}:
        mesh.color_attributes.active_color_name = name
    return colors


def write_result(obj: bpy.types.Object, key: str, wanted: dict[str, str], scores: np.ndarray,
                 group_values: np.ndarray, group_threshold: float, settings: dict[str, Any],
                 extra: dict[str, np.ndarray] | None = None) -> WriteReport:
    """write_steps in one go (the one writer of every kind of result; see write_steps)."""
    return finish(write_steps(obj, key, wanted, scores, group_values, group_threshold, settings, extra))


def write_steps(obj: bpy.types.Object, key: str, wanted: dict[str, str], scores: np.ndarray,
                group_values: np.ndarray, group_threshold: float, settings: dict[str, Any],
                extra: dict[str, np.ndarray] | None = None) -> Generator[float, None, WriteReport]:
    """Write one result in short main-thread steps (yields the fraction written; returns the
    WriteReport): the scores as attribute wanted["attribute"], the `extra` float attributes (kind ->
    values, names in `wanted`), the heat map wanted["color"] of the scores, the vertex group
    wanted["group"] with weight = group_values where >= group_threshold; then record the names used
    and `settings` under `key`. Bulk array writes, and VertexGroup.add batched by weight.

    Why steps: at 1M vertices the group alone is ~0.5 s of VertexGroup.add calls (one per distinct
    weight). Everything is written into new data (`ivlm_writing_*`; not dot-named: Blender refuses to
    remove such attributes) first; the last step swaps it in for our earlier data (remove, rename:
    microseconds) and records it. So until that step the mesh is as it was, and a failure or a close
    (a cancel) removes what was written. JobError (nothing
    written) when an array does not match the mesh or the mesh changes between steps."""
    name, work = obj.name, Work(WRITE_STEP_S)
    with mesh_data(obj):
        scores = np.ascontiguousarray(scores, dtype=np.float32).reshape(-1)
        extra = extra or {}
        check_counts(obj, scores, group_values, *extra.values())
        count = len(scores)
        record = read_record(obj)
        proven: dict[str, set[str]] = {}
        for kind in wanted:  # each proof hashes our earlier data: ~20-40 ms per kind at 1M vertices
            proven[kind] = ownership.proven_names(_live(name, count), record, kind)
            if work.spend(4 * ARRAY_VALUE_S * count):
                yield Revocable(0.05, alone=True)  # the next proof may hash 16 MB of colours: ~50-90 ms
        names, renamed = claim_names(_live(name, count), wanted, record, proven)
        temp = {kind: f"ivlm_writing_{kind}_{secrets.token_hex(4)}" for kind in names}
        try:
            marks: dict[str, Any] = {}
            for kind, values in {"attribute": scores, **extra}.items():
                set_point_attribute(_live(name, count).data, temp[kind], "FLOAT", values, "value")
                marks[kind] = ownership.array_mark(values)
                if work.spend(ARRAY_VALUE_S * count):
                    yield Revocable(0.1)
            colors = np.empty((count, 4), dtype=np.float32)
            for begin in range(0, count, COLOR_BLOCK):  # np.interp x3 in float64: 56 ms per 1M scores
                colors[begin:begin + COLOR_BLOCK] = heat_colors(scores[begin:begin + COLOR_BLOCK])
                if work.spend(COLOR_VALUE_S * len(colors[begin:begin + COLOR_BLOCK])):
                    yield Revocable(0.12)
            if work.spend(ARRAY_VALUE_S * count):
                yield Revocable(0.14, alone=True)  # writing and hashing the 16 MB of colours: ~65 ms
            write_heat_colors(_live(name, count), temp["color"], scores, proven["color"] | {names["color"]}, colors)
            if work.spend(4 * ARRAY_VALUE_S * count):
                yield Revocable(0.15)
            marks["color"] = ownership.array_mark(colors)
            weights = np.asarray(group_values, dtype=np.float32).reshape(-1)
            values, order, bounds = weight_batches(weights, group_threshold)
            if work.spend(4 * ARRAY_VALUE_S * count):
                yield Revocable(0.2)
            marks["group"] = ownership.group_mark(weights, group_threshold)
            if work.spend(3 * ARRAY_VALUE_S * count):
                yield Revocable(0.2)
            if work.spend(COPY_WEIGHTS_S * count):  # the first add copies the shared deform weights
                yield Revocable(0.2, alone=True)
                work.spend(work.step_s)  # and the step ends after that one add
            group = _live(name, count).vertex_groups.new(name=temp["group"])
            for at, value in enumerate(values):
                batch = order[bounds[at]:bounds[at + 1]]
                group.add(batch.tolist(), float(value), "REPLACE")
                if work.spend(ADD_CALL_S + ADD_VERTEX_S * len(batch)) and at + 1 < len(values):
                    yield Revocable(0.2 + 0.7 * (at + 1) / len(values))
                    group = _live(name, count).vertex_groups[temp["group"]]  # looked up again after a step
            if work.spend(ARRAY_VALUE_S * count):
                yield Revocable(0.9)
            replaced = _swap_in(_live(name, count), names, temp)
        except BaseException:
            _remove_written(bpy.data.objects.get(name), set(temp.values()))  # a failure or cancel: nothing of it stays
            raise
        previous = record.get(key) if isinstance(record.get(key), dict) else {}
        # what later steps of the same result rewrite (mask images) or what earlier ones added to the
        # scene (fitted bodies, fitted_body.py) stays recorded, so Remove Results still finds it
        kept = {item: previous[item] for item in KEPT_FIELDS if item in previous}
        record[key] = {**names, **settings, "images": [], **kept, "marks": marks}
        write_record(obj, record)
        try:  # the result is in; our replaced data goes, one piece per step
            for piece in list(replaced):
                old = _live(name, count).vertex_groups.get(piece)
                # Removing a 1M-vertex group in one call took 206 ms: its members go in blocks first.
                for begin in range(0, count if old is not None else 0, REMOVE_BLOCK):
                    _live(name, count).vertex_groups[piece].remove(list(range(begin, min(begin + REMOVE_BLOCK, count))))
                    if work.spend(REMOVE_VERTEX_S * REMOVE_BLOCK):
                        yield 0.95
                if work.spend(REMOVE_VALUE_S * count):
                    yield Alone(0.95)  # removing even an emptied 1M-vertex group: ~90 ms, one call
                _remove_written(bpy.data.objects.get(name), {piece})
                replaced.remove(piece)
            if work.spend(REMOVE_VALUE_S * count):
                yield 0.98
            _live(name, count).data.update()
        finally:
            _remove_written(bpy.data.objects.get(name), set(replaced))
    return WriteReport(attribute=names["attribute"], group=names["group"], color=names["color"],
                       contact_count=int(len(order)), renamed=renamed, names=names)


def weight_batches(weights: np.ndarray, threshold: float) -> tuple[list[float], np.ndarray, np.ndarray]:
    """The members (weights >= threshold) sorted by weight: (distinct weights, member indices, bounds),
    batch i = indices[bounds[i]:bounds[i + 1]]. VertexGroup.add takes one weight per call, so a group
    is written with one call per distinct value, not per vertex (slices, not np.split: 485k distinct
    weights took 1.6 s to split)."""
    members = np.flatnonzero(weights >= threshold)
    order = members[np.argsort(weights[members], kind="stable")]
    ordered = weights[order]
    changes = np.flatnonzero(np.diff(ordered)) + 1
    bounds = np.concatenate([[0], changes, [len(order)]]) if len(order) else np.zeros(1, np.int64)
    return ordered[bounds[:-1]].tolist(), order, bounds


def _live(name: str, count: int) -> bpy.types.Object:
    """The object written to, looked up again each step (the user may change it between steps)."""
    obj = bpy.data.objects.get(name)
    if obj is None or obj.type != "MESH" or len(obj.data.vertices) != count:
        raise JobError(f"{name!r} was removed or its mesh changed while the result was written; nothing was "
                       "changed: run it again")
    return obj


def _swap_in(obj: bpy.types.Object, names: dict[str, str], temp: dict[str, str]) -> list[str]:
    """Put the written data under its names (claim_names made each free or ours): our earlier data is
    renamed away (renames are microseconds; removing a 1M-vertex group is not), and its new names are
    returned for removal."""
    mesh = obj.data
    colors = mesh.color_attributes
    make_active = colors.active_color is not None and colors.active_color.name == temp["color"]
    replaced = []
    for kind, final in names.items():
        store = obj.vertex_groups if kind == "group" else mesh.attributes
        old = store.get(final)
        if old is not None:
            old.name = f"ivlm_replaced_{kind}_{secrets.token_hex(4)}"
            replaced.append(old.name)
        store[temp[kind]].name = final
    if make_active:
        colors.active_color_name = names["color"]
    return replaced


def _remove_written(obj: bpy.types.Object | None, names: set[str]) -> None:
    """Remove the data write_steps made (its `ivlm_writing_*` names), before it was swapped in."""
    if obj is None or obj.type != "MESH":
        return
    for written in names:  # looked up one at a time: a removal moves the others (stale references)
        attribute = obj.data.attributes.get(written)
        if attribute is not None:
            obj.data.attributes.remove(attribute)
        group = obj.vertex_groups.get(written)
        if group is not None:
            obj.vertex_groups.remove(group)


def mask_view_names(masks: np.ndarray, view_names: list[str] | None) -> list[str]:
    return list(view_names or [f"view{i}" for i in range(len(masks))])


def record_images(obj: bpy.types.Object, key: str, names: list[str]) -> None:
    record = read_record(obj)
    if key in record:
        record[key]["images"] = list(names)
        write_record(obj, record)


def record_detection_image(obj: bpy.types.Object, key: str, name: str | None) -> None:
    """Record our photo-with-detections image of result `key` (None: it has none)."""
    record = read_record(obj)
    if key in record:
        record[key].pop("detection_image", None)
        if name:
            record[key]["detection_image"] = name
        write_record(obj, record)


def _our_image(tag: str) -> bpy.types.Image | None:
    return next((im for im in bpy.data.images if im.get(IMAGE_OWNER_KEY) == tag), None)


def write_image(obj: bpy.types.Object, key: str, what: str, rgba: np.ndarray) -> str:
    """Our 8-bit image `what` of result `key` (naming.image_names) with these (H,W,4) float pixels,
    bottom row first as Blender stores them; our earlier image of the same tag is reused. Returns its name."""
    height, width = rgba.shape[:2]
    title, tag = naming.image_names(obj.name, key, what)
    image = _our_image(tag)
    if image is not None and tuple(image.size) != (width, height):
        bpy.data.images.remove(image)
        image = None
    if image is None:
        image = bpy.data.images.new(title, width, height, alpha=False, float_buffer=False)
        image[IMAGE_OWNER_KEY] = tag
        image.use_fake_user = True  # nothing uses it, and the .blend keeps only used data
    image.pixels.foreach_set(np.ascontiguousarray(rgba, np.float32).reshape(-1))
    image.update()
    return image.name


def remove_image(obj: bpy.types.Object, key: str, what: str) -> None:
    """Remove our image `what` of result `key` where there is one (a later result without it)."""
    image = _our_image(naming.image_names(obj.name, key, what)[1])
    if image is not None:
        bpy.data.images.remove(image)


def write_mask_image(obj: bpy.types.Object, key: str, mask: np.ndarray, view: str) -> str:
    """One greyscale image (value = mask / 255) of a view mask; our earlier image is reused.

    About 10 ms at 1024 px; the modal operator writes one per timer tick. pack_mask_images()
    packs it when the file is saved."""
    mask = np.asarray(mask)
    rgba = np.empty((*mask.shape, 4), dtype=np.float32)
    rgba[..., :3] = (mask[::-1].astype(np.float32) / 255.0)[..., None]  # Blender images start at the bottom row
    rgba[..., 3] = 1.0
    return write_image(obj, key, view, rgba)


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
    """The scores of one stored result (from our attribute), or None when there is none or the
    attribute is no longer provably ours (renamed away, replaced, edited)."""
    entry = read_record(obj).get(key)
    if not isinstance(entry, dict):
        return None
    with mesh_data(obj):
        if not ownership.matches(obj, "attribute", entry.get("attribute"), (entry.get("marks") or {}).get("attribute")):
            return None
        attribute = obj.data.attributes[entry["attribute"]]
        values = np.empty(len(obj.data.vertices), dtype=np.float32)
        attribute.data.foreach_get("value", values)
    return values


def apply_threshold(obj: bpy.types.Object, threshold: float, key: str | None = None) -> int:
    """Rewrite our group(s) from the stored attribute(s); returns how many results were updated."""
    if obj is None or obj.type != "MESH":
        return 0
    record = read_record(obj)
    entries = {k: e for k, e in estimate_entries(record).items() if key is None or k == key}
    if not entries:
        return 0
    updated = 0
    with mesh_data(obj):
        for entry_key, entry in entries.items():
            scores = stored_scores(obj, entry_key)
            marks = entry.get("marks") or {}
            if scores is None or not ownership.matches(obj, "group", entry.get("group"), marks.get("group")):
                continue  # not provably ours any more: the user's now
            set_group_weights(obj.vertex_groups[entry["group"]], scores, threshold)
            entry["threshold"] = float(threshold)
            entry["marks"] = {**marks, "group": ownership.group_mark(scores, threshold)}
            updated += 1
    if updated:
        write_record(obj, record)
    return updated


def group_weights(obj: bpy.types.Object, group_name: str) -> np.ndarray:
    """(N,) weights of a vertex group, 0 where a vertex is not a member (placement's contact region,
    checks): mesh_io.group_weight_steps in one go."""
    return finish(group_weight_steps(obj, group_name))


def remove_results(obj: bpy.types.Object) -> list[str]:
    """Remove everything the record says we wrote on obj and its mark still proves ours (groups,
    attributes, mask and detection images), then the record; data no longer provably ours (renamed away, edited,
    replaced) is the user's and stays. Returns the names removed."""
    record = read_record(obj)
    removed: list[str] = []
    with mesh_data(obj):
        for key, entry in record.items():
            if not isinstance(entry, dict):
                continue
            marks = entry.get("marks") or {}
            for kind, mark in marks.items():
                name = entry.get(kind)
                if not ownership.matches(obj, kind, name, mark):
                    continue
                if kind == "group":
                    obj.vertex_groups.remove(obj.vertex_groups[name])
                else:
                    obj.data.attributes.remove(obj.data.attributes[name])
                removed.append(name)
            prefix = f"{obj.name}|{key}|"
            for image in [im for im in bpy.data.images if str(im.get(IMAGE_OWNER_KEY, "")).startswith(prefix)]:
                removed.append(image.name)
                bpy.data.images.remove(image)
        if RECORD_KEY in obj:
            del obj[RECORD_KEY]
        obj.data.update()
    return removed
