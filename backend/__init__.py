"""InteractVLM backend: Render-Localize-Lift contact estimation, run outside Blender."""
__version__ = "0.1.0"
