"""The official human views as a canonical surface of the Localizer contract (backend.localizers.base).

The views and maps come from the data folder (official_data); the surface is SMPL-H's 6,890 vertices, whose
geometry is not shipped (NaN): the maps index them. Its scores reach
- an SMPL/SMPL-H body (6,890 vertices) by vertex index,
- an SMPL-X body (10,475) by the official SMPL-H -> SMPL-X matrix,
- any other body (Anny, a rig) by the matrix and then part-consistently from the SMPL-X template
  (backend.bodies.correspondence), which needs SMPLX_NEUTRAL.npz: from the data folder's body_models/smplx
  (the official layout) or the SMPL-X folder given; without it those bodies are re-rendered (a warning says so).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from backend.bodies.correspondence import Bridge, Surface, surface_of
from backend.localizers.base import CanonicalViews
from backend.localizers.interactvlm.official_data import (SMPLH_VERTICES, SMPLX_VERTICES, read_human_views,
                                                           read_smplx_matrix, smplx_model_dir, views_from_maps)


@dataclass(frozen=True)
class OfficialHuman:
    """canonical: the views, images and SMPL-H surface; images_sha256 keys their cached SAM embeddings;
    smplx_template: where the SMPL-X geometry came from (None: unknown, only SMPL-H/SMPL-X bodies by index)."""

    folder: Path
    view_type: str
    canonical: CanonicalViews
    images_sha256: str
    smplx_template: Path | None

    def serves(self, n_vertices: int | None) -> bool:
        """Whether scores can reach a body of this many vertices (None: no body, the SMPL-H surface itself)."""
        return self.smplx_template is not None or n_vertices in (None, SMPLH_VERTICES, SMPLX_VERTICES)


def load_official_human(folder: str | Path, view_type: str, smplx_dir: str | Path | None = None) -> OfficialHuman:
    """Read the data folder (DataFolderError naming the bad file) and build the canonical SMPL-H surface."""
    from backend.bodies.smplx_body import load_smplx

    folder = Path(folder)
    human = read_human_views(folder, view_type)
    faces, views = views_from_maps(human)
    matrix = read_smplx_matrix(folder)
    template = Path(smplx_dir) if smplx_dir else smplx_model_dir(folder)
    if template is not None:
        smplx = replace(surface_of(load_smplx(template)), index_by_count=True)
    else:
        smplx = Surface("smplx", np.full((SMPLX_VERTICES, 3), np.nan, np.float32), np.zeros((0, 3), np.int32),
                        np.zeros(SMPLX_VERTICES, np.int16), index_by_count=True)
    smplh = Surface("smplh", np.full((SMPLH_VERTICES, 3), np.nan, np.float32), faces,
                    np.zeros(SMPLH_VERTICES, np.int16), bridges=(Bridge(smplx, matrix),), index_by_count=True)
    canonical = CanonicalViews(surface=smplh, views=views, images=human.images)
    return OfficialHuman(folder, view_type, canonical, human.images_sha256, template)
