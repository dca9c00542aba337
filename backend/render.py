"""Multi-view CPU rendering of a triangle mesh with an id buffer (the 'Render' of RLL).

Tested against Embree ray casting (tests/test_render.py) and benchmarked (bench/render_lift.py:
0.17 s render + lift of Anny at 4 x 1024², id buffer identical to Embree's).

CONTRACT (the types and signatures below are fixed):

Camera: a pinhole camera. world->camera is x_cam = R @ x_world + t; the camera looks along its
+Z axis, image x to the right, image y down (OpenCV convention). Pixel (u, v) of an HxW image
has its centre at (u + 0.5, v + 0.5).

RenderedViews, per view i:
    tri_ids[i]  (H,W) int32   triangle index into `faces`, -1 = background
    bary[i]     (H,W,3) float32 barycentric weights of the triangle's 3 vertices (0 on background)
    depth[i]    (H,W) float32  camera-space z (inf on background)
    shaded[i]   (H,W) uint8    grey Lambert/normal shading, white (255) background
vertices        (N,3) float32  the rendered mesh's vertices (None for views not made by `render`, e.g. fixed
                               canonical views), for a localizer that shades the views itself
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.progress import NO_STEPS, Steps


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
    vertices: np.ndarray | None = None  # (N,3) float32, the rendered mesh (None where the views were not rendered)

    @property
    def n_views(self) -> int:
        return len(self.cameras)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.tri_ids.shape[1]), int(self.tri_ids.shape[2])


# Candidates (triangle x pixel pairs) processed at once; bounds memory to a few hundred MB.
_CHUNK = 1 << 21
_DEPTH_BITS = 31


def render(vertices: np.ndarray, faces: np.ndarray, cameras: list[Camera], near: float = 1e-3,
           steps: Steps = NO_STEPS) -> RenderedViews:
    """Rasterise the mesh in every camera (both faces of each triangle; the nearest wins).

    Triangles with a vertex closer than `near` to a camera's plane are dropped in that view
    (no near-plane clipping: the rigs keep meshes well in front of the cameras). `steps` hears
    progress after every chunk of candidates and every view (and may raise to cancel).
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
        def chunk_done(fraction: float, i: int = i) -> None:
            steps((i + fraction) / n, f"view {i + 1} of {n}")

        view = _rasterise_view(verts_t, faces_t, camera, near, chunk_done)
        steps((i + 1) / n, f"view {i + 1} of {n}")
        if view is None:
            continue
        pixels, winners, weights, z, intensity = view
        tri_ids[i].reshape(-1)[pixels] = winners  # each view is contiguous: reshape gives a view
        bary[i].reshape(-1, 3)[pixels] = weights
        depth[i].reshape(-1)[pixels] = z
        shaded[i].reshape(-1)[pixels] = intensity
    return RenderedViews(cameras=list(cameras), faces=faces, n_vertices=int(vertices.shape[0]),
                         tri_ids=tri_ids, bary=bary, depth=depth, shaded=shaded,
                         vertices=np.asarray(vertices, dtype=np.float32))


def _project(verts, camera: Camera):
    import torch

    rotation = torch.from_numpy(np.asarray(camera.rotation, dtype=np.float64))
    translation = torch.from_numpy(np.asarray(camera.translation, dtype=np.float64))
    cam = verts @ rotation.T + translation
    cx, cy = camera.principal
    z = cam[:, 2]
    safe = torch.where(z.abs() > 1e-12, z, torch.full_like(z, 1e-12))
    return cam[:, 0] / safe * camera.focal + cx, cam[:, 1] / safe * camera.focal + cy, z, cam


def _rasterise_view(verts, faces, camera: Camera, near: float, chunk_done=lambda fraction: None):
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
    # Screen-space barycentrics l1, l2 and 1/z are affine in the pixel centre (x, y): precompute
    # the 9 coefficients per triangle so each candidate needs one gather and a few FMAs.
    k = tris
    d = det[k]
    a1, b1 = e2v[k] / d, -e2u[k] / d
    a2, b2 = -e1v[k] / d, e1u[k] / d
    c1 = -(a1 * fu[k, 0] + b1 * fv[k, 0])
    c2 = -(a2 * fu[k, 0] + b2 * fv[k, 0])
    iz = 1.0 / fz[k]
    az = (iz[:, 1] - iz[:, 0]) * a1 + (iz[:, 2] - iz[:, 0]) * a2
    bz = (iz[:, 1] - iz[:, 0]) * b1 + (iz[:, 2] - iz[:, 0]) * b2
    cz = iz[:, 0] + (iz[:, 1] - iz[:, 0]) * c1 + (iz[:, 2] - iz[:, 0]) * c2
    coef = torch.stack([a1, b1, c1, a2, b2, c2, az, bz, cz], 1).float()
    tx0, ty0 = x0[k].int(), y0[k].int()
    nx = (x1 - x0 + 1)[k].int()
    counts = nx.long() * (y1 - y0 + 1)[k].long()
    zbuffer = torch.full((height * width,), torch.iinfo(torch.int64).max, dtype=torch.int64)
    ends = torch.cumsum(counts, 0)
    start = 0
    while start < len(tris):
        # Take triangles until the chunk's candidate budget is spent (at least one triangle).
        base = int(ends[start - 1]) if start else 0
        stop = max(int(torch.searchsorted(ends, base + _CHUNK, right=True)), start + 1)
        c = counts[start:stop]
        lt = torch.repeat_interleave(torch.arange(start, stop, dtype=torch.int32), c)
        offsets = torch.arange(int(c.sum()), dtype=torch.int32)
        offsets -= torch.repeat_interleave((torch.cumsum(c, 0) - c).int(), c)
        cnx = nx[lt]
        row = torch.div(offsets, cnx, rounding_mode="floor")
        px = tx0[lt] + (offsets - row * cnx)
        py = ty0[lt] + row
        g = coef[lt]
        x = px.float() + 0.5
        y = py.float() + 0.5
        l1 = g[:, 0] * x + g[:, 1] * y + g[:, 2]
        l2 = g[:, 3] * x + g[:, 4] * y + g[:, 5]
        inside = torch.nonzero((l1 >= 0) & (l2 >= 0) & (l1 + l2 <= 1)).squeeze(1)
        gi = g[inside]
        inv_z = gi[:, 6] * x[inside] + gi[:, 7] * y[inside] + gi[:, 8]
        quant = ((1.0 / inv_z.double() - near) * depth_scale).clamp(0, 2**_DEPTH_BITS - 2).long()
        keys = (quant << 32) | lt[inside].long()  # local index of the kept triangle
        zbuffer.scatter_reduce_(0, (py[inside] * width + px[inside]).long(), keys, reduce="amin")
        start = stop
        chunk_done(0.9 * start / len(tris))  # the winners' pass after the loop is the last ~10%
    pixels = torch.nonzero(zbuffer != torch.iinfo(torch.int64).max).squeeze(1)
    local = zbuffer[pixels] & 0xFFFFFFFF
    winners = tris[local]
    # Recompute exact perspective-correct barycentrics and depth for the winning triangle.
    x = (pixels % width).float() + 0.5
    y = torch.div(pixels, width, rounding_mode="floor").float() + 0.5
    g = coef[local]
    l1 = (g[:, 0] * x + g[:, 1] * y + g[:, 2]).clamp(0, 1)
    l2 = (g[:, 3] * x + g[:, 4] * y + g[:, 5]).clamp(0, 1)
    screen = torch.stack([(1.0 - l1 - l2).clamp(min=0), l1, l2], 1)
    persp = screen * iz[local].float()
    inv_z = persp.sum(1)
    weights = persp / inv_z[:, None]
    # Two-sided headlight Lambert shading: brightness follows |cos| between normal and view ray.
    tri_cam = cam[faces[tris]]
    normal = torch.linalg.cross(tri_cam[:, 1] - tri_cam[:, 0], tri_cam[:, 2] - tri_cam[:, 0])
    normal = (normal / normal.norm(dim=1, keepdim=True).clamp(min=1e-20)).float()
    cx, cy = camera.principal
    ray = torch.stack([x - cx, y - cy, torch.full_like(x, camera.focal)], 1)
    cos = (normal[local] * ray).sum(1).abs() / ray.norm(dim=1)
    intensity = (40.0 + 200.0 * cos).round().clamp(0, 254)
    return (pixels.numpy(), winners.int().numpy(), weights.numpy(),
            (1.0 / inv_z).numpy(), intensity.to(torch.uint8).numpy())
