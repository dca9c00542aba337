"""SMPL-X from the user's licence-gated model folder (SMPLX_NEUTRAL.npz, SMPLX_MALE.npz, ...).

The canonical pose is SMPL-X's zero pose with zero shape, which is exactly `v_template`: the 10,475
vertices keep their native order. SMPL-X is Y up, facing +Z; we rotate (x, y, z) -> (x, -z, y)
into our frame (Z up, facing -Y). The file is read with allow_pickle=False: only numeric arrays are
accepted, so a tampered model file cannot run code (smplx itself loads npz with pickles allowed).
Parts come from the skinning weights' dominant joint, named by smplx's own JOINT_NAMES.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.bodies.base import Body

SMPLX_VERTICES = 10475
SMPLX_JOINTS = 55
GENDERS = ("neutral", "male", "female")
DOWNLOAD_HINT = ("download SMPL-X (npz) from https://smpl-x.is.tue.mpg.de after registering, and point the "
                 "SMPL-X model folder (add-on preferences or --body smplx:DIR) at the folder that contains it")


def smplx_to_canonical(points: np.ndarray) -> np.ndarray:
    """SMPL-X frame (Y up, facing +Z) -> canonical frame (Z up, facing -Y)."""
    points = np.asarray(points)
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def model_file(model_dir: str | Path, gender: str = "neutral") -> Path:
    """The model file for a gender, or a FileNotFoundError naming the file expected."""
    if gender not in GENDERS:
        raise ValueError(f"unknown SMPL-X gender {gender!r}; use one of {', '.join(GENDERS)}")
    folder = Path(model_dir).expanduser()
    expected = f"SMPLX_{gender.upper()}.npz"
    if not folder.is_dir():
        raise FileNotFoundError(f"SMPL-X model folder {folder} does not exist; it should contain {expected}: "
                                f"{DOWNLOAD_HINT}")
    for candidate in (folder / expected, folder / "smplx" / expected):
        if candidate.is_file():
            return candidate
    if (folder / f"SMPLX_{gender.upper()}.pkl").exists():
        raise FileNotFoundError(
            f"{expected} not found in {folder}, only the .pkl variant; pickles can run code, so only the "
            f"npz release is read: {DOWNLOAD_HINT}")
    raise FileNotFoundError(f"{expected} not found in {folder}: {DOWNLOAD_HINT}")


def read_model(path: Path) -> dict[str, np.ndarray]:
    """The numeric arrays we need, checked for the real SMPL-X shapes (declared sizes before inflating)."""
    import zipfile

    from backend.npz_limits import FACES_PER_VERTEX, NpzError, check_member_sizes

    try:
        check_member_sizes(path, {"v_template": SMPLX_VERTICES * 3, "weights": SMPLX_VERTICES * SMPLX_JOINTS,
                                  "f": SMPLX_VERTICES * FACES_PER_VERTEX * 3, "kintree_table": 2 * SMPLX_JOINTS},
                           "SMPL-X model")
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: np.asarray(data[key]) for key in ("v_template", "f", "weights", "kintree_table")}
    except NpzError as error:
        raise ValueError(f"{error}; re-download it: {DOWNLOAD_HINT}") from error
    except (zipfile.BadZipFile, EOFError) as error:  # a damaged member (bad CRC, cut short)
        raise ValueError(f"{path} is damaged ({error}); re-download it: {DOWNLOAD_HINT}") from error
    except KeyError as error:
        raise ValueError(f"{path} is not an SMPL-X model file: missing array {error}") from error
    except ValueError as error:
        raise ValueError(f"{path} could not be read as a numeric npz ({error}); use the official SMPL-X npz") from error
    except OSError as error:
        raise ValueError(f"{path} is not a readable npz file ({error})") from error
    expected = {"v_template": (SMPLX_VERTICES, 3), "weights": (SMPLX_VERTICES, SMPLX_JOINTS)}
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise ValueError(f"{path}: {key} has shape {arrays[key].shape}, SMPL-X has {shape}")
    if arrays["f"].ndim != 2 or arrays["f"].shape[1] != 3:
        raise ValueError(f"{path}: f must be (F, 3) triangles, got {arrays['f'].shape}")
    return arrays


def load_smplx(model_dir: str | Path, gender: str = "neutral") -> Body:
    from smplx.joint_names import JOINT_NAMES

    from backend.bodies.part_rules import parts_from_groups
    from backend.mesh_checks import check_mesh

    arrays = read_model(model_file(model_dir, gender))
    vertices = smplx_to_canonical(arrays["v_template"].astype(np.float64))
    vertices = vertices - np.array([0.0, 0.0, vertices[:, 2].min()])
    vertices, faces = check_mesh(vertices, arrays["f"].astype(np.int64), what="SMPL-X model")
    dominant = arrays["weights"].argmax(axis=1).astype(np.int32)
    parts = parts_from_groups(list(JOINT_NAMES[:SMPLX_JOINTS]), dominant, vertices, faces)
    return Body(name="smplx", vertices=vertices, faces=faces, canonical_vertices=vertices.copy(), parts=parts)
