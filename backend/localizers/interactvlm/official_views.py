"""The official renders, reproduced on our renderer's conventions.

Facts (saidwivedi/InteractVLM): human views are PyTorch3D `look_at_view_transform(dist, elev, azim)` cameras
with `FoVPerspectiveCameras` (60 degree FoV) whose translation is shifted by (x, y) in camera space
(preprocess_data/render_mesh_utils.py get_rasterizer); the body (SMPL-H, 'Vitruvian' pose) is coloured by its
world-space vertex normals, colour = (n + 1) / 2 (preprocess_data/generate_damon_human_mask.py), on white.
PyTorch3D/SMPL frame: x = body's left, y = up, z = the body's front. Ours: x = left, z = up, -y = front.
"""
from __future__ import annotations

import numpy as np

from backend.cameras import look_at
from backend.localizers.interactvlm.config import OFFICIAL_VIEWS
from backend.render import Camera, RenderedViews

OFFICIAL_FOV_DEG = 60.0  # PyTorch3D FoVPerspectiveCameras default


def official_cameras(canonical_vertices: np.ndarray, view_type: str = "4MV-Z_Vitru", size: int = 1024,
                     distance_scale: float = 1.0, target: np.ndarray | None = None) -> list[Camera]:
    """Cameras at the official distance (times distance_scale)/elevation/azimuth around `target` (default:
    the mesh's bounding-box centre)."""
    if view_type not in OFFICIAL_VIEWS:
        raise ValueError(f"unknown official view type {view_type!r}; known: {', '.join(sorted(OFFICIAL_VIEWS))}")
    vertices = np.asarray(canonical_vertices, dtype=np.float64)
    target = (vertices.min(0) + vertices.max(0)) / 2.0 if target is None else np.asarray(target, np.float64)
    cameras = []
    for name, (distance, elev, azim, x_shift, y_shift) in OFFICIAL_VIEWS[view_type].items():
        e, a = np.radians(elev), np.radians(azim)
        # PyTorch3D camera position (cos e sin a, sin e, cos e cos a), mapped to our frame (x, -z, y).
        direction = np.array([np.cos(e) * np.sin(a), -np.cos(e) * np.cos(a), np.sin(e)])
        camera = look_at(name, target, direction, distance * distance_scale, size, fov_deg=OFFICIAL_FOV_DEG)
        # PyTorch3D adds the shift to T in its camera frame (x left, y up); ours is x right, y down.
        translation = camera.translation + np.array([-x_shift, -y_shift, 0.0])
        cameras.append(Camera(name=name, rotation=camera.rotation, translation=translation, focal=camera.focal,
                              width=camera.width, height=camera.height))
    return cameras


def normal_colour_views(views: RenderedViews) -> np.ndarray:
    """(V,H,W,3) uint8: world normals as colours in the SMPL frame, (n + 1) / 2, white background.

    Normals come from the depth buffer (back-projected points, central differences clamped at the image
    border), so they are per-face rather than the official smooth vertex normals, and unlit. Only covered
    pixels are computed (a body fills ~15% of a view)."""
    import torch
    import torch.nn.functional as F

    n_views, height, width = views.depth.shape
    out = np.full((n_views, height, width, 3), 255, dtype=np.uint8)
    for i, camera in enumerate(views.cameras):
        depth = torch.from_numpy(views.depth[i])
        covered = torch.isfinite(depth)
        rows, cols = torch.nonzero(covered, as_tuple=True)
        if rows.numel() == 0:
            continue
        z = torch.where(covered, depth, torch.zeros_like(depth))
        cx, cy = camera.principal

        def point(r: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            zz = z[r, c]
            return torch.stack([(c + 0.5 - cx) / camera.focal * zz, (r + 0.5 - cy) / camera.focal * zz, zz], -1)

        centre = point(rows, cols)

        def neighbour(r: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            # one-sided differences at the silhouette: a background neighbour stands in as the centre
            return torch.where(covered[r, c][:, None], point(r, c), centre)

        du = neighbour(rows, (cols + 1).clamp(max=width - 1)) - neighbour(rows, (cols - 1).clamp(min=0))
        dv = neighbour((rows + 1).clamp(max=height - 1), cols) - neighbour((rows - 1).clamp(min=0), cols)
        normal = F.normalize(torch.linalg.cross(du, dv, dim=-1), dim=-1, eps=1e-12)
        normal = torch.where((normal * centre).sum(-1, keepdim=True) > 0, -normal, normal)  # face the camera
        world = normal @ torch.from_numpy(np.asarray(camera.rotation, dtype=np.float32))  # R^T n (row form)
        smpl = torch.stack([world[:, 0], world[:, 2], -world[:, 1]], -1)  # our frame -> SMPL frame
        out[i, rows.numpy(), cols.numpy()] = ((smpl + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    return out
