"""The names our results use on a mesh, and how a name the user already has is avoided. No bpy.

One result is stored under a *result key*: "" for plain contact, the label for semantic and object
contact (several labels live side by side), SCENE_CONTACT_KEY for scene contact. Each result owns
a float point attribute, a vertex group and a colour attribute (scene contact also a depth
attribute). A wanted name that the user already uses for their own data is never taken: ours gets
the name plus SUFFIX (groups) or ATTRIBUTE_SUFFIX (attributes), then numbered. A result's images (one
per view mask, one of the photo with its detections) are titled and tagged by image_names(). Objects
we add (Add Fitted Body) are new every time: new_object_name() never reuses a name, ours or the user's.
"""
from __future__ import annotations

import re

SUFFIX = " (InteractVLM)"  # appended to a vertex group name the user already has
ATTRIBUTE_SUFFIX = "_ivlm"  # appended to an attribute name the user already has
COLOR_NAME = "ivlm_contact_color"  # the heat map of the latest estimate, whatever its label
SCENE_CONTACT_KEY = (
    "#scene_contact"  # the record key of scene contact (an estimate label would have to be this exact text)
)
SCENE_CONTACT_NAMES = {"attribute": "ivlm_scene_contact", "depth": "ivlm_scene_depth", "group": "Scene Contact",
                       "color": "ivlm_scene_contact_color"}


def result_key(task: str, label: str | None) -> str:
    """The key that separates per-label estimate results ("" for plain contact)."""
    if task == "human_contact" or not label:
        return ""
    return label.strip()


def estimate_names(key: str) -> dict[str, str]:
    """The names an estimate result under `key` wants: attribute, group, color."""
    if not key:
        return {"attribute": "ivlm_contact", "group": "Contact", "color": COLOR_NAME}
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", key).strip("_").lower() or "label"
    return {"attribute": f"ivlm_contact_{slug}", "group": f"Contact {key}", "color": COLOR_NAME}


DETECTIONS_IMAGE = "#detections"  # image_names' `what` of the photo with its detections (no view's name)


def image_names(object_name: str, key: str, what: str) -> tuple[str, str]:
    """(title, owner tag) of our image `what` (a view name, or DETECTIONS_IMAGE) of result `key` on an
    object: the title is what the user sees (Blender numbers it when taken); the tag, kept in the
    image's custom property, is what proves the image ours and is unique per object, key and `what`."""
    shown = "detections" if what == DETECTIONS_IMAGE else what
    return f"IVLM {object_name} {key + ' ' if key else ''}{shown}", f"{object_name}|{key}|{what}"


def free_name(wanted: str, taken: set[str], ours: set[str], suffix: str) -> str:
    """`wanted` if free or ours, else wanted+suffix, then numbered, skipping names the user has."""
    if wanted not in taken or wanted in ours:
        return wanted
    candidate, n = wanted + suffix, 1
    while candidate in taken and candidate not in ours:
        n += 1
        candidate = f"{wanted}{suffix}.{n:03d}"
    return candidate


def claim(wanted: dict[str, str], groups: set[str], attributes: set[str],
          owned: dict[str, set[str]]) -> tuple[dict[str, str], list[str]]:
    """Our name for each kind of data ("group": a vertex group, any other kind: a mesh attribute),
    given the names on the mesh and the names our records own per kind. Returns the names and
    "wanted -> used" for each one renamed, in the order of `wanted`."""
    used = {kind: free_name(name, groups, owned.get(kind, set()), SUFFIX) if kind == "group"
            else free_name(name, attributes, owned.get(kind, set()), ATTRIBUTE_SUFFIX)
            for kind, name in wanted.items()}
    return used, [f"{wanted[k]} -> {v}" for k, v in used.items() if v != wanted[k]]


FITTED_BODY = "Fitted Body"


def fitted_body_name(body: str, key: str) -> str:
    """The name an added fitted body wants: "<body> Fitted Body" (+ " <label>" for a labelled result)."""
    return f"{body} {FITTED_BODY}" + (f" {key}" if key else "")


def new_object_name(wanted: str, users: set[str], ours: set[str]) -> str:
    """A name for a new object of ours that replaces nothing: `wanted`, or wanted+SUFFIX when the user
    already has `wanted`; numbered as Blender numbers (.001) past every name taken (ours: earlier adds)."""
    base = wanted + SUFFIX if wanted in users else wanted
    taken = users | ours
    candidate, n = base, 0
    while candidate in taken:
        n += 1
        candidate = f"{base}.{n:03d}"
    return candidate
