"""The embedded default localizer: reads the photo with MediaPipe's CPU models (shipped inside the
mediapipe wheel, nothing downloaded) and paints per-part contact scores on the rendered views.

Modules: detect (MediaPipe), cues (pose class, support, hands), hand_object (is something at the
hand?), semantic (label priors), object_rule (object surfaces), paint (scores -> masks, within-part
rules), localizer (the Localizer), priors (every threshold and prior, with why).
"""
from backend.localizers.default.localizer import DefaultLocalizer, create

__all__ = ["DefaultLocalizer", "create"]
