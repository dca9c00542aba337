"""Synthetic closed-loop benchmark: posed Anny + analytically placed props, rendered by Blender.

poses.py (posed Anny vertices, no bpy) -> props.py (props touching the intended parts) ->
contact.py (ground truth from mesh proximity) -> generate.py (cameras, lights, the Blender
subprocess `scripts/synth_scene.py`, the DAMON-like dataset layout).
"""
