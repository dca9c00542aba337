"""Is there an object at the hand? A colour cue around each hand, from the photo and person mask.

Rare colour: pixels in a disc around the hand whose colour is rare for their region - rare among
background colours outside the person mask, or among person colours inside it (the person mask
often swallows a held object, so both count). The evidence is their share of the disc, relative
to HANDS["object_full"].

A hanging load hangs below the hand: for a forearm the fit finds hanging (hand_claims.py) the disc
is centred HANDS["load_beyond"] torso lengths beyond the hand along the forearm in the photo, radius
HANDS["load_radius"] (tuning seed, hanging forearms: holding-vs-empty AUC of the cue 0.77 at the
hand, 0.89 beyond; F1 0.513 -> 0.515, geo 9.99 -> 9.90 cm, carry 0.779 -> 0.812, lean 0.353 -> 0.362).

Silhouette-edge noise (object_excess): along the body's outline the photo blends person and
background colours, rare or not depending on the background (a shadowed wall or a bed right behind
the body: many). The rare share of that band away from the hands is the photo's own noise; the disc's
band pixels are expected to be rare at that share and only the rest is evidence above it. It decides
colour-alone claims, a curled hand's grasp and which of two hands has more (hand_claims.py); the raw
share still gates the held-out pose (tuning seed: held-out true hands read 0.01-0.64 above the noise).
Tuning seed: hands FP 6 -> 3, TP 37 -> 38, F1 0.6065 -> 0.6130, geo 6.05 -> 5.57 cm (dev seed 517:
FP 13 -> 10, F1 0.5520 -> 0.5549, geo 10.45 -> 9.49). Tried with it and dropped: a shadow test (rare
background pixels of a common background chromaticity, darker, globally or against the local
background): it took the grey carried bags too and left the lean images' wall shadows; excluding
pixels between two background colours (a wall-floor line): it took the carried bags' pixels too.

The hand's own skin beyond the mask (skin_beyond_mask): MediaPipe's person mask misses spread fingers;
their pixels are background, rare there, and read as an object at the hand (dev seed 9017: two squats with
their arms held forward, colour 0.40 / 0.52, claimed 1-1.8 m from the feet). Background pixels near the
mask of the face's colour are left out of a colour-alone claim (hand_claims._colour_alone). Left out of
every cue they cost true holds too (their fingers beyond the mask are part of what they read): seed 17
F1 0.6459 -> 0.6348 (any person colour) or 0.6396 (the face's), 9017 geo 6.99 -> 5.81 / 5.90.

Tried and dropped: skipping the silhouette's edge (pixels whose 3x3 neighbourhood holds person and
background blend both colours, rare in both regions): the holding-vs-empty AUC rose 0.785 -> 0.818,
but every true hold's evidence shrank with the empty hands' (seed 17 F1 0.503 / 0.509 at object_full
0.175 / 0.15 against 0.513 without it; behind 0.370 / 0.432 against 0.437; 0.506 against 0.515 with
the hanging-load disc). And "unexplained silhouette"
(person-mask pixels outside capsules drawn around the keypoint limbs): it fired whenever the pose
itself was wrong (arms collapsed onto the torso on a 3/4 view), as often as on real held objects,
so it added false contacts.
"""
from __future__ import annotations

import numpy as np

from backend.localizers.default import detect as K
from backend.localizers.default.priors import HANDS

# Per side: wrist, pinky, index, thumb keypoints of the pose model (a coarse hand).
POSE_HAND = {"left": (15, 17, 19, 21), "right": (16, 18, 20, 22)}
_ELBOW = {"left": K.L_ELBOW, "right": K.R_ELBOW}
_LEVELS = 16  # colour levels per channel: 16^3 bins separate a light-blue rod from a grey-blue body
_N_BINS = _LEVELS**3


def _colour_bins(image: np.ndarray, levels: int = _LEVELS) -> np.ndarray:
    """(H,W) int: each pixel's colour bin, `levels` levels per channel."""
    q = (image[:, :, :3] // (256 // levels)).astype(np.int32)
    return (q[:, :, 0] * levels + q[:, :, 1]) * levels + q[:, :, 2]


def rare_colours(obs: K.Observation) -> np.ndarray | None:
    """(H,W) bool: pixels whose colour is rare in their own region (person or background), None
    without a person mask. Computed once per photo: the histograms do not depend on the hand."""
    if obs.mask is None:
        return None
    person = obs.mask >= HANDS["person_mask"]
    bins = _colour_bins(obs.rgb)
    rare = np.zeros(bins.shape, dtype=bool)
    for region in (person, ~person):
        hist = np.bincount(bins[region], minlength=_N_BINS).astype(np.float64)
        hist /= max(hist.sum(), 1.0)
        rare[region] = hist[bins[region]] < HANDS["rare_share"]
    return rare


def skin_beyond_mask(obs: K.Observation) -> np.ndarray | None:
    """(H,W) bool: background pixels within HANDS['skin_band'] torso lengths of the person mask whose colour
    (HANDS['skin_levels'] levels per channel) makes up at least HANDS['skin_share'] of the face's (the
    mask's pixels within HANDS['skin_face_radius'] torso lengths of the nose): the person's own skin that
    the mask missed, most often spread fingers. Background-rare, they read as an object at the hand.
    None without a mask."""
    if obs.mask is None:
        return None
    from scipy import ndimage

    person = obs.mask >= HANDS["person_mask"]
    torso = _torso_px(obs)
    height, width = obs.size
    yy, xx = np.mgrid[0:height, 0:width]
    nose = obs.image[K.NOSE, :2]
    face = person & ((xx + 0.5 - nose[0]) ** 2 + (yy + 0.5 - nose[1]) ** 2
                     <= (HANDS["skin_face_radius"] * torso) ** 2)
    if not face.any():
        return np.zeros(person.shape, dtype=bool)
    levels = HANDS["skin_levels"]
    bins = _colour_bins(obs.rgb, levels)
    share = np.bincount(bins[face], minlength=levels**3) / float(face.sum())
    near = ndimage.distance_transform_edt(~person) <= HANDS["skin_band"] * torso
    return ~person & near & (share[bins] >= HANDS["skin_share"])


def _torso_px(obs: K.Observation) -> float:
    """The torso's length in the photo (mid-shoulders to mid-hips), at least 8 px."""
    shoulders = (obs.image[K.L_SHOULDER, :2] + obs.image[K.R_SHOULDER, :2]) / 2
    hips = (obs.image[K.L_HIP, :2] + obs.image[K.R_HIP, :2]) / 2
    return max(float(np.linalg.norm(shoulders - hips)), 8.0)


def _hand_disc(obs: K.Observation, side: str, hanging: bool) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The disc the object cue reads for this side's hand: its ((y0, y1, x0, x1) window, (h,w) bool disc
    within it), or None when it lies outside the photo. A `hanging` forearm's disc lies beyond the hand."""
    height, width = obs.size
    centre = obs.image[list(POSE_HAND[side]), :2].mean(0)
    torso = _torso_px(obs)
    radius = HANDS["hand_radius"] * torso
    if hanging:
        forearm = obs.image[POSE_HAND[side][0], :2] - obs.image[_ELBOW[side], :2]
        centre = centre + HANDS["load_beyond"] * torso * forearm / max(float(np.linalg.norm(forearm)), 1e-6)
        radius = HANDS["load_radius"] * torso
    x0, x1 = int(max(centre[0] - radius, 0)), int(min(centre[0] + radius + 1, width))
    y0, y1 = int(max(centre[1] - radius, 0)), int(min(centre[1] + radius + 1, height))
    if x1 <= x0 or y1 <= y0:
        return None
    yy, xx = np.mgrid[y0:y1, x0:x1]
    return (y0, y1, x0, x1), (xx + 0.5 - centre[0]) ** 2 + (yy + 0.5 - centre[1]) ** 2 <= radius**2


def object_near_hand(obs: K.Observation, side: str, rare: np.ndarray | None, hanging: bool = False) -> float:
    """Object evidence in [0,1] for the disc around this side's hand (`rare`: rare_colours(obs)), or
    for a `hanging` forearm the disc beyond the hand along the forearm, where a carried load hangs."""
    found = None if rare is None else _hand_disc(obs, side, hanging)
    if found is None:
        return 0.0
    (y0, y1, x0, x1), disc = found
    area = max(int(disc.sum()), 1)  # the part of the disc inside the photo
    return float(np.clip(rare[y0:y1, x0:x1][disc].sum() / area / HANDS["object_full"], 0.0, 1.0))


def silhouette_edge(obs: K.Observation) -> np.ndarray | None:
    """(H,W) bool: the band within HANDS['edge_band_px'] pixels of the person mask's outline (either
    side), None without a mask. Its pixels blend the person's and the background's colours. The photo's
    frame is no outline (a body cut off by it has none there): the filters reflect at the border.
    ~20 ms at DETECT['max_side'] 640 px."""
    if obs.mask is None:
        return None
    from scipy import ndimage

    person = (obs.mask >= HANDS["person_mask"]).astype(np.uint8)
    band = HANDS["edge_band_px"]
    offsets = np.abs(np.arange(-band, band + 1))
    diamond = offsets[:, None] + offsets[None, :] <= band  # the pixels within `band` steps (4-connected)
    return ndimage.maximum_filter(person, footprint=diamond) > ndimage.minimum_filter(person, footprint=diamond)


def object_excess(obs: K.Observation, hanging: dict[str, bool], rare: np.ndarray | None,
                  edge: np.ndarray | None = None) -> dict[str, float]:
    """Per side, the object cue above the photo's own silhouette-edge noise, in object_near's units.

    Along the person's outline the photo blends person and background colours; how rare those blends
    are depends on the background (a shadowed wall or bed right behind the body makes many of them
    rare), not on what the hands hold. The share of rare pixels in the edge band away from both hands'
    discs is that photo's edge noise; each disc's edge-band pixels are expected to be rare at that
    share, and only the rare pixels beyond it count as an object. edge: silhouette_edge(obs) when already made."""
    edge = silhouette_edge(obs) if edge is None else edge
    if rare is None or edge is None:
        return {side: 0.0 for side in POSE_HAND}
    discs = {side: _hand_disc(obs, side, bool(hanging.get(side))) for side in POSE_HAND}
    away = _away_from(edge, discs)
    noise = float(rare[away].sum()) / max(int(away.sum()), 1)
    out = {}
    for side, found in discs.items():
        if found is None:
            out[side] = 0.0
            continue
        (y0, y1, x0, x1), disc = found
        area = max(int(disc.sum()), 1)
        excess = float(rare[y0:y1, x0:x1][disc].sum()) - noise * float(edge[y0:y1, x0:x1][disc].sum())
        out[side] = float(np.clip(excess / area / HANDS["object_full"], 0.0, 1.0))
    return out


def _away_from(edge: np.ndarray, discs: dict) -> np.ndarray:
    """`edge` without the pixels of the hands' discs (_hand_disc results; None: outside the photo)."""
    away = edge.copy()
    for found in discs.values():
        if found is not None:
            (y0, y1, x0, x1), disc = found
            away[y0:y1, x0:x1] &= ~disc
    return away


_SHOULDER = {"left": K.L_SHOULDER, "right": K.R_SHOULDER}
_HIP = {"left": K.L_HIP, "right": K.R_HIP}


def torso_side_rare(obs: K.Observation, hanging: dict[str, bool], rare: np.ndarray | None,
                    edge: np.ndarray | None = None) -> dict[str, float]:
    """Per side, the rare share of the silhouette-edge band beside the torso on that side (between its
    shoulder and hip: HANDS['side_strip_along'] of the way, HANDS['side_strip'] torso lengths in and out of
    the shoulder-hip line; the hands' discs left out); 0 when fewer than HANDS['side_strip_min_px'] pixels
    of it are seen, or when it is less than HANDS['side_over_outline'] times the share along the whole
    outline (a cluttered background makes every edge rare: then the torso's side says nothing).

    What lies beside the whole side of the body is no held object: a wall's shadow cast right beside a
    leaning body, a backpack seen past it. There the colour the object cue finds at the hand runs along
    the torso too (hand_claims._body_side_explains_colour). edge: silhouette_edge(obs) when already made."""
    edge = silhouette_edge(obs) if edge is None else edge
    if rare is None or edge is None:
        return {side: 0.0 for side in POSE_HAND}
    away = _away_from(edge, {side: _hand_disc(obs, side, bool(hanging.get(side))) for side in POSE_HAND})
    height, width = obs.size
    yy, xx = np.mgrid[0:height, 0:width]
    inward, outward = HANDS["side_strip"]
    first, last = HANDS["side_strip_along"]
    outline = float(rare[edge].sum()) / max(int(edge.sum()), 1)
    out = {}
    for side, other in (("left", "right"), ("right", "left")):
        shoulder, hip = obs.image[_SHOULDER[side], :2], obs.image[_HIP[side], :2]
        along = hip - shoulder
        length = max(float(np.linalg.norm(along)), 1e-6)
        normal = np.array([along[1], -along[0]]) / length
        middle = (obs.image[_SHOULDER[other], :2] + obs.image[_HIP[other], :2]) / 2
        if (middle - shoulder) @ normal > 0:  # the normal points away from the body
            normal = -normal
        off = ((xx - shoulder[0]) * normal[0] + (yy - shoulder[1]) * normal[1]) / length
        t = ((xx - shoulder[0]) * along[0] + (yy - shoulder[1]) * along[1]) / length**2
        strip = away & (t > first) & (t < last) & (off > -inward) & (off < outward)
        count = int(strip.sum())
        share = float(rare[strip].sum()) / count if count >= HANDS["side_strip_min_px"] else 0.0
        out[side] = share if share >= HANDS["side_over_outline"] * outline else 0.0
    return out
