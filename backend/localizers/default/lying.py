"""The support under a lying body: the plane the torso rests on, not the plane under its lowest points.

A body lying on a bed carries its weight on the back and buttocks (or, prone, the chest); the head and
the legs may be raised off it (a pillow, bent knees) and the fit's guess of raised limbs is often low.
The plane under the lowest points then tilts onto whatever limb the fit put lowest, and a band over it
claims the raised head and legs. Here gravity is re-searched near the body's up on the torso alone
(the tilt whose lowest band holds the most torso surface), the support is the plane under the torso,
and a vertex is on it within SUPPORT['lying_band_m'] above it; a part sunk deeper than
SUPPORT['lying_below_m'] below it is off the support's edge (hangs over the side of the bed); a limb
sunk more than SUPPORT['lying_sunk_m'] below it is not on it at all (sunk_limbs); the arm on the camera's
side of the torso is not claimed (near_arm): its height over the bed is MediaPipe's depth. The plane's
pitch along the spine is bounded near level (spine_near_level): the body lies about as it stands.
"""
from __future__ import annotations

import numpy as np

from backend.bodies.parts import PART_ID, part_ids
from backend.geometry import unit
from backend.localizers.default.priors import DETECT, SUPPORT
from backend.localizers.default.resting import resting_direction

TORSO = ("back", "buttocks", "chest", "abdomen", "pelvis")
# The limbs, each a chain of parts the fit poses from its own landmarks (sunk_limbs).
LIMBS = {f"{side} {limb}": tuple(f"{side}_{p}" for p in parts) for side in ("left", "right")
         for limb, parts in (("arm", ("upper_arm", "forearm", "hand", "palm", "fingers")),
                             ("leg", ("thigh", "shin", "foot", "sole")))}
_L_EAR, _R_EAR = 7, 8  # MediaPipe pose landmarks


def _tilted(up: np.ndarray, max_deg: float, step_deg: float) -> np.ndarray:
    """(K,3) unit directions within max_deg of up on a grid of tilts about two axes across it."""
    a = np.cross(up, [1.0, 0.0, 0.0] if abs(up[0]) < 0.9 else [0.0, 1.0, 0.0])
    a = unit(a)
    b = np.cross(up, a)
    t = np.radians(np.arange(-max_deg, max_deg + 1e-6, step_deg))
    ta, tb = np.meshgrid(np.tan(t), np.tan(t), indexing="ij")
    dirs = up[None] + ta.reshape(-1, 1) * a[None] + tb.reshape(-1, 1) * b[None]
    return unit(dirs)


def resting_normal(vertices: np.ndarray, region: np.ndarray, normal: np.ndarray,
                   areas: np.ndarray | None) -> np.ndarray:
    """(3,) the direction (within SUPPORT['lying_tilt_max_deg'] of normal) along which the region's lowest
    SUPPORT['lying_torso_band_m'] holds the most of its surface: the normal of the plane it rests on."""
    points = vertices[region]
    weight = np.ones(len(points)) if areas is None else areas[region]
    weight = weight / weight.sum()
    normal = unit(normal)
    dirs = _tilted(normal, SUPPORT["lying_tilt_max_deg"], SUPPORT["lying_tilt_step_deg"])
    tilt = np.degrees(np.arccos(np.clip(dirs @ normal, -1.0, 1.0)))
    return resting_direction(points, weight, dirs, tilt, SUPPORT["lying_torso_band_m"], SUPPORT["tilt_penalty"])


def torso_up(vertices: np.ndarray, parts: np.ndarray, up: np.ndarray, areas: np.ndarray | None) -> np.ndarray:
    """(3,) the up direction near up whose lowest band of the torso holds the most torso surface: the
    normal of the plane the torso rests on."""
    return resting_normal(vertices, np.isin(parts, part_ids(TORSO)), up, areas)


def standing_vertical(vertices: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """(3,) the fitted torso's standing vertical: Anny's rest up (+Z: the rest pose stands) turned by the
    rigid rotation that best takes the rest torso onto the fitted one (vertices: (N,3) posed Anny)."""
    from backend.localizers.default.fit import rest_posed
    from backend.placement import umeyama

    torso = np.isin(parts, part_ids(TORSO))
    rotation = umeyama(rest_posed()[0][torso], vertices[torso], np.ones(int(torso.sum())), with_scale=False)[:3, :3]
    return rotation @ np.array([0.0, 0.0, 1.0])


def spine_near_level(up: np.ndarray, vertical: np.ndarray) -> tuple[np.ndarray, float]:
    """(3,) up turned about the torso's left-right axis until the torso's standing vertical is within
    SUPPORT['lying_spine_pitch_deg'] of level, and the pitch it had (degrees). A body lying on a flat bed
    lies about as it stands, turned onto its back; the tilt with the most torso surface on the plane
    (torso_up) rocks the fitted torso 2.4-4.2 deg about its left-right axis until the default body's
    shoulder blades join its buttocks on the bed, while whether they reach it is the person's shape
    (shoulder blades and buttocks stand out by different amounts), which the fit (default phenotype) does
    not know: on the tuning and dev seeds' lie_raised images 11 of 20 true bodies rest on the buttocks with
    the lowest point of the back 1.2-3.1 cm above the bed, the other 9 on the whole back too."""
    along = float(np.clip(up @ vertical, -1.0, 1.0))
    level = up - along * vertical
    level = unit(level)
    pitch = np.arcsin(along)
    bound = np.radians(SUPPORT["lying_spine_pitch_deg"])
    kept = float(np.clip(pitch, -bound, bound))
    return level * np.cos(kept) + vertical * np.sin(kept), float(np.degrees(pitch))


def near_arm(joints: dict[str, np.ndarray]) -> str | None:
    """The arm (a LIMBS name) whose shoulder is at least SUPPORT['lying_near_shoulder_m'] nearer the camera
    than the other's (fit frame: Y away from the camera), else None. Its height over the bed is along the
    camera's ray, which MediaPipe's world landmarks flatten: on the tuning and dev seeds' lie_raised images
    the near arm was fitted flat on the bed or into it (-6.5..+1.3 cm) in 11 of 20, the far arm once (sunk),
    and the true arms were 3-8 cm above the bed in all 20 (the photo shows an arm raised beside the torso
    and an arm lying on the bed alike). Lying F1 (geo): seed 17 0.536 -> 0.610 (14.6 -> 9.1 cm), dev 517
    0.546 -> 0.594 (13.1 -> 11.0 cm)."""
    depth = float(joints["shoulder.L"][1] - joints["shoulder.R"][1])
    if abs(depth) < SUPPORT["lying_near_shoulder_m"]:
        return None
    return "left arm" if depth < 0 else "right arm"


def head_flexion_deg(world: np.ndarray, visibility: np.ndarray) -> float:
    """How far the face turns from the torso's front towards the feet (degrees; NaN when the nose or an
    ear is not seen), from MediaPipe's world landmarks: the angle of ears-centre -> nose out of the
    plane across the torso axis. The fit poses the neck from the ears only, so this nod is not in it."""
    from backend.localizers.default import detect as K

    if min(visibility[K.NOSE], visibility[_L_EAR], visibility[_R_EAR]) < DETECT["visible"]:
        return float("nan")
    axis = (world[K.L_SHOULDER] + world[K.R_SHOULDER] - world[K.L_HIP] - world[K.R_HIP]) / 2
    face = world[K.NOSE] - (world[_L_EAR] + world[_R_EAR]) / 2
    cosine = -(face @ axis) / max(float(np.linalg.norm(face) * np.linalg.norm(axis)), 1e-9)
    return float(np.degrees(np.arcsin(np.clip(cosine, -1.0, 1.0))))


def neck_image_bend_deg(image: np.ndarray, visibility: np.ndarray) -> float:
    """How far the neck bends from the torso's line towards the face in the photo (degrees; NaN when a
    shoulder, hip, ear or the nose is not seen), from (33,>=2) pixel keypoints: the angle from hips ->
    shoulders to shoulders -> ears, positive towards the side of the torso line the face (ears -> nose)
    points to. Measured in the photo, not in MediaPipe's depth: its world landmarks keep a lying body's
    neck near neutral however far it is flexed (tuning seed, lie_raised: neck flexed 15-35 deg, the world
    landmarks' neck 0-25 deg from the spine against Anny's rest 20), the photo shows the bend."""
    from backend.localizers.default import detect as K

    needed = [K.NOSE, _L_EAR, _R_EAR, K.L_SHOULDER, K.R_SHOULDER, K.L_HIP, K.R_HIP]
    if visibility[needed].min() < DETECT["visible"]:
        return float("nan")
    p = image[:, :2]
    shoulders = (p[K.L_SHOULDER] + p[K.R_SHOULDER]) / 2
    torso = shoulders - (p[K.L_HIP] + p[K.R_HIP]) / 2
    ears = (p[_L_EAR] + p[_R_EAR]) / 2
    neck, face = ears - shoulders, p[K.NOSE] - ears

    def cross(a: np.ndarray, b: np.ndarray) -> float:
        return float(a[0] * b[1] - a[1] * b[0])

    side = np.sign(cross(torso, face)) or 1.0
    return float(np.degrees(np.arctan2(cross(torso, neck), float(torso @ neck))) * side)


def lying_contact(vertices: np.ndarray, parts: np.ndarray, up: np.ndarray, areas: np.ndarray | None,
                  head_flex: float = float("nan"), neck_bend: float = float("nan"),
                  joints: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """(N,) bool on the support, the support's up, and the report's facts for a lying body.

    The head rests on the support only when its lowest point is within SUPPORT['lying_head_gap_m'] of
    it, and then on its back (lying_head_band_m); a face nodded towards the feet by at least
    SUPPORT['lying_head_flex_deg'] (head_flexion_deg), or a neck bent in the photo towards the face by at
    least SUPPORT['lying_neck_bend_deg'] (neck_image_bend_deg), has its head lifted off it by the neck.
    The plane's pitch along the spine is bounded (spine_near_level); with the fitted joints, the near arm
    (near_arm) is not on the support."""
    up, pitch = spine_near_level(torso_up(vertices, parts, up, areas), standing_vertical(vertices, parts))
    height = vertices @ up
    torso = np.isin(parts, part_ids(TORSO))
    plane = float(height[torso].min())
    above = height - plane
    on = (above <= SUPPORT["lying_band_m"]) & (above >= -SUPPORT["lying_below_m"])
    head = parts == PART_ID["head"]
    head_gap = float(above[head].min())
    # sunk deeper: bent over the edge, or the fit errs; a nodded head is lifted whatever the fit says
    rests = (abs(head_gap) <= SUPPORT["lying_head_gap_m"] and not head_flex >= SUPPORT["lying_head_flex_deg"]
             and not neck_bend >= SUPPORT["lying_neck_bend_deg"])
    on &= ~head
    if rests:
        on |= head & (above <= head_gap + SUPPORT["lying_head_band_m"])
    sunk = sunk_limbs(above, parts)
    near = near_arm(joints) if joints is not None else None
    for name in sunk + ([near] if near else []):
        on[np.isin(parts, part_ids(LIMBS[name]))] = False
    return on, up, {"head_gap_m": round(head_gap, 3), "head_rests": rests, "sunk_limbs": sunk, "near_arm": near,
                    "spine_pitch_deg": round(pitch, 1),
                    "head_flex_deg": None if np.isnan(head_flex) else round(head_flex, 1),
                    "neck_bend_deg": None if np.isnan(neck_bend) else round(neck_bend, 1)}


def sunk_limbs(above: np.ndarray, parts: np.ndarray) -> list[str]:
    """The limbs (LIMBS) whose lowest point lies more than SUPPORT['lying_sunk_m'] below the support under
    a lying torso (above: (N,) heights over it): a limb beside the torso cannot sink into what the torso
    rests on, so either the fit posed it wrong in depth (MediaPipe's depth of a lying body's arms: on the
    tuning and dev seeds' lie_raised images the fitted arms sank up to 11 cm where the true ones were
    3-8 cm above the bed) and where it truly is the photo does not say, or it hangs over the support's
    edge, which it touches at most along a line there, not along the band."""
    return [name for name, limb in LIMBS.items()
            if float(above[np.isin(parts, part_ids(limb))].min()) < -SUPPORT["lying_sunk_m"]]
