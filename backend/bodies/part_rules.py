"""Per-vertex body parts from coarse segments (rig names) or from geometry alone.

All rules work in the canonical frame (Z up, metres, body facing -Y, its left side at +X) and
in heights normalised by the body's stature, `zn` = 0 at the soles, 1 at the top of the head.
Every number is a proportion of a standing adult body; why each one is what it is sits next to it.
"""
from __future__ import annotations

import numpy as np

from backend.bodies.parts import PART_ID
from backend.bodies.rig_names import SEGMENTS
from backend.geometry import vertex_normals

# Torso height bands (zn): the chest starts at the bottom of the rib cage (~0.70 of stature),
# the abdomen spans the waist; below ~0.57 (iliac crest) is the pelvis, at the back the buttocks.
CHEST_FROM = 0.70
ABDOMEN_FROM = 0.57
# Buttocks are back-facing surface between the gluteal fold (~0.44) and the iliac crest.
BUTTOCKS_FROM = 0.44
# A sole is a down-facing foot vertex within this distance (m) of the foot's lowest point.
SOLE_HEIGHT = 0.035
SOLE_NORMAL_Z = -0.5
# Geometric fallback (meshes without usable groups): proportions of a standing adult.
HEAD_FROM, NECK_FROM, CROTCH_AT, KNEE_AT, ANKLE_AT = 0.87, 0.83, 0.47, 0.28, 0.045
TORSO_HALF_WIDTH = 0.105  # half shoulder-to-shoulder torso width / stature; wider is arm
# Arm segment lengths / stature along the arm from the shoulder, calibrated on the Anny default
# body (the shoulder point sits at the torso's edge, so the upper arm reads shorter than in tables).
UPPER_ARM_LEN, FOREARM_LEN, HAND_LEN = 0.135, 0.14, 0.10


def _sided(base: str, left: np.ndarray) -> np.ndarray:
    return np.where(left, PART_ID[f"left_{base}"], PART_ID[f"right_{base}"]).astype(np.int16)


def _height_norm(vertices: np.ndarray) -> np.ndarray:
    z = vertices[:, 2]
    return (z - z.min()) / max(float(np.ptp(z)), 1e-9)


def refine(segments: np.ndarray, sides: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Parts from per-vertex coarse segments.

    segments: (N,) int index into rig_names.SEGMENTS, -1 where unknown (filled geometrically).
    sides: (N,) int8, +1 left, -1 right, 0 unknown (unknown sides come from the X sign).
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    zn = _height_norm(vertices)
    normals = vertex_normals(vertices, faces)
    left = np.where(sides != 0, sides > 0, vertices[:, 0] > 0)
    parts = geometric_parts(vertices, faces)  # the fallback for unknown segments
    seg = {name: segments == i for i, name in enumerate(SEGMENTS)}
    parts[seg["head"]] = PART_ID["head"]
    parts[seg["neck"]] = PART_ID["neck"]
    for name in ("upper_arm", "forearm", "thigh", "shin", "fingers"):
        parts[seg[name]] = _sided(name, left)[seg[name]]
    torso = seg["torso"]
    parts[torso] = _torso_parts(vertices, zn, normals)[torso]
    # Buttock flesh is often skinned to the thigh bones: back-facing thigh skin above the fold.
    cheeks = seg["thigh"] & (zn >= BUTTOCKS_FROM) & (normals[:, 1] > 0.3)
    parts[cheeks] = PART_ID["buttocks"]
    hands = seg["hand"]
    parts[hands] = _hand_parts(vertices, normals, left, hands, seg["fingers"])[hands]
    feet = seg["foot"]
    parts[feet] = _foot_parts(vertices, normals, left, feet)[feet]
    return parts


def _torso_parts(vertices: np.ndarray, zn: np.ndarray, normals: np.ndarray) -> np.ndarray:
    front = normals[:, 1] < 0  # the body faces -Y
    parts = np.where(front, PART_ID["pelvis"], PART_ID["buttocks"]).astype(np.int16)
    parts[(zn >= ABDOMEN_FROM) & front] = PART_ID["abdomen"]
    parts[(zn >= ABDOMEN_FROM) & ~front] = PART_ID["back"]
    parts[(zn >= CHEST_FROM) & front] = PART_ID["chest"]
    # Back-facing pelvis below the buttocks band is still buttock/hip; above the crest it is back.
    return parts


def _hand_parts(vertices: np.ndarray, normals: np.ndarray, left: np.ndarray,
                hands: np.ndarray, fingers: np.ndarray) -> np.ndarray:
    """Palm vs back of the hand: the hand is flat, so its least-variance axis is the palm normal;
    the fingers curl towards the palm, which gives the axis its sign."""
    parts = _sided("hand", left)
    for is_left in (True, False):
        side_hand = hands & (left == is_left)
        side_all = (hands | fingers) & (left == is_left)
        if side_hand.sum() < 4:
            continue
        points = vertices[side_all]
        centre = points.mean(axis=0)
        _, _, axes = np.linalg.svd(points - centre, full_matrices=False)
        palm_normal = axes[2]
        side_fingers = fingers & (left == is_left)
        finger_centre = vertices[side_fingers].mean(axis=0) if side_fingers.any() else centre
        hand_centre = vertices[side_hand].mean(axis=0)
        curl = finger_centre - hand_centre
        if np.dot(curl, palm_normal) < 0:
            palm_normal = -palm_normal
        palm = side_hand & (normals @ palm_normal > 0)
        parts[palm] = PART_ID["left_palm" if is_left else "right_palm"]
    return parts


def _foot_parts(vertices: np.ndarray, normals: np.ndarray, left: np.ndarray, feet: np.ndarray) -> np.ndarray:
    parts = _sided("foot", left)
    for is_left in (True, False):
        side = feet & (left == is_left)
        if not side.any():
            continue
        lowest = vertices[side, 2].min()
        sole = side & (normals[:, 2] < SOLE_NORMAL_Z) & (vertices[:, 2] <= lowest + SOLE_HEIGHT)
        parts[sole] = PART_ID["left_sole" if is_left else "right_sole"]
    return parts


def geometric_parts(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Parts of an upright humanoid in the canonical frame from proportions alone (A/T pose)."""
    vertices = np.asarray(vertices, dtype=np.float64)
    zn = _height_norm(vertices)
    height = max(float(np.ptp(vertices[:, 2])), 1e-9)
    normals = vertex_normals(vertices, faces)
    centre_x = float(np.median(vertices[:, 0]))
    x = (vertices[:, 0] - centre_x) / height
    left = x > 0
    parts = _torso_parts(vertices, zn, normals)
    parts[zn >= NECK_FROM] = PART_ID["neck"]
    parts[zn >= HEAD_FROM] = PART_ID["head"]
    legs = zn < CROTCH_AT
    parts[legs] = _sided("thigh", left)[legs]
    parts[zn < KNEE_AT] = _sided("shin", left)[zn < KNEE_AT]
    feet = zn < ANKLE_AT
    parts[feet] = _foot_parts(vertices, normals, left, feet)[feet]
    # Arms: outside the torso's width above the crotch, split by distance from the shoulder.
    arms = (np.abs(x) > TORSO_HALF_WIDTH) & (zn >= CROTCH_AT) & (zn < HEAD_FROM)
    y = (vertices[:, 1] - float(np.median(vertices[:, 1]))) / height
    shoulder = np.stack([np.sign(x) * TORSO_HALF_WIDTH, np.zeros_like(x), np.full_like(x, NECK_FROM - 0.02)], 1)
    reach = np.linalg.norm(np.stack([x, y, zn], 1) - shoulder, axis=1)
    parts[arms] = _sided("upper_arm", left)[arms]
    fore = arms & (reach > UPPER_ARM_LEN)
    parts[fore] = _sided("forearm", left)[fore]
    hand = arms & (reach > UPPER_ARM_LEN + FOREARM_LEN)
    parts[hand] = _sided("hand", left)[hand]
    fingers = arms & (reach > UPPER_ARM_LEN + FOREARM_LEN + HAND_LEN * 0.45)
    parts[fingers] = _sided("fingers", left)[fingers]
    palm_or_back = hand & ~fingers
    parts[palm_or_back] = _hand_parts(vertices, normals, left, palm_or_back, fingers)[palm_or_back]
    return parts


def group_segments(group_names: list[str], vertex_group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-vertex segments and sides, as refine() takes them, from each vertex's dominant vertex
    group (index into group_names; -1 or out of range for none, which gives an unknown segment)."""
    from backend.bodies.rig_names import classify_names

    segments, sides = classify_names(list(group_names))
    seg_lookup = np.array([SEGMENTS.index(s) if s else -1 for s in segments] + [-1], dtype=np.int16)
    side_lookup = np.array([{"left": 1, "right": -1}.get(s, 0) for s in sides] + [0], dtype=np.int8)
    vertex_group = np.asarray(vertex_group)
    index = np.where((vertex_group >= 0) & (vertex_group < len(group_names)), vertex_group, len(group_names))
    return seg_lookup[index], side_lookup[index]


def parts_from_groups(group_names: list[str], vertex_group: np.ndarray,
                      vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Parts from each vertex's dominant vertex group (index into group_names, -1 for none)."""
    return refine(*group_segments(group_names, vertex_group), vertices, faces)
