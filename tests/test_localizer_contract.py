"""The Localizer contract's optional parts through the real pipeline, and body-to-body transfer."""
from __future__ import annotations

import numpy as np
import pytest

from backend.bodies.base import Body
from backend.bodies.correspondence import Surface, surface_of, transfer_rule, transfer_scores
from backend.bodies.parts import PART_ID
from backend.localizers.base import (NO_STEPS, CanonicalViews, FittedBody, Localizer, LocalizerOutput, Query,
                                     Steps, SurfaceScores)
from backend.render import RenderedViews


def _soles(body_parts: np.ndarray) -> np.ndarray:
    return np.isin(body_parts, [PART_ID["left_sole"], PART_ID["right_sole"]]).astype(np.float32)


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = float((pred & truth).sum())
    return 0.0 if tp == 0 else 2 * tp / (pred.sum() + truth.sum())


def test_transfer_by_index_and_by_matrix(anny_body):
    surface = surface_of(anny_body)
    scores = _soles(anny_body.parts)
    assert np.array_equal(transfer_scores(scores, surface, surface), scores)
    assert transfer_rule(surface, surface) == "anny by vertex index"
    # A (3, N) selection matrix: target vertex j takes source vertex picks[j].
    picks = np.flatnonzero(scores)[:3]
    matrix = np.zeros((3, surface.n_vertices), np.float32)
    matrix[np.arange(3), picks] = 1.0
    small = Surface("three", surface.vertices[picks], np.zeros((0, 3), np.int32), surface.parts[picks])
    assert np.array_equal(transfer_scores(scores, surface, small, matrix=matrix), np.ones(3, np.float32))
    with pytest.raises(ValueError, match="one value per anny vertex"):
        transfer_scores(scores[:10], surface, surface)


def test_transfer_onto_other_proportions_keeps_the_part(anny_body):
    """A body twice as wide with shorter legs: the soles' contact lands on its soles."""
    source = surface_of(anny_body)
    stretched = anny_body.canonical_vertices * np.array([2.0, 1.3, 0.8], np.float32)
    target = Surface("mesh", stretched, anny_body.faces, anny_body.parts)
    moved = transfer_scores(_soles(anny_body.parts), source, target) >= 0.5
    assert _f1(moved, _soles(anny_body.parts) > 0) >= 0.95


class _ScoresLocalizer(Localizer):
    """Scores the soles of a canonical surface directly (as a 3D-reasoning localizer would)."""

    name = "contract-surface"

    def __init__(self, surface: Surface) -> None:
        self.surface, self.fractions = surface, []

    def load(self, device: str) -> None:
        return None

    def localize(self, image_rgb: np.ndarray, views: RenderedViews, query: Query,
                 steps: Steps = NO_STEPS) -> LocalizerOutput:
        for i in range(views.n_views):
            steps((i + 1) / views.n_views, f"view {i}")
        return LocalizerOutput(masks=None, report={"kind": "surface"},
                               surface_scores=SurfaceScores(self.surface, _soles(self.surface.parts)),
                               fitted_body=FittedBody(self.surface.vertices, self.surface.faces))


class _FixedViewsLocalizer(Localizer):
    """Brings its own views (a render of the canonical surface) and marks the lowest pixels."""

    name = "contract-fixed"

    def __init__(self, surface: Surface, resolution: int) -> None:
        from backend.cameras import body_rig
        from backend.render import render

        views = render(surface.vertices, surface.faces, body_rig(surface.vertices, resolution))
        self.canonical = CanonicalViews(surface, views, np.repeat(views.shaded[..., None], 3, -1))

    def load(self, device: str) -> None:
        return None

    def canonical_views(self, query: Query) -> CanonicalViews | None:
        return self.canonical

    def localize(self, image_rgb: np.ndarray, views: RenderedViews, query: Query,
                 steps: Steps = NO_STEPS) -> LocalizerOutput:
        from backend.lift import project

        assert views is self.canonical.views  # fed the fixed views, not a render of the user's body
        return LocalizerOutput(masks=project(views, _soles(self.canonical.surface.parts)))


class _Cache:
    def __init__(self, localizer: Localizer) -> None:
        self.localizer = localizer

    def get(self, name, device, checkpoint_dir, progress=None) -> Localizer:
        return self.localizer


def _estimate(tmp_path, photo, body: Body, localizer: Localizer, events: list | None = None):
    from backend.pipeline import run_estimate
    from backend.protocol import EstimateRequest

    request = EstimateRequest(image=str(photo), out_dir=str(tmp_path), body=body, resolution=128)
    progress = (lambda stage, fraction, message=None: events.append((stage, fraction))) if events is not None else None
    result = run_estimate(request, _Cache(localizer), tmp_path / "result.npz", progress=progress)
    with np.load(result.path) as data:
        return result.summary, {k: data[k] for k in data.files}


def test_surface_scores_are_transferred_and_the_fitted_body_returned(tmp_path, photo, anny_body):
    # Not Anny's triangles (one is missing), so not Anny's vertex order: scores move by nearest points
    other = Body("mesh", anny_body.vertices, anny_body.faces[:-1],
                 anny_body.canonical_vertices * np.array([1.2, 1.0, 0.9], np.float32), anny_body.parts)
    events: list = []
    localizer = _ScoresLocalizer(surface_of(anny_body))
    summary, arrays = _estimate(tmp_path, photo, other, localizer, events)
    assert _f1(arrays["scores"] >= 0.5, _soles(anny_body.parts) > 0) >= 0.95
    assert summary["correspondence"] == "anny -> mesh by part-consistent nearest points"
    assert arrays["fitted_vertices"].shape == anny_body.canonical_vertices.shape
    assert arrays["masks"].shape[0] == len(arrays["view_names"]) and arrays["masks"].max() > 0
    for stage in ("render", "localize"):  # progress moves inside the stage, once per view at least
        inside = [f for name, f in events if name == stage]
        assert len(set(inside)) >= 4 and inside == sorted(inside), (stage, inside)


def test_fixed_views_are_lifted_on_their_surface_then_transferred(tmp_path, photo, anny_body):
    canonical = Surface("canonical-anny", anny_body.canonical_vertices, anny_body.faces, anny_body.parts)
    from backend.lift import lift, project

    localizer = _FixedViewsLocalizer(canonical, 128)
    summary, arrays = _estimate(tmp_path, photo, anny_body, localizer)
    assert summary["correspondence"].startswith("canonical-anny -> anny")
    views = localizer.canonical.views
    on_canonical, _ = lift(views, project(views, _soles(anny_body.parts)))
    # The same vertices under another name: the transfer reproduces the lift on the canonical surface.
    assert on_canonical.max() > 0.5
    np.testing.assert_allclose(arrays["scores"], on_canonical, atol=1e-5)
    assert arrays["masks"].shape[1:] == (128, 128)


def test_cancel_inside_the_localize_stage(tmp_path, photo, anny_body):
    from backend.pipeline import Cancelled, run_estimate
    from backend.protocol import EstimateRequest

    calls = {"n": 0}

    def should_stop() -> bool:  # becomes True once the localizer has reported its first step
        calls["n"] += 1
        return bool(localizer.reported)

    class Reporting(_ScoresLocalizer):
        reported = False

        def localize(self, image_rgb, views, query, steps=NO_STEPS):
            Reporting.reported = True
            steps(0.5, "half")
            raise AssertionError("steps() should have raised Cancelled")

    localizer = Reporting(surface_of(anny_body))
    request = EstimateRequest(image=str(photo), out_dir=str(tmp_path), body=anny_body, resolution=64)
    with pytest.raises(Cancelled):
        run_estimate(request, _Cache(localizer), tmp_path / "r.npz", should_stop=should_stop)
    assert not (tmp_path / "r.npz").exists()


def test_output_needs_masks_or_surface_scores():
    with pytest.raises(ValueError, match="masks"):
        LocalizerOutput(masks=None)
    with pytest.raises(TypeError):
        type("Incomplete", (Localizer,), {})()  # load/localize are abstract: refused at construction
