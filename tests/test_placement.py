"""Contact-guided placement: recover a known displacement from the contact regions."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from backend.placement import contact_weights, place, umeyama
from test_scene_contact import plane


def height(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 0.05 * np.exp(-((x - 0.05) ** 2 + (y + 0.03) ** 2) / 0.01) + 0.02 * np.sin(8 * x) * np.cos(5 * y)


def grid(n: int, size: float) -> tuple[np.ndarray, np.ndarray]:
    """The bumpy height field `height` over an n x n grid of [-size, size]^2."""
    v, f = plane(size, n)
    v[:, 2] = height(v[:, 0], v[:, 1])
    return v, f


def scene(n: int = 81):
    """A bumpy 'body' surface and a block whose underside is a copy of a patch of it (in place)."""
    bv, bf = grid(n, 0.3)
    bidx = np.flatnonzero((np.abs(bv[:, 0] - 0.02) <= 0.1 + 1e-9) & (np.abs(bv[:, 1]) <= 0.1 + 1e-9))
    keep = np.zeros(len(bv), bool)
    keep[bidx] = True
    remap = np.full(len(bv), -1)
    remap[bidx] = np.arange(len(bidx))
    pf = remap[bf[keep[bf].all(1)]]
    bottom = bv[bidx]
    top = bottom + [0, 0, 0.05]
    ov = np.r_[bottom, top]
    of = np.r_[pf[:, ::-1], pf + len(bottom)]  # underside faces down, top faces up
    return bv, bf, ov, of, bidx, np.arange(len(bottom))


def displace(points: np.ndarray, rotvec_deg, shift, pivot, s: float = 1.0) -> np.ndarray:
    r = Rotation.from_rotvec(np.radians(rotvec_deg)).as_matrix()
    return s * (points - pivot) @ r.T + pivot + np.asarray(shift)


def check_recovered(transform: np.ndarray, moved: np.ndarray, original: np.ndarray) -> None:
    back = moved @ transform[:3, :3].T + transform[:3, 3]
    assert np.abs(back - original).max() < 1e-3  # 1 mm everywhere on the object


@pytest.mark.parametrize("rotvec_deg,shift", [([5, -8, 12], [0.04, -0.03, 0.05]), ([-10, 4, -20], [-0.02, 0.05, 0.03])])
def test_known_displacement_is_undone(rotvec_deg, shift):
    bv, bf, ov, of, bidx, oidx = scene()
    moved = displace(ov, rotvec_deg, shift, ov[oidx].mean(0))
    result = place(bv, bf, moved, of, bidx, oidx)
    check_recovered(result.transform, moved, ov)
    true_back = Rotation.from_rotvec(np.radians(rotvec_deg)).inv()
    angle = np.degrees((Rotation.from_matrix(result.transform[:3, :3]) * true_back.inv()).magnitude())
    assert angle < 1.0
    assert result.residual_mean < 1e-3 and result.max_penetration_depth < 1e-3
    assert result.scale == 1.0 and result.moved == "object"


def test_large_contact_regions_are_subsampled_and_still_exact():
    """Its time (target < 20 s) is measured by bench/placement.py."""
    bv, bf, ov, of, bidx, oidx = scene(241)  # 6561 contact vertices per side: above the solve's 2000
    assert len(bidx) > 2000
    moved = displace(ov, [4, 6, -10], [0.03, 0.02, 0.04], ov[oidx].mean(0))
    result = place(bv, bf, moved, of, bidx, oidx)
    check_recovered(result.transform, moved, ov)
    assert result.residual_mean < 1e-3


def test_scale_is_recovered():
    bv, bf, ov, of, bidx, oidx = scene()
    moved = displace(ov, [3, 6, -9], [0.02, 0.01, 0.04], ov[oidx].mean(0), s=1.15)
    result = place(bv, bf, moved, of, bidx, oidx, scale=True)
    check_recovered(result.transform, moved, ov)
    assert result.scale == pytest.approx(1 / 1.15, abs=2e-3)


def test_moving_the_body_gives_the_inverse():
    bv, bf, ov, of, bidx, oidx = scene()
    moved = displace(ov, [5, -8, 12], [0.04, -0.03, 0.05], ov[oidx].mean(0))
    obj = place(bv, bf, moved, of, bidx, oidx)
    body = place(bv, bf, moved, of, bidx, oidx, move="body")
    assert body.moved == "body"
    assert np.allclose(body.transform, np.linalg.inv(obj.transform), atol=1e-9)
    placed_body = bv @ body.transform[:3, :3].T + body.transform[:3, 3]
    assert np.abs(placed_body[bidx] - moved[oidx]).max() < 1e-3  # body patch lands on the object's underside


def test_penetration_term_lifts_a_mismatched_object_out():
    # body: flat floor patch; object: a ball whose contact region is its lower cap. Fitting the cap
    # to the floor alone sinks the ball's bottom; the penetration term pushes it back up.
    bv, bf = plane(0.3, 41)
    import trimesh

    ball = trimesh.creation.icosphere(subdivisions=3, radius=0.1)
    ov = ball.vertices + [0.02, 0.0, 0.2]
    oidx = np.flatnonzero(ball.vertices[:, 2] < -0.07)
    bidx = np.flatnonzero(np.linalg.norm(bv[:, :2], axis=1) < 0.08)
    free = place(bv, bf, ov, ball.faces, bidx, oidx, penetration_weight=0.0)
    guarded = place(bv, bf, ov, ball.faces, bidx, oidx, penetration_weight=100.0)
    assert free.max_penetration_depth > 0.005
    assert guarded.max_penetration_depth < 0.5 * free.max_penetration_depth


def test_umeyama_exact_on_clean_pairs():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(50, 3))
    r = Rotation.from_rotvec([0.3, -0.2, 0.5]).as_matrix()
    dst = 2.0 * src @ r.T + [1, 2, 3]
    t = umeyama(src, dst, np.ones(50), with_scale=True)
    assert np.allclose(t[:3, :3], 2.0 * r) and np.allclose(t[:3, 3], [1, 2, 3])


def test_contact_specs_and_errors():
    idx, w = contact_weights(np.array([3, 1, 1, 2]), 5, "body")
    assert idx.tolist() == [1, 2, 3] and (w == 1).all()
    idx, w = contact_weights(np.array([0, 0.5, 0, 1.0, 0.2]), 5, "body")
    assert idx.tolist() == [1, 3, 4] and w.tolist() == [0.5, 1.0, 0.2]
    with pytest.raises(ValueError, match="empty"):
        contact_weights(np.array([], dtype=int), 5, "body")
    with pytest.raises(ValueError, match=r"lie in \[0, 4\].*\[0, 7\]"):
        contact_weights(np.array([0, 1, 7]), 5, "object")
    with pytest.raises(ValueError, match="at least 3"):
        contact_weights(np.array([0, 1]), 5, "body")
    with pytest.raises(ValueError, match="6 entries but the mesh has 5"):
        contact_weights(np.ones(6), 5, "body")
    bv, bf, ov, of, bidx, oidx = scene()
    with pytest.raises(ValueError, match="move must be"):
        place(bv, bf, ov, of, bidx, oidx, move="both")
