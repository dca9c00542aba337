"""Which hands the default localizer claims, and where: the evidence per side (the report's `hands`)
and the hand contact on the fitted body (hand_patch.py decides the patch).

Evidence, in order: the colour cue (at the hand, or beyond a hanging hand where its load hangs) and
the finger curl (cues.hand_cues); a curled hand with no object colour at it is a fist, not a grasp;
a forearm held out while the other hangs (the arm's pose); the photo's silhouette-edge noise that
explains the colour (hand_object.object_excess), and colour alone only well above the bar; colour that
runs along the body's side (hand_object.torso_side_rare); a support that explains the colour (floor,
seat); one hand unless both show evidence.
"""
from __future__ import annotations

import numpy as np

from backend.bodies.parts import PART_ID
from backend.localizers.default.cues import hand_cues
from backend.localizers.default.detect import Observation
from backend.localizers.default.fit import Fit
from backend.localizers.default.hand_object import (object_excess, rare_colours, silhouette_edge, skin_beyond_mask,
                                                    torso_side_rare)
from backend.localizers.default.hand_patch import forearm_from_down, hand_scores, is_hanging
from backend.localizers.default.priors import DETECT, HANDS, POSE
from backend.localizers.default.supports import Supports

_OTHER = {"left": "right", "right": "left"}


def claimed_hands(obs: Observation, fit: Fit, parts: np.ndarray, faces: np.ndarray,
                  supports: Supports) -> tuple[dict, np.ndarray]:
    """Per side the hand evidence (the report's `hands`), and the (N,) hand contact on the fitted body."""
    hanging = {side: is_hanging(fit.joints, side, supports.up) for side in ("left", "right")}
    rare, edge = rare_colours(obs), silhouette_edge(obs)
    excess = object_excess(obs, hanging, rare, edge)
    hands = _held_out(_fist_without_object(hand_cues(obs, hanging, rare), excess), fit, supports.up, excess)
    skinless = None  # the skin test only where a claim rests on colour alone (a distance transform per photo)
    skin = skin_beyond_mask(obs) if any(_colour_only(c) and c["score"] >= 0.5 for c in hands.values()) else None
    if rare is not None and skin is not None:
        skinless = object_excess(obs, hanging, rare & ~skin, edge)
    side_rare = torso_side_rare(obs, hanging, rare, edge)
    hands = _body_side_explains_colour(_colour_alone(hands, excess, skinless), side_rare, hanging)
    hands = _one_hand_unless_both(_support_explains_colour(hands, fit.vertices, parts, supports, hanging))
    return hands, hand_scores(hands, fit.vertices, faces, parts, fit.joints, supports.up)


def _colour_only(cue: dict) -> bool:
    """The cue's claim rests on the colour cue alone: not held out, no grasp."""
    return not cue.get("held_out") and cue["finger_curl"] < HANDS["curl_grasp"]


def _fist_without_object(hands: dict[str, dict], excess: dict[str, float]) -> dict[str, dict]:
    """A curled hand (finger_curl >= HANDS['curl_grasp']) whose object evidence above the photo's
    silhouette-edge noise (`excess`: hand_object.object_excess) is below HANDS['grasp_object_min'] is a
    fist or a relaxed hand, not a grasp: whatever a hand grasps shows in the photo beside its fingers.
    It stays a hint."""
    out = {}
    for side, cue in hands.items():
        cue = dict(cue)
        if cue["finger_curl"] >= HANDS["curl_grasp"] and excess.get(side, 0.0) < HANDS["grasp_object_min"]:
            cue["score"] = min(cue["score"], HANDS["hint_score"])
            cue["fist"] = True
        out[side] = cue
    return out


def _colour_alone(hands: dict[str, dict], excess: dict[str, float],
                  skinless: dict[str, float] | None = None) -> dict[str, dict]:
    """A hand claimed by the colour cue alone (not held out, no grasp) stays a hint when that colour is
    no more than the photo's silhouette-edge noise (object_excess below HANDS['excess_min']: the blend of
    the body's outline with a shadowed wall or bed right behind it; `explained_by` "silhouette edge"), when
    it is no more once the hand's own skin beyond the person mask is left out (`skinless`: object_excess
    without hand_object.skin_beyond_mask; `explained_by` "the hand's own skin": spread fingers the mask
    missed), or when its claim falls short of HANDS['colour_alone_min'] (`explained_by` "weak colour"):
    colour at the bar and nothing else. Records `object_excess` (and `skinless_excess` when given)."""
    out = {}
    for side, cue in hands.items():
        cue = dict(cue)
        cue["object_excess"] = round(excess.get(side, 0.0), 3)
        if skinless is not None:
            cue["skinless_excess"] = round(skinless.get(side, 0.0), 3)
        alone = cue["score"] >= 0.5 and _colour_only(cue)
        reason = None if not alone else ("silhouette edge" if cue["object_excess"] < HANDS["excess_min"]
                                         else "the hand's own skin"
                                         if cue.get("skinless_excess", cue["object_excess"]) < HANDS["excess_min"]
                                         else "weak colour" if cue["score"] < HANDS["colour_alone_min"] else None)
        if reason:
            cue["score"], cue["explained_by"] = min(cue["score"], HANDS["hint_score"]), reason
        out[side] = cue
    return out


def _body_side_explains_colour(hands: dict[str, dict], side_rare: dict[str, float],
                               hanging: dict[str, bool]) -> dict[str, dict]:
    """The claim of a hand hanging beside the body (`hanging`, per side) on a side whose torso edge is itself
    rare at HANDS['side_edge_rare_max'] or more (`side_rare`: hand_object.torso_side_rare) stays a hint: the
    colour beyond the hand runs up along the body's side, a wall's shadow or a pack behind it, not a load
    hanging from the hand (`explained_by` "body side"). A raised or bent arm keeps its claim below the higher
    HANDS['side_bent_max'] (an object held against the side of the torso, tests/data/astronaut.jpg's helmet,
    reads 0.32 there; a backpack seen past the body 0.40-0.42), and always when held out or grasping.
    Records `side_edge_rare`."""
    out = {}
    for side, cue in hands.items():
        cue = dict(cue)
        cue["side_edge_rare"] = round(side_rare.get(side, 0.0), 3)
        bar = (HANDS["side_edge_rare_max"] if hanging.get(side)
               else HANDS["side_bent_max"] if _colour_only(cue) else np.inf)
        if cue["score"] >= 0.5 and cue["side_edge_rare"] >= bar:
            cue["score"], cue["explained_by"] = min(cue["score"], HANDS["hint_score"]), "body side"
        out[side] = cue
    return out


def _held_out(hands: dict[str, dict], fit: Fit, up: np.ndarray,
              excess: dict[str, float] | None = None) -> dict[str, dict]:
    """One forearm held out at or above level (HANDS['held_out_deg'] from hanging) while the other
    hangs at least HANDS['held_out_gap_deg'] lower: the pose of holding a cup, a phone, a handle. It
    is a claim only with some object evidence at that hand (HANDS['held_out_object_min']), more than
    at the other hand, and never for a lying body (its forearms' angle to gravity says nothing).
    An unseen other wrist (visibility < DETECT['visible']: the far arm of a body seen from behind or
    from the side) has no angle to compare: the fit's is MediaPipe's guess, often raised, so the
    seen forearm held out is the pose by itself.
    "More than at the other hand" compares the evidence above the silhouette-edge noise (`excess`:
    hand_object.object_excess) when given: a hand beside the body has more outline in its disc than
    one held out, so the raw shares are not comparable (tuning seed: one held-out hand, 0.151 against
    the hanging hand's 0.152 raw, 0.112 against 0.098 above the noise; no other claim changed on
    either seed)."""
    more = excess if excess is not None else {side: cue["object_near"] for side, cue in hands.items()}
    angles = {side: forearm_from_down(fit.joints, side, up) for side in hands}
    lying = _torso_from_up(fit.joints, up) >= POSE["torso_lying_min"]
    out = {}
    for side, cue in hands.items():
        cue = dict(cue)
        cue["forearm_deg"] = round(angles[side], 1)
        other = _OTHER[side]
        other_seen = hands.get(other, {}).get("visibility", 1.0) >= DETECT["visible"]
        if (not lying and other in hands and angles[side] >= HANDS["held_out_deg"]
                and (angles[side] - angles[other] >= HANDS["held_out_gap_deg"] or not other_seen)
                and cue["object_near"] >= HANDS["held_out_object_min"]
                and more[side] > more[other]):
            cue["score"] = max(cue["score"], HANDS["held_out_score"])
            cue["held_out"] = True
            cue["other_arm_seen"] = other_seen
        out[side] = cue
    return out


def _torso_from_up(joints: dict[str, np.ndarray], up: np.ndarray) -> float:
    """Degrees between the fitted torso (mid-hips -> mid-shoulders) and up; 0 without the joints."""
    if not all(k in joints for k in ("hip.L", "hip.R", "shoulder.L", "shoulder.R")):
        return 0.0
    torso = (joints["shoulder.L"] + joints["shoulder.R"]) / 2 - (joints["hip.L"] + joints["hip.R"]) / 2
    cos = float(torso @ up) / max(float(np.linalg.norm(torso)), 1e-9)
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def _support_explains_colour(hands: dict[str, dict[str, float]], vertices: np.ndarray, parts: np.ndarray,
                             supports: Supports, hanging: dict[str, bool] | None = None) -> dict[str, dict[str, float]]:
    """A hand within HANDS['near_support_m'] of the floor (a lying or floor-sitting body's hands) or
    within HANDS['near_seat_m'] of a seat's height (a seated body's hands beside the thighs), or a
    `hanging` hand lower than that (beside the seat, whose side the disc beyond the hand then reads), sits
    at the edge of what carries the body, whose colour the object cue then takes for an object: its
    claim there needs a grasp (the support's own contact already covers a hand resting on it)."""
    hanging = hanging or {}
    height = vertices @ supports.up
    floor = float(height.min())
    seats = [s["height_m"] for s in supports.found if s["name"] == "seat"]
    out = {}
    for side, cue in hands.items():
        cue = dict(cue)
        hand = np.isin(parts, (PART_ID[f"{side}_palm"], PART_ID[f"{side}_fingers"]))
        cue["height_m"] = round(float(height[hand].min() - floor), 3)
        on_seat = any(abs(cue["height_m"] - seat) < HANDS["near_seat_m"]
                      or (hanging.get(side) and cue["height_m"] < seat) for seat in seats)
        if (cue["height_m"] < HANDS["near_support_m"] or on_seat) and cue["finger_curl"] < HANDS["curl_grasp"]:
            cue["score"] = min(cue["score"], HANDS["hint_score"])
            cue["explained_by"] = "seat" if on_seat else "floor"
        out[side] = cue
    return out


def _one_hand_unless_both(hands: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Both hands in contact only when both show object evidence or a grasp; otherwise the weaker
    hand stays a hint (one-handed objects came out on both hands, issue 17)."""
    claims = [s for s, c in hands.items() if c["score"] >= 0.5]
    if len(claims) < 2:
        return hands
    evident = [s for s in claims if hands[s]["object_near"] >= HANDS["object_min"]
               or hands[s]["finger_curl"] >= HANDS["curl_grasp"]]
    if len(evident) == 2:
        return hands
    keep = evident[0] if evident else max(claims, key=lambda s: hands[s]["score"])
    out = {s: dict(c) for s, c in hands.items()}
    for side in claims:
        if side != keep:
            out[side]["score"] = min(out[side]["score"], HANDS["hint_score"])
    return out
