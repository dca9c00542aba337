"""Bone / vertex-group names of common rigs -> coarse body segments and sides.

Covers SMPL-X joint names (left_hip, left_knee, left_index1...), Mixamo (mixamorig:LeftUpLeg,
LeftForeArm...), Rigify (DEF-thigh.L, DEF-f_index.01.L...) and MakeHuman/Anny (upperleg01.L,
lowerarm02.R, finger2-1.L...). Segments are refined into the shared parts by part_rules.
"""
from __future__ import annotations

import re

# Coarse segments, before geometric refinement (e.g. torso -> chest/abdomen/back/pelvis/buttocks).
SEGMENTS: tuple[str, ...] = ("head", "neck", "torso", "upper_arm", "forearm", "hand", "fingers",
                             "thigh", "shin", "foot")

# Ordered keyword rules: the first rule whose pattern matches the lower-cased name wins. Order
# matters where rigs disagree: "forearm" before "arm", "upleg" before "leg", fingers before hand
# (Mixamo's LeftHandIndex1 is a finger), "hip" with a side is the SMPL-X thigh joint.
_RULES: tuple[tuple[str, str], ...] = (
    (r"thumb|index|middle|ring|pinky|finger|f_", "fingers"),
    (r"hand|wrist|metacarpal|palm|carpal", "hand"),
    (r"forearm|lowerarm|lower_arm|elbow", "forearm"),
    (r"upperarm|upper_arm|shoulder|arm", "upper_arm"),
    (r"toe|foot|ankle|heel|ball", "foot"),
    (r"upleg|upperleg|upper_leg|thigh", "thigh"),
    (r"knee|shin|calf|lowerleg|lower_leg|leg", "shin"),
    (r"neck", "neck"),
    (r"head|jaw|eye|skull|face|tongue|teeth|brow|lip|ear|nose|chin|cheek", "head"),
    (r"spine|chest|torso|abdomen|belly|pelvis|hips|hip|root|clavicle|collar|breast|waist|back", "torso"),
)
_SIDE_LEFT = re.compile(r"left|(^|[^a-z])l($|[^a-z])|[._\-]l$")
_SIDE_RIGHT = re.compile(r"right|(^|[^a-z])r($|[^a-z])|[._\-]r$")
_PREFIX = re.compile(r"^(mixamorig\d*:|def-|org-|mch-)")


def side_of(name: str) -> str | None:
    """'left', 'right' or None for a bone name."""
    lower = _PREFIX.sub("", name.strip().lower())
    if _SIDE_LEFT.search(lower):
        return "left"
    if _SIDE_RIGHT.search(lower):
        return "right"
    return None


def segment_of(name: str) -> str | None:
    """The coarse segment a bone name belongs to, or None when no rule knows it."""
    lower = _PREFIX.sub("", name.strip().lower())
    side = side_of(name)
    # SMPL-X calls the thigh joint "left_hip"; an unsided "hip(s)" is the pelvis.
    if side and re.search(r"hip", lower) and not re.search(r"hips", lower):
        return "thigh"
    for pattern, segment in _RULES:
        if re.search(pattern, lower):
            return segment
    return None


def classify_names(names: list[str]) -> tuple[list[str | None], list[str | None]]:
    """Segments and sides of a list of names (None where unknown)."""
    return [segment_of(n) for n in names], [side_of(n) for n in names]
