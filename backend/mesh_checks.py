"""Validation of meshes and masks at the backend's boundaries: clear ValueErrors, never crashes later."""
from __future__ import annotations

import numpy as np


def check_mesh(vertices: np.ndarray, faces: np.ndarray, what: str = "mesh") -> tuple[np.ndarray, np.ndarray]:
    """Return (vertices float32 (N,3), faces int32 (F,3)) or raise ValueError naming the problem."""
    vertices = np.asarray(vertices)
    faces = np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"{what}: vertices must have shape (N, 3), got {vertices.shape}")
    if vertices.shape[0] == 0:
        raise ValueError(f"{what}: the mesh has no vertices")
    if not np.issubdtype(vertices.dtype, np.number):
        raise ValueError(f"{what}: vertices must be numbers, got dtype {vertices.dtype}")
    if faces.ndim != 2 or faces.shape[0] == 0:
        raise ValueError(f"{what}: the mesh has no faces (shape {faces.shape}); give it triangles")
    if faces.shape[1] != 3:
        raise ValueError(
            f"{what}: faces must be triangles (F, 3), got {faces.shape[1]} corners per face; "
            "triangulate the mesh first (Blender: Triangulate modifier or Mesh > Triangulate Faces)"
        )
    if not np.issubdtype(faces.dtype, np.integer):
        raise ValueError(f"{what}: faces must be integer vertex indices, got dtype {faces.dtype}")
    if not np.isfinite(vertices).all():
        bad = int((~np.isfinite(vertices).all(axis=1)).sum())
        raise ValueError(f"{what}: {bad} vertices have NaN or infinite coordinates")
    low, high = int(faces.min()), int(faces.max())
    if low < 0 or high >= vertices.shape[0]:
        raise ValueError(
            f"{what}: face indices must lie in [0, {vertices.shape[0] - 1}], found range [{low}, {high}]"
        )
    return np.ascontiguousarray(vertices, dtype=np.float32), np.ascontiguousarray(faces, dtype=np.int32)


def check_masks(masks: np.ndarray, n_views: int, height: int, width: int) -> np.ndarray:
    """Return masks as float32 (n_views,H,W) in [0,1] or raise ValueError."""
    masks = np.asarray(masks)
    if masks.shape != (n_views, height, width):
        raise ValueError(f"masks must have shape {(n_views, height, width)} (views, H, W), got {masks.shape}")
    masks = masks.astype(np.float32, copy=False)
    if not np.isfinite(masks).all():
        raise ValueError("masks contain NaN or infinite values")
    # A few ulps outside [0,1] is float round-off (e.g. interpolated labels), not a bad mask.
    if masks.min() < -1e-4 or masks.max() > 1.0 + 1e-4:
        raise ValueError(f"mask values must lie in [0, 1], found [{masks.min():.3g}, {masks.max():.3g}]")
    return np.clip(masks, 0.0, 1.0)


# A standing or posed adult body in the canonical frame is 0.5-2.5 m along Z (children and crouching
# poses included); outside that the mesh is most likely in other units or Y-up.
BODY_HEIGHT_RANGE_M = (0.5, 2.5)


def body_frame_warnings(canonical_vertices: np.ndarray) -> list[str]:
    """Why a body mesh may not be in the frame the views assume (Z up, metres), as user-facing text.

    Not errors: a body lying down or a deliberately scaled character is legitimate, but the answer
    then deserves a second look, and the usual cause (a Y-up export, centimetres) has a simple fix."""
    extent = np.ptp(np.asarray(canonical_vertices, dtype=np.float64), axis=0)
    warnings = []
    low, high = BODY_HEIGHT_RANGE_M
    if not low <= extent[2] <= high:
        warnings.append(f"the body is {extent[2]:.3g} units tall along Z; bodies are read in metres "
                        f"({low}-{high} m expected): rescale it (e.g. centimetres -> metres: x0.01)")
    if extent[1] > 1.5 * max(extent[0], extent[2]):
        warnings.append("the body is longest along Y: it looks Y-up (or lying down); bodies are read Z-up, "
                        "facing -Y: rotate it +90 deg about X (Blender's OBJ import does this for Y-up files)")
    return warnings
