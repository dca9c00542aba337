"""Helpers shared by the add-on tests (a module with a unique name, so imports never pick the
other conftest.py)."""
from __future__ import annotations

LOCALIZER = "testing-lowest"  # tests/testing_localizers.py: contact = the lowest 10% of the surface
RESOLUTION = 96


def clear_scene(bpy) -> None:
    for collection in (bpy.data.objects, bpy.data.meshes, bpy.data.images, bpy.data.materials):
        for item in list(collection):
            collection.remove(item)


def add_body(bpy, name: str = "Body", location=(0.0, 0.0, 0.0)):
    """A body-sized ellipsoid (UV sphere, 482 vertices) standing on z = 0; becomes active."""
    bpy.ops.mesh.primitive_uv_sphere_add(segments=32, ring_count=16, radius=1.0, location=location)
    obj = bpy.context.active_object
    obj.name = name
    obj.scale = (0.25, 0.15, 0.85)
    obj.location.z += 0.85
    return obj


def snapshot(bpy) -> dict:
    """Everything the add-on could change: objects' groups, attributes, custom props; images."""
    state = {"images": sorted(i.name for i in bpy.data.images)}
    for obj in bpy.data.objects:
        entry = {"groups": [g.name for g in obj.vertex_groups], "props": sorted(obj.keys())}
        if obj.type == "MESH":
            entry["attributes"] = sorted(a.name for a in obj.data.attributes)
        state[obj.name] = entry
    return state


def add_ellipsoid(bpy, rings: int, segments: int, groups: int = 0, name: str = "Body"):
    """A body-sized closed ellipsoid of quads with triangle fans at the poles (rings*segments + 2
    vertices), built from numpy arrays in a second where bpy.ops' primitives take minutes at 1M
    vertices; with `groups` rig-like vertex groups (bands along its height, each vertex weighted 0.8
    in its band and 0.2 in the band below). Becomes the active object."""
    import numpy as np

    theta = np.linspace(0, np.pi, rings + 2)[1:-1]
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    unit = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    unit = np.vstack([unit, [[0, 0, 1], [0, 0, -1]]])
    co = (unit * (0.25, 0.15, 0.85) + (0, 0, 0.85)).astype(np.float32)
    r, s = np.arange(rings - 1)[:, None], np.arange(segments)[None, :]
    s1 = (s + 1) % segments
    quads = np.stack([r * segments + s, (r + 1) * segments + s, (r + 1) * segments + s1, r * segments + s1], -1)
    top, bottom = rings * segments, rings * segments + 1
    ring, ring1 = np.arange(segments), (np.arange(segments) + 1) % segments
    last = (rings - 1) * segments
    caps = np.concatenate([np.stack([np.full(segments, top), ring, ring1], -1),
                           np.stack([np.full(segments, bottom), last + ring1, last + ring], -1)])
    corners = np.concatenate([quads.reshape(-1), caps.reshape(-1)]).astype(np.int32)
    starts = np.concatenate([np.arange(quads.size // 4) * 4, quads.size + np.arange(len(caps)) * 3]).astype(np.int32)
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(co))
    mesh.vertices.foreach_set("co", co.reshape(-1))
    mesh.loops.add(len(corners))
    mesh.loops.foreach_set("vertex_index", corners)
    mesh.polygons.add(len(starts))
    mesh.polygons.foreach_set("loop_start", starts)
    mesh.update(calc_edges=True)
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    if groups:
        height = co[:, 2]
        band = np.clip(((height - height.min()) / (np.ptp(height) + 1e-9) * groups).astype(int), 0, groups - 1)
        for g in range(groups):
            group = obj.vertex_groups.new(name=f"bone{g:02d}")
            group.add(np.flatnonzero(band == g).tolist(), 0.8, "REPLACE")
            group.add(np.flatnonzero(band == g - 1).tolist(), 0.2, "REPLACE")
    return obj
