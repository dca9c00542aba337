"""Which body parts are "in contact": one definition for the result summary, the CLI table and the add-on.

A part is in contact when at least PART_SHARE of its seen vertices score >= the contact threshold. Measured
with the default localizer on the 8 committed Anny photos and the astronaut (tests/data, Anny body, 512 px):
vertices spilled across a part boundary by the lift reach 1.0-3.3% of a part (upper arms when lying, the hand
next to a gripping palm); the smallest real contact region is the back of the head when lying, 16.5%. 5% lies
between. (One spill is larger: 22% of the hand next to a palm on a seat, anny_sit2; see below.)

A localizer that decides per part (its report has `parts_in_contact`, as the default localizer does) paints some
regions onto a neighbouring part on purpose: a sole's floor rim is painted on the foot part (45-47% of it). Its own
list is then the answer, kept only where the share test also passes, so the summary never names a part that the
localizer did not, nor one the mesh does not show.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

PART_SHARE = 0.05


def parts_in_contact(vertex_parts: np.ndarray, contact: np.ndarray, seen: np.ndarray | None = None,
                     reported: Sequence[str] | None = None) -> list[str]:
    """Names of the parts in contact, largest share first (or in the localizer's order when it reported a list).

    Parameters
    ----------
    vertex_parts : (N,) int part index per vertex (backend.bodies.parts.PARTS).
    contact : (N,) bool, the vertex is in contact.
    seen : (N,) int views that see each vertex, or None: every vertex counts.
    reported : the localizer's own `parts_in_contact`, or None.
    """
    from backend.bodies.parts import PARTS

    parts = np.asarray(vertex_parts, dtype=np.int64)
    counted = np.ones(parts.shape, bool) if seen is None else np.asarray(seen) > 0
    totals = np.bincount(parts[counted], minlength=len(PARTS))
    hits = np.bincount(parts[counted & np.asarray(contact, bool)], minlength=len(PARTS))
    share = hits / np.maximum(totals, 1)
    passing = {PARTS[i] for i in np.flatnonzero(share >= PART_SHARE)}
    if reported is not None:
        return [name for name in reported if name in passing]
    return [PARTS[i] for i in np.argsort(-share, kind="stable") if PARTS[i] in passing]
