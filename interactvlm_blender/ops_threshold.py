"""`interactvlm.apply_threshold`: rewrite our Contact group(s) from the stored scores (no model run)."""
from __future__ import annotations

import bpy
from bpy.props import FloatProperty, StringProperty

from . import results
from .ops_job import tell


class INTERACTVLM_OT_apply_threshold(bpy.types.Operator):
    """Rewrite the Contact vertex group from the stored ivlm_contact scores at a new threshold"""

    bl_idname = "interactvlm.apply_threshold"
    bl_label = "Apply Threshold"
    bl_options = {"REGISTER", "UNDO"}

    threshold: FloatProperty(name="Threshold", min=0.0, max=1.0, default=0.5)
    object: StringProperty(name="Object", description="Mesh object name (empty: the active and selected objects)")
    label: StringProperty(name="Label", description="Only this label's result (empty: every stored result)")

    def execute(self, context: bpy.types.Context) -> set[str]:
        threshold = (
            self.threshold if self.properties.is_property_set("threshold") else context.scene.interactvlm.threshold
        )
        if self.object:
            targets = [bpy.data.objects.get(self.object)]
            if targets[0] is None:
                tell(self, "ERROR", f"InteractVLM: there is no object {self.object!r}")
                return {"CANCELLED"}
        else:
            targets = list({o.name: o for o in [context.active_object, *context.selected_objects] if o}.values())
        key = self.label.strip() if self.properties.is_property_set("label") else None
        updated = [o.name for o in targets if results.apply_threshold(o, threshold, key)]
        if not updated:
            tell(self, "WARNING", "InteractVLM: no stored contact result on the chosen objects; estimate first")
            return {"CANCELLED"}
        tell(self, "INFO", f"InteractVLM: threshold {threshold:.2f} applied to {', '.join(updated)}")
        return {"FINISHED"}


CLASSES = (INTERACTVLM_OT_apply_threshold,)
