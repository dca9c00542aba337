"""The official object input ('color', run_train.sh OC_SAM_INPUT_TYPE), reproduced on our renderer's outputs.

Facts (saidwivedi/InteractVLM @ 79b4bf2, utils/demo_utils.py `normalize_mesh`, `generate_sam_inp_objs`,
`render_mesh`; run_demo.py 213-216):
- The mesh is centred on its vertex centroid and divided by its largest bounding-box side.
- Cameras: the 4MV-Z_HM angles (frontleft/frontright/backleft/backright, elevation 45/45/330/330, azimuth
  315/45/135/225) at distance 1.5, looking at the origin (the centroid), PyTorch3D FoVPerspectiveCameras (60°);
  the camera numbers fed to the encoder stay those of OBJS_VIEW_DICT, at distance 2.
- Vertex colour = bbox-normalised xyz × 0.8 + 0.1, in the mesh file's own frame.
- HardPhongShader, one PointLights per view at [0,0,3], [0,0,3], [0,0,-3], [0,0,-3] (world frame of the
  normalised mesh), ambient 0.5, diffuse 0.3, specular 0.2, default Materials (colours 1, shininess 64),
  white background, 1024², stored as `(image * 255).astype(uint8)` (truncation).

Our side: the pipeline renders the user's mesh with `object_cameras` (same geometry in the mesh's units: the
distance and the light positions are scaled by the largest side instead of scaling the mesh), and
`colour_views` shades the result per pixel from tri_ids/bary as PyTorch3D's Phong shading does: bary-weighted
vertex positions, colours and area-weighted vertex normals, lights in world space, normals not flipped
towards the camera. It is tested analytically (colours, framing, light terms on simple meshes,
tests/test_object_views.py); it is NOT compared pixel for pixel with PyTorch3D renders (no usable PyTorch3D
wheel for torch 2.13 here): rasterisation rules at triangle edges may differ by a pixel.
Frames: PyTorch3D/OBJ y-up (x, y, z) is our z-up (x, -z, y) (see official_views.py), so colours use the
mesh's axes in that frame: red = our x, green = our z (up), blue = our -y (front).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.geometry import unit, vertex_normals
from backend.localizers.interactvlm.config import OFFICIAL_VIEWS
from backend.localizers.interactvlm.official_views import official_cameras
from backend.render import Camera, RenderedViews

OBJECT_RENDER_DISTANCE = 1.5  # demo_utils.py 192-197; the encoder's camera numbers keep distance 2
# Per view, in the normalised mesh's PyTorch3D world frame (demo_utils.py 23): front views lit from the front.
LIGHT_LOCATIONS = ((0.0, 0.0, 3.0), (0.0, 0.0, 3.0), (0.0, 0.0, -3.0), (0.0, 0.0, -3.0))
AMBIENT, DIFFUSE, SPECULAR = 0.5, 0.3, 0.2  # demo_utils.py 206-211
SHININESS = 64.0  # PyTorch3D Materials default
COLOUR_SCALE, COLOUR_OFFSET = 0.8, 0.1  # demo_utils.py 218-219
_EPS = 1e-6  # PyTorch3D's F.normalize eps in its lighting functions


@dataclass(frozen=True)
class ObjectFrame:
    """Where the official normalisation puts a mesh: centred on `centroid`, divided by `scale`."""

    centroid: np.ndarray  # (3,) float64, mean of the vertices
    scale: float  # largest bounding-box side


def object_frame(vertices: np.ndarray) -> ObjectFrame:
    vertices = np.asarray(vertices, dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        raise ValueError(f"an object mesh needs vertices of shape (N, 3), got {vertices.shape}")
    scale = float(np.max(vertices.max(0) - vertices.min(0)))
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError("the object mesh has no extent (all vertices at one point); send the real mesh")
    return ObjectFrame(vertices.mean(0), scale)


def to_official_frame(points: np.ndarray) -> np.ndarray:
    """Our z-up (x, y, z) -> PyTorch3D/OBJ y-up (x, z, -y) (a rotation: windings and normals are kept)."""
    points = np.asarray(points, dtype=np.float64)
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], -1)


def from_official_frame(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], -1)


def object_cameras(vertices: np.ndarray, view_type: str = "4MV-Z_HM", size: int = 1024) -> list[Camera]:
    """The official object rig for this mesh: its view angles at 1.5 x the largest side from the centroid."""
    frame = object_frame(vertices)
    rig_distance = next(iter(OFFICIAL_VIEWS[view_type].values()))[0]  # 2: the encoder's camera numbers
    return official_cameras(vertices, view_type, size, target=frame.centroid,
                            distance_scale=OBJECT_RENDER_DISTANCE / rig_distance * frame.scale)


def vertex_colours(vertices: np.ndarray) -> np.ndarray:
    """(N,3) float64 in [0.1, 0.9]: bbox-normalised official-frame xyz x 0.8 + 0.1 (a flat axis gives 0.5)."""
    official = to_official_frame(vertices)
    low, extent = official.min(0), official.max(0) - official.min(0)
    in_box = np.where(extent > 0, (official - low) / np.where(extent > 0, extent, 1.0), 0.5)
    return in_box * COLOUR_SCALE + COLOUR_OFFSET


def colour_views(views: RenderedViews, vertices: np.ndarray | None = None) -> np.ndarray:
    """(V,H,W,3) uint8: the official 'color' object input for rendered views (view i lit by LIGHT_LOCATIONS[i]).

    vertices: the rendered mesh (default: views.vertices, which `render` records)."""
    vertices = views.vertices if vertices is None else vertices
    if vertices is None:
        raise ValueError("colour_views needs the rendered mesh's vertices (views made by backend.render.render)")
    vertices = np.asarray(vertices, dtype=np.float64)
    if len(vertices) != views.n_vertices:
        raise ValueError(f"{len(vertices)} vertices given for views of a {views.n_vertices}-vertex mesh")
    if views.n_views > len(LIGHT_LOCATIONS):
        raise ValueError(f"the official object rig has {len(LIGHT_LOCATIONS)} views, got {views.n_views}")
    frame = object_frame(vertices)
    colours = vertex_colours(vertices)
    normals = vertex_normals(vertices, views.faces)
    height, width = views.size
    out = np.full((views.n_views, height, width, 3), 255, dtype=np.uint8)
    for i, camera in enumerate(views.cameras):
        tri = views.tri_ids[i].reshape(-1)
        pixels = np.flatnonzero(tri >= 0)
        if pixels.size == 0:
            continue
        corners = views.faces[tri[pixels]]  # (P,3)
        weights = views.bary[i].reshape(-1, 3)[pixels].astype(np.float64)[..., None]  # (P,3,1)
        points = (weights * vertices[corners]).sum(1)
        texels = (weights * colours[corners]).sum(1)
        normal = unit((weights * normals[corners]).sum(1), _EPS)
        light = frame.centroid + frame.scale * from_official_frame(np.array(LIGHT_LOCATIONS[i]))
        to_light = unit(light - points, _EPS)
        cos = (normal * to_light).sum(-1)
        diffuse = DIFFUSE * np.maximum(cos, 0.0)
        centre = -np.asarray(camera.rotation, np.float64).T @ np.asarray(camera.translation, np.float64)
        to_eye = unit(centre - points, _EPS)
        reflect = -to_light + 2.0 * cos[:, None] * normal
        alpha = np.maximum((to_eye * reflect).sum(-1), 0.0) * (cos > 0)
        rgb = (AMBIENT + diffuse)[:, None] * texels + (SPECULAR * alpha ** SHININESS)[:, None]
        out[i].reshape(-1, 3)[pixels] = np.clip(rgb * 255.0, 0, 255).astype(np.uint8)  # truncation, as official
    return out
