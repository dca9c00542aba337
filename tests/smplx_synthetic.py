"""Writes a synthetic SMPL-X model file in the real npz layout (keys, shapes, dtypes).

No licensed data: the geometry is the open Anny body cut down to SMPL-X's 10,475 vertices and
20,908 faces and turned into SMPL-X's frame (Y up, facing +Z); skinning weights are one-hot on
the SMPL-X joint that drives each of Anny's parts. Blend shapes and regressors are zeros (shape
and pose are not exercised; the zero pose is v_template itself).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.bodies.parts import PARTS

N_VERTICES, N_FACES, N_JOINTS = 10475, 20908, 55
# The SMPL-X joint (index into smplx.joint_names.JOINT_NAMES) whose skin covers each part.
_PART_JOINT = {
    "head": 15, "neck": 12, "chest": 9, "abdomen": 6, "back": 9, "pelvis": 0, "buttocks": 0,
    "left_upper_arm": 16, "right_upper_arm": 17, "left_forearm": 18, "right_forearm": 19,
    "left_hand": 20, "right_hand": 21, "left_palm": 20, "right_palm": 21,
    "left_fingers": 25, "right_fingers": 40, "left_thigh": 1, "right_thigh": 2,
    "left_shin": 4, "right_shin": 5, "left_foot": 7, "right_foot": 8, "left_sole": 7, "right_sole": 8,
}


def synthetic_smplx_arrays(anny_body) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The model arrays, and the kept Anny vertex indices (in SMPL-X vertex order)."""
    vertices, faces, parts = anny_body.canonical_vertices, anny_body.faces, anny_body.parts
    head = np.nonzero(parts == PARTS.index("head"))[0]
    # Drop head vertices pseudo-randomly by a key of (|x|, y, z), so that mirrored vertices share
    # their fate and the head keeps its shape.
    position = vertices[head].astype(np.float64)
    key = np.sin(np.abs(position[:, 0]) * 1e3 + position[:, 1] * 7e3 + position[:, 2] * 3e3) * 1e4 % 1.0
    drop = head[np.argsort(key, kind="stable")[: len(vertices) - N_VERTICES]]
    keep = np.setdiff1d(np.arange(len(vertices)), drop)
    remap = np.full(len(vertices), -1)
    remap[keep] = np.arange(len(keep))
    kept_faces = remap[faces]
    kept_faces = kept_faces[(kept_faces >= 0).all(axis=1)]
    reps = int(np.ceil(N_FACES / len(kept_faces)))
    smplx_faces = np.tile(kept_faces, (reps, 1))[:N_FACES]
    canonical = vertices[keep].astype(np.float64)
    # canonical (x, y, z) = (xs, -zs, ys)  =>  SMPL-X (xs, ys, zs) = (x, z, -y); centred at the pelvis.
    template = np.stack([canonical[:, 0], canonical[:, 2] - 0.9, -canonical[:, 1]], axis=1)
    joint_of_part = np.array([_PART_JOINT[name] for name in PARTS])
    weights = np.zeros((N_VERTICES, N_JOINTS))
    weights[np.arange(N_VERTICES), joint_of_part[parts[keep]]] = 1.0
    parents = np.array([-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15]
                       + [20] * 15 + [21] * 15)
    kintree = np.stack([np.where(parents < 0, 4294967295, parents), np.arange(N_JOINTS)]).astype(np.int64)
    arrays = {
        "v_template": template, "f": smplx_faces.astype(np.uint32), "weights": weights,
        "kintree_table": kintree, "J_regressor": np.zeros((N_JOINTS, N_VERTICES)),
        "shapedirs": np.zeros((N_VERTICES, 3, 20)), "posedirs": np.zeros((N_VERTICES, 3, 486)),
        "hands_componentsl": np.eye(45), "hands_componentsr": np.eye(45),
        "hands_meanl": np.zeros(45), "hands_meanr": np.zeros(45),
        "lmk_faces_idx": np.zeros(51, dtype=np.int64), "lmk_bary_coords": np.full((51, 3), 1 / 3),
        "dynamic_lmk_faces_idx": np.zeros((79, 17), dtype=np.int64),
        "dynamic_lmk_bary_coords": np.full((79, 17, 3), 1 / 3),
    }
    return arrays, keep


def write_synthetic_smplx(folder: Path, anny_body, gender: str = "NEUTRAL") -> Path:
    arrays, _ = synthetic_smplx_arrays(anny_body)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"SMPLX_{gender}.npz"
    np.savez_compressed(path, **arrays)
    return path
