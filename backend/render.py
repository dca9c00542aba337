"""Multi-view CPU rendering of a triangle mesh with an id buffer (the 'Render' of RLL).

CONTRACT (implementation in progress; the types and signatures below are fixed):

Camera: a pinhole camera. world->camera is x_cam = R @ x_world + t; the camera looks along its
+Z axis, image x to the right, image y down (OpenCV convention). Pixel (u, v) of an HxW image
has its centre at (u + 0.5, v + 0.5).

RenderedViews, per view i:
    tri_ids[i]  (H,W) int32   triangle index into `faces`, -1 = background
    bary[i]     (H,W,3) float32 barycentric weights of the triangle's 3 vertices (0 on background)
    depth[i]    (H,W) float32  camera-space z (inf on background)
    shaded[i]   (H,W) uint8    grey Lambert/normal shading, white (255) background
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    name: str
    rotation: np.ndarray  # (3,3) float64 world->camera
    translation: np.ndarray  # (3,) float64
    focal: float  # pixels (fx = fy)
    width: int
    height: int

    @property
    def principal(self) -> tuple[float, float]:
        return self.width / 2.0, self.height / 2.0


@dataclass
class RenderedViews:
    cameras: list[Camera]
    faces: np.ndarray  # (F,3) int32, the rendered mesh's faces (tri_ids index into these)
    n_vertices: int
    tri_ids: np.ndarray  # (V,H,W) int32
    bary: np.ndarray  # (V,H,W,3) float32
    depth: np.ndarray  # (V,H,W) float32
    shaded: np.ndarray  # (V,H,W) uint8

    @property
    def n_views(self) -> int:
        return len(self.cameras)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.tri_ids.shape[1]), int(self.tri_ids.shape[2])


# Candidates (triangle x pixel pairs) processed at once; bounds memory to a few hundred MB.
_CHUNK = 1 << 21
_DEPTH_BITS = 31


def render(vertices: np.ndarray, faces: np.ndarray, cameras: list[Camera], near: float = 1e-3) -> RenderedViews:
    """Rasterise the mesh in every camera (both faces of each triangle; the nearest wins).

    Triangles with a vertex closer than `near` to a camera's plane are dropped in that view
    (no near-plane clipping: the rigs keep meshes well in front of the cameras).
    """
    import torch

    from backend.mesh_checks import check_mesh

    vertices, faces = check_mesh(vertices, faces)
    if not cameras:
        raise ValueError("render needs at least one camera")
    height, width = cameras[0].height, cameras[0].width
    if any((c.height, c.width) != (height, width) for c in cameras):
        raise ValueError("all cameras of one render must share the same image size")
    n = len(cameras)
    tri_ids = np.full((n, height, width), -1, dtype=np.int32)
    bary = np.zeros((n, height, width, 3), dtype=np.float32)
    depth = np.full((n, height, width), np.inf, dtype=np.float32)
    shaded = np.full((n, height, width), 255, dtype=np.uint8)
    verts_t = torch.from_numpy(vertices.astype(np.float64))
    faces_t = torch.from_numpy(faces.astype(np.int64))
    for i, camera in enumerate(cameras):
        view = _rasterise_view(verts_t, faces_t, camera, near)
        if view is None:
            continue
        pixels, winners, weights, z, intensity = view
        flat = np.s_[i]
        tri_ids[flat].reshape(-1)[pixels] = winners
        bary[flat].reshape(-1, 3)[pixels] = weights
        depth[flat].reshape(-1)[pixels] = z
        shaded[flat].reshape(-1)[pixels] = intensity
    return RenderedViews(cameras=list(cameras), faces=faces, n_vertices=int(vertices.shape[0]),
                         tri_ids=tri_ids, bary=bary, depth=depth, shaded=shaded)


def _project(verts, camera: Camera):
    import torch

    rotation = torch.from_numpy(np.asarray(camera.rotation, dtype=np.float64))
    translation = torch.from_numpy(np.asarray(camera.translation, dtype=np.float64))
    cam = verts @ rotation.T + translation
    cx, cy = camera.principal
    z = cam[:, 2]
    safe = torch.where(z.abs() > 1e-12, z, torch.full_like(z, 1e-12))
    return cam[:, 0] / safe * camera.focal + cx, cam[:, 1] / safe * camera.focal + cy, z, cam


def _rasterise_view(verts, faces, camera: Camera, near: float):
    """Z-buffer one view. Returns flat pixel indices of covered pixels and their per-pixel data."""
    import torch

    width, height = camera.width, camera.height
    u, v, z, cam = _project(verts, camera)
    fu, fv, fz = u[faces], v[faces], z[faces]  # (F,3)
    x0 = torch.ceil(fu.min(1).values - 0.5).clamp(min=0)
    x1 = torch.floor(fu.max(1).values - 0.5).clamp(max=width - 1)
    y0 = torch.ceil(fv.min(1).values - 0.5).clamp(min=0)
    y1 = torch.floor(fv.max(1).values - 0.5).clamp(max=height - 1)
    e1u, e1v = fu[:, 1] - fu[:, 0], fv[:, 1] - fv[:, 0]
    e2u, e2v = fu[:, 2] - fu[:, 0], fv[:, 2] - fv[:, 0]
    det = e1u * e2v - e1v * e2u
    keep = (fz > near).all(1) & (x1 >= x0) & (y1 >= y0) & (det.abs() > 1e-12)
    tris = torch.nonzero(keep).squeeze(1)
    if tris.numel() == 0:
        return None
    far = float(fz[tris].max())
    depth_scale = (2**_DEPTH_BITS - 2) / max(far - near, 1e-9)
    nx = (x1 - x0 + 1).long()[tris]
    ny = (y1 - y0 + 1).long()[tris]
    counts = nx * ny
    zbuffer = torch.full((height * width,), torch.iinfo(torch.int64).max, dtype=torch.int64)
    ends = torch.cumsum(counts, 0)
    start = 0
    while start < len(tris):
        # Take triangles until the chunk's candidate budget is spent (at least one triangle).
        base = int(ends[start - 1]) if start else 0
        stop = int(torch.searchsorted(ends, base + _CHUNK, right=True))
        stop = max(stop, start + 1)
        chunk = slice(start, stop)
        t = tris[chunk]
        c = counts[chunk]
        local_t = torch.repeat_interleave(torch.arange(len(t)), c)
        offsets = torch.arange(int(c.sum())) - torch.repeat_interleave(torch.cumsum(c, 0) - c, c)
        cnx = nx[chunk][local_t]
        tt = t[local_t]
        px = x0[tt].long() + offsets % cnx
        py = y0[tt].long() + torch.div(offsets, cnx, rounding_mode="floor")
        du = px.double() + 0.5 - fu[tt, 0]
        dv = py.double() + 0.5 - fv[tt, 0]
        d = det[tt]
        l1 = (du * e2v[tt] - dv * e2u[tt]) / d
        l2 = (e1u[tt] * dv - e1v[tt] * du) / d
        l0 = 1.0 - l1 - l2
        inside = (l0 >= 0) & (l1 >= 0) & (l2 >= 0)
        zt = fz[tt[inside]]
        inv_z = l0[inside] / zt[:, 0] + l1[inside] / zt[:, 1] + l2[inside] / zt[:, 2]
        quant = ((1.0 / inv_z - near) * depth_scale).clamp(0, 2**_DEPTH_BITS - 2).long()
        keys = (quant << 32) | tt[inside]
        zbuffer.scatter_reduce_(0, py[inside] * width + px[inside], keys, reduce="amin")
        start = stop
    pixels = torch.nonzero(zbuffer != torch.iinfo(torch.int64).max).squeeze(1)
    winners = zbuffer[pixels] & 0xFFFFFFFF
    # Recompute exact perspective-correct barycentrics and depth for the winning triangle.
    px = (pixels % width).double() + 0.5
    py = torch.div(pixels, width, rounding_mode="floor").double() + 0.5
    du, dv, d = px - fu[winners, 0], py - fv[winners, 0], det[winners]
    l1 = (du * e2v[winners] - dv * e2u[winners]) / d
    l2 = (e1u[winners] * dv - e1v[winners] * du) / d
    screen = torch.stack([1.0 - l1 - l2, l1, l2], 1).clamp(min=0)
    persp = screen / fz[winners]
    inv_z = persp.sum(1)
    weights = persp / inv_z[:, None]
    # Two-sided headlight Lambert shading: brightness follows |cos| between normal and view ray.
    tri_cam = cam[faces[winners]]
    normal = torch.linalg.cross(tri_cam[:, 1] - tri_cam[:, 0], tri_cam[:, 2] - tri_cam[:, 0])
    point = (weights[:, :, None] * tri_cam).sum(1)
    cos = (normal * point).sum(1).abs() / (normal.norm(dim=1) * point.norm(dim=1)).clamp(min=1e-12)
    intensity = (40.0 + 200.0 * cos).round().clamp(0, 254)
    return (pixels.numpy(), winners.int().numpy(), weights.float().numpy(),
            (1.0 / inv_z).float().numpy(), intensity.to(torch.uint8).numpy())
