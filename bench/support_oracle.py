"""The ceiling of the default localizer's support rules: find_supports on the TRUE posed body.

Usage: python bench/support_oracle.py [--seed 17]
Reads the cached frozen set (bench/accuracy.py builds it into bench/_cache/) and runs the contact
rules (backend.localizers.default.supports.find_supports, floor/seat/table, no hand cues) on each
image's true posed Anny (scenes/*.npz), with joints taken as the mean of the 40 rest vertices
nearest each joint. Two columns: gravity searched as the localizer does (the baseline) and gravity
given (the true +Z), so what the rules lose to the fit, to the gravity search and to themselves can
be told apart (the fitted localizer's F1 comes from bench/accuracy.py). Tuning seed only unless told.
Last line: `RESULT oracle_f1=<searched up> oracle_f1_true_up=<given up> ...`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.eval.evaluate import load_dataset  # noqa: E402
from backend.eval.metrics import mean_scores, score_contact  # noqa: E402
from backend.eval.synth.generate import N_IMAGES, TUNING_SEED  # noqa: E402


def joint_vertices() -> dict[str, np.ndarray]:
    """Per fitted joint ('knee.L', ...): the 40 rest-pose vertices nearest its bone head."""
    from backend.localizers.default import fit

    labels = list(fit._model().bone_labels)
    vertices, heads = fit.posed({})
    return {f"{j}.{s}": np.argsort(np.linalg.norm(vertices - heads[labels.index(f"{b}.{s}")], axis=1))[:40]
            for j, b in fit.JOINTS.items() for s in "LR"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=TUNING_SEED)
    parser.add_argument("--n", type=int, default=N_IMAGES)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    folder = ROOT / "bench" / "_cache" / f"synth_n{args.n}_seed{args.seed}_{args.size}"
    if not (folder / "synth.npz").is_file():
        print(f"{folder} is missing: build it first with python bench/accuracy.py --seeds {args.seed}")
        return 1
    from backend.localizers.default import supports as S

    evalset = load_dataset(f"synthetic:{folder}")
    body = evalset.body
    nearest = joint_vertices()
    rows: dict[str, list] = {"searched": [], "given": []}
    search = S.estimate_up
    for i, item in enumerate(evalset.items):
        with np.load(folder / "scenes" / f"{i:05d}.npz") as scene:
            vertices = scene["body_vertices"].astype(np.float64)
        joints = {k: vertices[idx].mean(0) for k, idx in nearest.items()}
        areas = S.vertex_areas(vertices, body.faces)
        for column in rows:
            S.estimate_up = search if column == "searched" else (lambda v, a=None: np.array([0.0, 0.0, 1.0]))
            try:
                found = S.find_supports(vertices, body.parts, joints, legs_seen=True,
                                        feet_seen={"L": True, "R": True}, areas=areas)
            finally:
                S.estimate_up = search
            rows[column].append((item.group, score_contact(found.scores, item.gt, body.canonical_vertices,
                                                           body.faces)))
    summary = {c: mean_scores([r for _, r in rs]) for c, rs in rows.items()}
    print(f"seed {args.seed}: support rules on the true posed body ({len(evalset.items)} images)")
    print("| scenario | F1 (gravity searched) | F1 (gravity given) |")
    print("|---|---|---|")
    for group in sorted({g for g, _ in rows["searched"]}):
        cells = [mean_scores([r for g, r in rows[c] if g == group])["f1"] for c in rows]
        print(f"| {group} | {cells[0]:.3f} | {cells[1]:.3f} |")
    s, g = summary["searched"], summary["given"]
    print(f"| **all** (P / R / geo cm) | {s['f1']:.3f} ({s['precision']:.2f} / {s['recall']:.2f} / "
          f"{s['geo_fp_cm']:.1f}) | {g['f1']:.3f} ({g['precision']:.2f} / {g['recall']:.2f} / {g['geo_fp_cm']:.1f}) |")
    print(f"RESULT oracle_f1={s['f1']:.4f} oracle_f1_true_up={g['f1']:.4f} oracle_geo_cm={s['geo_fp_cm']:.2f} "
          f"n={len(evalset.items)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
