"""The embedded default localizer: reads the photo with MediaPipe's CPU models (shipped inside the
mediapipe wheel, nothing downloaded), fits Anny's pose to the landmarks and scores contact per
vertex on the fitted body from the supports its pose needs.

Modules: detect (MediaPipe, retried at lower confidence), fit (Anny pose fit), supports (floor,
seat, table, lying support -> per-vertex contact), cues (pose class for the report, hand cues),
hand_object (is something at the hand?), semantic (label lookup), object_rule (object surfaces),
localizer (the Localizer), priors (every threshold and prior, with why); templates + paint: the
pose-template localizer it replaced (`default-templates`, kept for bench/accuracy.py's comparison).
"""
from backend.localizers.default.localizer import DefaultLocalizer, create

__all__ = ["DefaultLocalizer", "create"]
