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
