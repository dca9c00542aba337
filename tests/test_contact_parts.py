"""One definition of the parts in contact (backend/contact_parts.py)."""
from __future__ import annotations

import numpy as np

from backend.bodies.parts import PART_ID
from backend.contact_parts import PART_SHARE, parts_in_contact


def _body() -> np.ndarray:
    return np.repeat([PART_ID["left_palm"], PART_ID["left_hand"], PART_ID["head"]], 200)


def test_a_few_spilled_vertices_do_not_make_a_part_in_contact():
    parts = _body()
    contact = parts == PART_ID["left_palm"]
    contact[np.flatnonzero(parts == PART_ID["left_hand"])[:3]] = True  # 1.5% of the hand: spill
    assert parts_in_contact(parts, contact) == ["left_palm"]
    contact[np.flatnonzero(parts == PART_ID["head"])[: int(200 * PART_SHARE)]] = True  # exactly the share
    assert parts_in_contact(parts, contact) == ["left_palm", "head"]


def test_hidden_vertices_do_not_count_and_the_localizer_list_is_kept_where_the_mesh_agrees():
    parts = _body()
    contact = parts == PART_ID["left_palm"]
    head = np.flatnonzero(parts == PART_ID["head"])
    contact[head[:5]] = True
    seen = np.ones(parts.shape, int)
    seen[head[20:]] = 0  # only 20 head vertices are seen: 5 of them are 25%
    assert parts_in_contact(parts, contact, seen) == ["left_palm", "head"]
    assert parts_in_contact(parts, contact, seen, reported=["head", "left_hand", "left_palm"]) == ["head", "left_palm"]
