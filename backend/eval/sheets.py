"""Visual sheets: photo | predicted heat map on the body | ground truth, front and back views."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.render import RenderedViews, render


def body_views(canonical_vertices: np.ndarray, faces: np.ndarray, size: int) -> RenderedViews:
    """Front and back renders of the body, drawn once per sheet and tinted per heat map."""
    from backend.cameras import body_rig

    return render(canonical_vertices, faces, body_rig(canonical_vertices, size)[:2])  # front, back


def heat_views(views: RenderedViews, values: np.ndarray) -> np.ndarray:
    """(H, 2W, 3) uint8: the body_views side by side, shading tinted from grey (0) to red (1)."""
    from backend.lift import project

    heat = np.clip(project(views, np.asarray(values, np.float32)), 0, 1)[..., None]
    shade = views.shaded[..., None].astype(np.float32) / 255.0
    grey = np.array([0.85, 0.85, 0.85])
    red = np.array([0.95, 0.1, 0.05])
    rgb = shade * (grey * (1 - heat) + red * heat)
    rgb = np.where((views.tri_ids >= 0)[..., None], rgb, 1.0)
    return (np.concatenate(list(rgb), axis=1) * 255).round().astype(np.uint8)


def _fit(image: np.ndarray, height: int) -> np.ndarray:
    from PIL import Image

    h, w = image.shape[:2]
    return np.asarray(Image.fromarray(image).convert("RGB").resize((max(1, round(w * height / h)), height)))


def write_sheet(path: Path, rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]], canonical_vertices: np.ndarray,
                faces: np.ndarray, size: int = 256) -> None:
    """rows: (photo uint8, predicted scores (N,), ground truth (N,)); one sheet row per image."""
    from PIL import Image

    views = body_views(canonical_vertices, faces, size)
    lines = []
    for photo, pred, gt in rows:
        cells = [_fit(photo, size), heat_views(views, pred), heat_views(views, gt)]
        gap = np.full((size, 8, 3), 255, np.uint8)
        lines.append(np.concatenate([cells[0], gap, cells[1], gap, cells[2]], axis=1))
    width = max(line.shape[1] for line in lines)
    lines = [np.pad(line, ((0, 4), (0, width - line.shape[1]), (0, 0)), constant_values=255) for line in lines]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(lines, axis=0)).save(path)
