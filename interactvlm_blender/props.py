"""Scene settings of the panel (saved with the .blend) and the runtime job status (not saved).

Enums whose values are protocol values (tasks, genders, moves) are built from protocol.py's tuples
by enum_items, which refuses a table that misses or adds a value.
"""
from __future__ import annotations

import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty)

from . import protocol
from .messages import artist_text


def enum_items(values: tuple[str, ...], text: dict[str, tuple[str, str]]) -> list[tuple[str, str, str]]:
    """EnumProperty items for protocol `values`, with (name, description) per value from `text`."""
    if set(text) != set(values):
        raise ValueError(f"enum text for {sorted(text)} does not match the protocol's values {list(values)}")
    return [(value, *text[value]) for value in values]


TASKS = enum_items(protocol.TASKS, {
    "human_contact": ("Contact", "Which body vertices touch anything"),
    "semantic_contact": ("Semantic Contact", "Which body vertices touch the named object"),
    "object_contact": ("Object Contact", "Which vertices of the object mesh are touched")})
IMAGE_SOURCES = [("FILE", "File", "A photo on disk"), ("IMAGE", "Blender Image", "An image already loaded in Blender")]
BODY_SOURCES = [
    ("MESH", "Scene Mesh", "Render the body mesh itself (any humanoid mesh)"),
    (
        "SMPLX",
        "SMPL-X Model",
        f"The body mesh is an SMPL-X mesh ({protocol.SMPLX_VERTEX_COUNT:,} vertices): "
        "render the SMPL-X template from the SMPL-X model folder set in the preferences",
    ),
]
GENDERS = enum_items(protocol.GENDERS, {"neutral": ("Neutral", ""), "male": ("Male", ""), "female": ("Female", "")})
POSES = [("WORLD", "World", "The evaluated mesh as posed in the scene (modifiers applied)"),
         ("REST", "Rest", "The mesh's own rest coordinates (no modifiers, object space)")]


# The localizer and label choices come from the last `hello` (managed.LAST_HELLO: Check Backend, the
# same answer the set-up checklist shows), so drawing the panel never waits on the backend; with no
# cached hello the choice is the backend's default. The stored setting stays the name (text), so
# scripts and saved files keep working whatever the backend lists.
_ITEMS: list[tuple[str, str, str, str, int]] = []  # kept alive: Blender keeps no reference to item strings
DEFAULT_CHOICE = "__default__"  # the "backend's default" item (stored as an empty name; "" is no identifier)


def _hello() -> dict:
    from . import managed

    return managed.LAST_HELLO


def localizer_items(_self, context: bpy.types.Context | None) -> list[tuple[str, str, str, str, int]]:
    """The enum items: the backend's default, each localizer the cached hello lists (an unavailable
    one says why in its tooltip), and the current name when the backend did not list it."""
    hello = _hello()
    default = hello.get("default_localizer") or "default"
    items = [(DEFAULT_CHOICE, "Default", f"The backend's default localizer ({default})", "NONE")]
    for row in hello.get("localizers") or []:
        name = str(row.get("name") or "")
        if not name:
            continue
        if row.get("available"):
            items.append((name, name, f"Localizer {name}: ready", "CHECKMARK"))
        else:
            reason = artist_text(str(row.get("reason") or "unknown reason"))
            items.append((name, name, f"Unavailable: {reason}", "ERROR"))
    current = context.scene.interactvlm.localizer if context is not None and context.scene else ""
    if current and current not in {item[0] for item in items}:
        items.append((current, current, "Not listed by the last Check Backend", "QUESTION"))
    _ITEMS[:] = [(*item, index) for index, item in enumerate(items)]
    return _ITEMS


def _get_localizer_choice(self) -> int:
    items = localizer_items(self, bpy.context)
    return next((item[4] for item in items if item[0] == (self.localizer or DEFAULT_CHOICE)), 0)


def _set_localizer_choice(self, value: int) -> None:
    items = localizer_items(self, bpy.context)
    name = next((item[0] for item in items if item[4] == value), DEFAULT_CHOICE)
    self.localizer = "" if name == DEFAULT_CHOICE else name


def label_suggestions(_self, _context, edit_text: str) -> list[str]:
    """The canonical label vocabulary (from the cached hello) completing the last comma-separated
    label; free text is still accepted."""
    head, _, last = edit_text.rpartition(",")
    prefix = f"{head}, " if head else ""
    word = last.strip().lower().replace(" ", "_")
    return [prefix + name for name in _hello().get("labels") or [] if word in name]


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
    image_source: EnumProperty(name="Image Source", items=IMAGE_SOURCES, default="FILE")
    image_path: StringProperty(name="Photo", subtype="FILE_PATH", description="Reference photo (PNG or JPEG)")
    image: PointerProperty(name="Image", type=bpy.types.Image, description="A loaded Blender image used as the photo")
    body: PointerProperty(name="Body", type=bpy.types.Object, poll=_is_mesh,
                          description="Body mesh (empty: the active object)")
    object: PointerProperty(name="Object", type=bpy.types.Object, poll=_is_mesh,
                            description="Object mesh (empty: another selected mesh)")
    body_source: EnumProperty(name="Body Source", items=BODY_SOURCES, default="MESH")
    gender: EnumProperty(name="Gender", items=GENDERS, default="neutral", description="SMPL-X model file to use")
    task: EnumProperty(name="Task", items=TASKS, default="human_contact")
    label: StringProperty(
        name="Label", search=label_suggestions, search_options={"SUGGESTION", "SORT"},
        description="Objects in the photo, comma-separated, e.g. 'bicycle, bench' (needed for semantic contact)")
    localizer: StringProperty(name="Localizer", description="Backend localizer name (empty: the backend's default)")
    localizer_choice: EnumProperty(name="Localizer", items=localizer_items, get=_get_localizer_choice,
                                   set=_set_localizer_choice,
                                   description="The localizer the backend runs (Check Backend lists what it has)")
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
