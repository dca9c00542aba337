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
