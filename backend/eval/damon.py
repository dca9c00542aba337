"""Reader for DAMON-format contact npz files (DECO's release, and our synthetic sets).

Keys (DECO README): `imgname` (N,) image paths; `contact_label` (N,6890) SMPL/SMPL-H per-vertex
0/1; `contact_label_smplx` (N,10475) SMPL-X; `contact_label_objectwise` and
`contact_label_smplx_objectwise` (N,) dicts {object name: vertex ids}. Other keys (pose, transl,
shape, cam_k, polygon_2d_contact, scene_seg, part_seg, ...) are ignored here.

The objectwise dicts can only be stored as pickled Python objects; numeric keys are read without
pickles, and pickled keys are read only when the caller says the file is trusted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LABEL_KEYS = {"smpl": "contact_label", "smplx": "contact_label_smplx"}
OBJECTWISE_KEYS = {"smpl": "contact_label_objectwise", "smplx": "contact_label_smplx_objectwise"}
N_VERTICES = {"smpl": 6890, "smplx": 10475}


@dataclass
class DamonSet:
    path: Path
    imgnames: list[str]
    labels: dict[str, np.ndarray]  # topology ("smpl"/"smplx") -> (N, V) uint8
    objectwise: dict[str, list[dict[str, np.ndarray]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.imgnames)

    def topologies(self) -> list[str]:
        return sorted(self.labels)

    def image_path(self, index: int, images_dir: Path | None = None) -> Path:
        """Resolve an image: as stored, next to the npz, or by file name in images_dir/<npz dir>/images."""
        name = Path(self.imgnames[index])
        candidates = [name, self.path.parent / name]
        for folder in filter(None, (images_dir, self.path.parent / "images")):
            candidates += [Path(folder) / name, Path(folder) / name.name]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"image {name} of {self.path} not found (tried {', '.join(map(str, candidates))}); "
                                "pass --images DIR with the dataset's image folder")


def _load_key(data, key: str, path: Path, allow_pickle: bool):
    try:
        return data[key]
    except ValueError as error:  # object arrays need pickles
        if allow_pickle:
            raise
        raise ValueError(f"{path}: key {key!r} is stored as pickled Python objects; read it only if you trust "
                         "the file (allow_pickle=True, --allow-pickle on the command line)") from error


def _labels(raw, key: str, n_images: int, n_vertices: int, path: Path) -> np.ndarray:
    if raw.dtype == object:  # some releases store one array per image
        raw = np.stack([np.asarray(r, dtype=np.float32).ravel() for r in raw])
    raw = np.asarray(raw)
    if raw.ndim != 2 or raw.shape != (n_images, n_vertices):
        raise ValueError(f"{path}: {key} has shape {raw.shape}, expected ({n_images}, {n_vertices})")
    return (raw >= 0.5).astype(np.uint8)


def read_damon(path: str | Path, allow_pickle: bool = False, objectwise: bool = False) -> DamonSet:
    """Read imgname and every per-vertex label array present (and the objectwise dicts on request)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"DAMON file {path} does not exist; pass the npz (e.g. hot_dca_test.npz)")
    try:
        data = np.load(path, allow_pickle=allow_pickle)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not a readable npz file ({error})") from error
    with data:
        if "imgname" not in data.files:
            raise ValueError(f"{path} has no 'imgname' key; a DAMON npz has imgname, contact_label, ... "
                             f"(found: {', '.join(data.files)})")
        imgnames = [str(x) for x in _load_key(data, "imgname", path, allow_pickle)]
        labels = {}
        for topo, key in LABEL_KEYS.items():
            if key in data.files:
                labels[topo] = _labels(_load_key(data, key, path, allow_pickle), key, len(imgnames),
                                       N_VERTICES[topo], path)
        if not labels:
            raise ValueError(f"{path} has neither contact_label (SMPL, 6890) nor contact_label_smplx (SMPL-X, 10475)")
        per_object: dict[str, list[dict[str, np.ndarray]]] = {}
        if objectwise:
            for topo, key in OBJECTWISE_KEYS.items():
                if key in data.files:
                    raw = _load_key(data, key, path, allow_pickle)
                    per_object[topo] = [_objectwise(item, key, path) for item in raw]
    return DamonSet(path=path, imgnames=imgnames, labels=labels, objectwise=per_object)


def _objectwise(item, key: str, path: Path) -> dict[str, np.ndarray]:
    if isinstance(item, np.ndarray) and item.dtype == object and item.shape == ():
        item = item.item()
    if not isinstance(item, dict):
        raise ValueError(f"{path}: {key} entries must be dicts {{object: vertex ids}}, got {type(item).__name__}")
    return {str(k): np.asarray(v, dtype=np.int64).ravel() for k, v in item.items()}


def objectwise_mask(ids_by_object: dict[str, np.ndarray], label: str, n_vertices: int) -> np.ndarray:
    """(V,) uint8 labels of the vertices touching `label` in one image."""
    if label not in ids_by_object:
        raise ValueError(f"object {label!r} not annotated in this image (objects: {', '.join(ids_by_object)})")
    mask = np.zeros(n_vertices, np.uint8)
    mask[ids_by_object[label]] = 1
    return mask
