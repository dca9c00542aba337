"""Scene settings of the panel (saved with the .blend) and the runtime job status (not saved).

Enums whose values are protocol values (tasks, genders, moves) are built from protocol.py's tuples
by enum_items, which refuses a table that misses or adds a value.
"""
from __future__ import annotations

import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty)

from . import protocol


def enum_items(values: tuple[str, ...], text: dict[str, tuple[str, str]]) -> list[tuple[str, str, str]]:
    """EnumProperty items for protocol `values`, with (name, description) per value from `text`."""
    if set(text) != set(values):
        raise ValueError(f"enum text for {sorted(text)} does not match the protocol's values {list(values)}")
    return [(value, *text[value]) for value in values]


TASKS = enum_items(protocol.TASKS, {
    "human_contact": ("Contact", "Which body vertices touch anything"),
    "semantic_contact": ("Semantic contact", "Which body vertices touch the named object"),
    "object_contact": ("Object contact", "Which vertices of the object mesh are touched")})
IMAGE_SOURCES = [("FILE", "File", "A photo on disk"), ("IMAGE", "Blender image", "An image already loaded in Blender")]
BODY_SOURCES = [
    ("MESH", "Scene mesh", "Render the body mesh itself (any humanoid mesh)"),
    (
        "SMPLX",
        "SMPL-X model",
        f"The body mesh is an SMPL-X mesh ({protocol.SMPLX_VERTEX_COUNT:,} vertices): "
        "render the SMPL-X template from the SMPL-X model folder set in the preferences",
    ),
]
GENDERS = enum_items(protocol.GENDERS, {"neutral": ("Neutral", ""), "male": ("Male", ""), "female": ("Female", "")})
POSES = [("WORLD", "World", "The evaluated mesh as posed in the scene (modifiers applied)"),
         ("REST", "Rest", "The mesh's own rest coordinates (no modifiers, object space)")]


# Localizer names offered while typing in the panel: the built-in ones, plus what the last
# `hello` (Check backend) listed; ops_check fills it. Any other name is still sent as typed.
KNOWN_LOCALIZERS: list[str] = ["default", "interactvlm"]


def _localizer_names(_self, _context, edit_text: str) -> list[str]:
    return [name for name in KNOWN_LOCALIZERS if edit_text.lower() in name.lower()]


HEAT_MAP_DISPLAYS = [
    ("SHADING", "Solid Shading", "Solid shading coloured by the heat-map colour attribute"),
    ("MATERIAL", "Material", "A heat-map material on the mesh, shown in Material Preview and renders"),
]


def _heat_map_toggled(self, context: bpy.types.Context) -> None:
    from . import viewport

    if self.show_heat_map:
        viewport.show_heat_map(context)
    else:
        viewport.hide_heat_map(context)


def _heat_map_display_changed(self, context: bpy.types.Context) -> None:
    from . import viewport

    if self.show_heat_map:  # switch display: restore, then show the other way
        viewport.hide_heat_map(context)
        viewport.show_heat_map(context)


def _is_mesh(_self, obj: bpy.types.Object) -> bool:
    return obj.type == "MESH"


def _threshold_changed(self, context: bpy.types.Context) -> None:
    # Re-threshold the stored results live (the panel's body/object, else the active and selected
    # meshes, as Estimate picks them); objects without our data are left alone.
    from . import results
    from .targets import resolve_targets

    names = resolve_targets(context, self.body.name if self.body else "", self.object.name if self.object else "")
    for name in names:
        obj = bpy.data.objects.get(name) if name else None
        if obj is not None and obj.type == "MESH":
            results.apply_threshold(obj, self.threshold)


class InteractVLMSceneSettings(bpy.types.PropertyGroup):
    image_source: EnumProperty(name="Image source", items=IMAGE_SOURCES, default="FILE")
    image_path: StringProperty(name="Photo", subtype="FILE_PATH", description="Reference photo (PNG or JPEG)")
    image: PointerProperty(name="Image", type=bpy.types.Image, description="A loaded Blender image used as the photo")
    body: PointerProperty(name="Body", type=bpy.types.Object, poll=_is_mesh,
                          description="Body mesh (empty: the active object)")
    object: PointerProperty(name="Object", type=bpy.types.Object, poll=_is_mesh,
                            description="Object mesh (empty: another selected mesh)")
    body_source: EnumProperty(name="Body source", items=BODY_SOURCES, default="MESH")
    gender: EnumProperty(name="Gender", items=GENDERS, default="neutral", description="SMPL-X model file to use")
    task: EnumProperty(name="Task", items=TASKS, default="human_contact")
    label: StringProperty(
        name="Label", description="Object label, e.g. 'bicycle' (semantic contact; optional otherwise)"
    )
    localizer: StringProperty(name="Localizer", search=_localizer_names, search_options=set(),
                              description="Backend localizer name (empty: the backend's default; "
                                          "Check backend in the preferences lists what this backend has)")
    threshold: FloatProperty(name="Threshold", min=0.0, max=1.0, default=0.5, update=_threshold_changed,
                             description="Score cut-off: vertices scoring at least this join the Contact vertex group")
    pose: EnumProperty(name="Pose", items=POSES, default="WORLD")
    show_heat_map: BoolProperty(name="Show Heat Map", default=False, update=_heat_map_toggled,
                                description="Show the contact heat map in the 3D viewports (off: your shading back)")
    heat_map_display: EnumProperty(name="Heat Map Display", items=HEAT_MAP_DISPLAYS, default="SHADING",
                                   update=_heat_map_display_changed, description="How the heat map is shown")
    resolution: IntProperty(name="Resolution", min=protocol.MIN_RESOLUTION, max=protocol.MAX_RESOLUTION,
                            default=protocol.DEFAULT_RESOLUTION,
                            description="Render size of each view in pixels")


class InteractVLMStatus(bpy.types.PropertyGroup):
    """Lives on the WindowManager: the panels' progress bars read it (ops_job.show_progress writes it)."""

    running: BoolProperty(default=False)
    what: StringProperty(default="")  # the running job's kind, e.g. "estimate"
    fraction: FloatProperty(default=0.0, min=0.0, max=1.0)
    stage: StringProperty(default="")
    message: StringProperty(default="")
    backend_report: StringProperty(default="")


CLASSES = (InteractVLMSceneSettings, InteractVLMStatus)


def register_properties() -> None:
    bpy.types.Scene.interactvlm = PointerProperty(type=InteractVLMSceneSettings)
    bpy.types.WindowManager.interactvlm_status = PointerProperty(type=InteractVLMStatus)


def unregister_properties() -> None:
    for owner, name in ((bpy.types.Scene, "interactvlm"), (bpy.types.WindowManager, "interactvlm_status")):
        if hasattr(owner, name):
            delattr(owner, name)
