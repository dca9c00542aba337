"""semantic_contact: the label -> parts prior (priors.LABEL_PARTS) combined with the photo's cues."""
from __future__ import annotations

import numpy as np

from backend.bodies.parts import MIRROR, PART_ID, PARTS
from backend.localizers.default.priors import LABEL_ALIASES, LABEL_PARTS, SEMANTIC

_SOLES = [PART_ID["left_sole"], PART_ID["right_sole"]]


def normalise_label(label: str) -> str | None:
    """The LABEL_PARTS key for a user's label ('Bikes ' -> 'bicycle'), None when unknown.

    The label is first made canonical by backend.labels (the project's one vocabulary), then written
    with spaces as LABEL_PARTS keys are."""
    from backend.labels import normalise_label as canonical

    word = " ".join((canonical(label) or "").replace("_", " ").split())
    candidates = [word, word.rstrip("s"), word[:-2] if word.endswith("es") else word]
    for w in candidates:
        w = LABEL_ALIASES.get(w, w)
        if w in LABEL_PARTS:
            return w
    last = word.split(" ")[-1] if word else ""
    return normalise_label(last) if last and last != word else None


def semantic_scores(label: str, cue_scores: np.ndarray, pose_class: str) -> tuple[np.ndarray, str | None]:
    """Per-part scores for contact with `label`, and the prior key used (None: image cues only).

    Known label: prior * (floor + (1 - floor) * cue), with cue the photo's own score of the part;
    where the photo clearly favours the mirror part (its cue is higher by more than
    SEMANTIC["side_margin"], e.g. the other hand holds the cup) the part gets prior * cue.
    Unknown label: the photo's contacts, without the floor's share when standing or kneeling.
    """
    key = normalise_label(label)
    if key is None:
        scores = cue_scores * SEMANTIC["unknown_scale"]
        if pose_class in ("standing", "kneeling"):  # the floor explains these, not the object
            scores[_SOLES] = 0.0
        return scores.clip(0, 1), None
    prior = np.zeros(len(PARTS))
    for name, value in LABEL_PARTS[key].items():
        prior[PART_ID[name]] = value
    floor = SEMANTIC["prior_floor"]
    other_side = cue_scores[MIRROR] > cue_scores + SEMANTIC["side_margin"]
    scores = np.where(other_side, prior * cue_scores, prior * (floor + (1 - floor) * cue_scores))
    return scores.clip(0, 1), key
