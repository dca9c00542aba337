"""The embedded default localizer: reads the photo with MediaPipe's CPU models (shipped inside the
mediapipe wheel, nothing downloaded), fits Anny's pose to the landmarks and scores contact per
vertex on the fitted body from the supports its pose needs.

Modules: detect (MediaPipe, retried at lower confidence), facing (a mirrored left/right reading told by
the feet), fit (Anny pose fit; shins and feet settled on the floor), hidden_legs (a seated body's hidden
shins hang to the floor), stretched_legs (straight legs under a body held up are stretched out on the
floor), folded_shins (a shin short in the photo is folded back: kneeling), folded_thighs (knees fitted on
the floor under short thighs: seated), supports (floor and feet ->
per-vertex contact, calling seats (seat, squat, tables), lying (the plane a lying torso rests on) and
backing (wall, backrest)), resting (the one search for the plane a body rests on), cues (depth-free photo
cues, pose class for the report, hand cues), hand_object (is something at the hand?), hand_claims +
hand_patch (which hand, which patch), carried (backpack straps), semantic (label lookup), object_rule
(object surfaces), localizer (the Localizer), priors (every threshold and prior, with why); templates +
paint: the pose-template localizer it replaced (`default-templates`, kept for bench/accuracy.py's
comparison).
"""
from backend.localizers.default.localizer import DefaultLocalizer, create

__all__ = ["DefaultLocalizer", "create"]
