"""The official InteractVLM data folder (the unzipped, licence-gated data.zip): fixed human views, their maps, the
SMPL-H -> SMPL-X matrix. Read and checked here; nothing in it is ever unpickled except through the allow-listed
array reader (backend.safe_pickle).

Facts (saidwivedi/InteractVLM @ 79b4bf2):
- The human models see the same four images for every photo: `data/hcontact_vitruvian/body_render_norm_<view>.png`
  (run_demo.py 279-281; datasets/hcontact_3d.py 132-135), views topfront, bottomfront, topback, bottomback in that
  order (HUMAN_VIEW_DICT 'names'), RGB, 1024 x 1024, SMPL-H normals as colours on white.
- Masks are lifted with `data/<HUMAN_VIEW_DICT[view_type]['folder']>/pixel_to_vertex_map_1024.npz` and
  `bary_coords_map_1024.npz` (model/components.py 195-277): one array per view name, (1024, 1024, 3): the three
  SMPL-H vertex ids of the triangle each pixel shows (int64, -1 on the background; render_mesh_utils.py
  project_vertices_and_create_mask) and its barycentric weights (float32, PyTorch3D's bary_coords).
- `data/smpl_to_smplx.pkl` is a joblib pickle of {'matrix': (10475, 6890) array}; SMPL-X scores = matrix @ SMPL-H
  scores (run_demo.py 96-97, 449-452; utils/utils.py 428-443).
- `4MV-Z_Vitru_wScene` (the scene-contact release) is not in HUMAN_VIEW_DICT at 79b4bf2: the map folder we use
  for it (hcontact_vitruvian) is a guess until a released config confirms it.
The SMPL-H geometry itself is not needed: the maps index its vertices. For bodies other than SMPL-H / SMPL-X, the
scores go SMPL-H -> SMPL-X (matrix) -> that body (backend.bodies.correspondence), which needs the SMPL-X template:
`data/body_models/smplx/SMPLX_NEUTRAL.npz` (where the official code keeps SMPL-X) or the user's SMPL-X folder.
"""
from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DATA_ENV = "INTERACTVLM_DATA_DIR"
RENDER_FOLDER = "hcontact_vitruvian"
VIEW_NAMES: tuple[str, ...] = ("topfront", "bottomfront", "topback", "bottomback")
# HUMAN_VIEW_DICT[view_type]['folder']: where each rig's maps live (the renders are always in RENDER_FOLDER).
MAP_FOLDERS: dict[str, str] = {"4MV-Z_Vitru": "hcontact_vitruvian", "4MV-Z_Vitru_mv2": "hcontact_vitruvian_mv2",
                               "4MV-Z_Vitru_FootGround": "hcontact_vitruvian",
                               "4MV-Z_Vitru_wScene": "hcontact_vitruvian"}
GUESSED_VIEW_TYPES = frozenset({"4MV-Z_Vitru_wScene"})
PIXEL_TO_VERTEX = "pixel_to_vertex_map_1024.npz"
BARY_COORDS = "bary_coords_map_1024.npz"
MATRIX_FILE = "smpl_to_smplx.pkl"
SMPLX_SUBFOLDER = Path("body_models") / "smplx"
MAP_SIZE = 1024
SMPLH_VERTICES, SMPLX_VERTICES = 6890, 10475
_MAX_MEMBER_BYTES = MAP_SIZE * MAP_SIZE * 3 * 8  # one (1024,1024,3) int64 map; larger npz members are refused
_UNZIP_HINT = ("unzip the official data.zip (registration at https://interactvlm.is.tue.mpg.de) and point the "
               "InteractVLM data folder (add-on preferences, --data-dir or $" + DATA_ENV + ") at its data/ folder")


class DataFolderError(ValueError):
    """The data folder cannot be used; the message names the file and what to do."""

    code = "localizer_unavailable"


def render_path(folder: Path, view: str) -> Path:
    return folder / RENDER_FOLDER / f"body_render_norm_{view}.png"


def map_folder(folder: Path, view_type: str) -> Path:
    return folder / MAP_FOLDERS.get(view_type, RENDER_FOLDER)


@dataclass
class DataFile:
    """One file of the data folder as checked: what it is for, where, and whether it is usable."""

    role: str
    path: Path
    problem: str | None = None  # None: found and well-formed

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class DataReport:
    folder: Path
    view_type: str
    files: list[DataFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)

    def problems(self) -> list[str]:
        return [f"{f.path}: {f.problem}" for f in self.files if not f.ok]

    def lines(self) -> list[str]:
        out = [f"data folder: {self.folder} (human rig {self.view_type})"]
        for f in self.files:
            out.append(f"  {f.role}: {f.path.relative_to(self.folder) if f.path.is_relative_to(self.folder) else f.path}"
                       f" {'OK' if f.ok else 'PROBLEM: ' + str(f.problem)}")
        out.extend(f"  note: {n}" for n in self.notes)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "view_type": self.view_type, "ok": self.ok, "notes": self.notes,
                "files": [{"role": f.role, "path": str(f.path), "ok": f.ok, "problem": f.problem} for f in self.files]}


def _read_render(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise DataFolderError("missing")
    try:
        with Image.open(path) as image:
            if image.size != (MAP_SIZE, MAP_SIZE):
                raise DataFolderError(f"is {image.size[0]}x{image.size[1]}, the official renders are "
                                      f"{MAP_SIZE}x{MAP_SIZE}: re-extract data.zip")
            if image.mode != "RGB":
                raise DataFolderError(f"has mode {image.mode}; the official renders are RGB: re-extract data.zip")
            return np.asarray(image, dtype=np.uint8).copy()
    except (OSError, UnidentifiedImageError, SyntaxError) as error:
        if isinstance(error, DataFolderError):
            raise
        raise DataFolderError(f"is not a readable PNG ({error}): re-extract data.zip") from error


def _read_map(path: Path, kind: str) -> np.ndarray:
    """(4, 1024, 1024, 3) int64 vertex ids or float32 weights, one slice per view in VIEW_NAMES order."""
    if not path.is_file():
        raise DataFolderError("missing")
    try:
        with zipfile.ZipFile(path) as archive:  # member sizes are checked before anything is inflated
            sizes = {info.filename: info.file_size for info in archive.infolist()}
        big = [name for name, size in sizes.items() if size > _MAX_MEMBER_BYTES + 1024]
        if big:
            raise DataFolderError(f"member {big[0]} declares {sizes[big[0]]} bytes, more than a "
                                  f"({MAP_SIZE},{MAP_SIZE},3) map: re-extract data.zip")
        with np.load(path, allow_pickle=False) as data:
            missing = [v for v in VIEW_NAMES if v not in data.files]
            if missing:
                raise DataFolderError(f"lacks the view(s) {missing} (has {sorted(data.files)}): re-extract data.zip")
            arrays = [np.asarray(data[v]) for v in VIEW_NAMES]
    except DataFolderError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataFolderError(f"is not a readable numeric npz ({error}): re-extract data.zip") from error
    for view, array in zip(VIEW_NAMES, arrays):
        if array.shape != (MAP_SIZE, MAP_SIZE, 3):
            raise DataFolderError(f"view {view} has shape {array.shape}, expected ({MAP_SIZE}, {MAP_SIZE}, 3)")
        if kind == "ids" and not np.issubdtype(array.dtype, np.integer):
            raise DataFolderError(f"view {view} holds {array.dtype}, expected integer vertex ids")
        if kind == "bary" and not np.issubdtype(array.dtype, np.floating):
            raise DataFolderError(f"view {view} holds {array.dtype}, expected float barycentric weights")
    stacked = np.stack(arrays)
    if kind == "ids":
        stacked = stacked.astype(np.int64)
        if stacked.max() >= SMPLH_VERTICES or stacked.min() < -1:
            raise DataFolderError(f"holds vertex ids outside [-1, {SMPLH_VERTICES}): not the SMPL-H maps")
        return stacked
    stacked = stacked.astype(np.float32)
    if not np.isfinite(stacked).all():
        raise DataFolderError("holds non-finite barycentric weights: re-extract data.zip")
    return stacked


@dataclass(frozen=True)
class HumanViews:
    """The official fixed views: images (4,1024,1024,3) uint8, vertex ids (4,1024,1024,3) int64, weights float32,
    and the sha256 of the four PNGs (the key of their cached SAM embeddings)."""

    view_type: str
    images: np.ndarray
    vertex_ids: np.ndarray
    bary: np.ndarray
    images_sha256: str


def read_human_views(folder: str | Path, view_type: str) -> HumanViews:
    """The four renders and their maps, checked; DataFolderError naming the first bad file."""
    folder = Path(folder)
    images, digest = [], hashlib.sha256()
    for view in VIEW_NAMES:
        path = render_path(folder, view)
        try:
            images.append(_read_render(path))
        except DataFolderError as error:
            raise DataFolderError(f"{path}: {error}; {_UNZIP_HINT}") from None
        digest.update(path.read_bytes())
    maps = []
    for name, kind in ((PIXEL_TO_VERTEX, "ids"), (BARY_COORDS, "bary")):
        path = map_folder(folder, view_type) / name
        try:
            maps.append(_read_map(path, kind))
        except DataFolderError as error:
            raise DataFolderError(f"{path}: {error}; {_UNZIP_HINT}") from None
    return HumanViews(view_type, np.stack(images), maps[0], maps[1], digest.hexdigest())


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_smplx_matrix(folder: str | Path) -> Any:
    """The SMPL-H -> SMPL-X matrix as a (10475, 6890) scipy CSR matrix.

    The joblib pickle is read once with the allow-listed array reader (a file naming any code is refused, nothing
    is imported or run) and cached as npz in the backend's cache folder, keyed by the pickle's sha256."""
    import scipy.sparse

    from backend.bodies.anny_body import cache_dir
    from backend.safe_pickle import PickleFormatError, UnsafePickleError, load_array_pickle

    path = Path(folder) / MATRIX_FILE
    if not path.is_file():
        raise DataFolderError(f"{path}: missing; {_UNZIP_HINT}")
    cached = cache_dir() / f"smpl_to_smplx-{_file_sha256(path)[:24]}.npz"
    if cached.is_file():
        try:
            return scipy.sparse.load_npz(cached).tocsr()
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # a damaged cache is rebuilt
    try:
        content = load_array_pickle(path)
    except UnsafePickleError as error:
        raise DataFolderError(f"{path}: refused, it is not a pickle of arrays ({error}); do not load this file; "
                              "re-download data.zip from the official source") from None
    except PickleFormatError as error:
        raise DataFolderError(f"{path}: truncated or not a pickle ({error}); re-extract data.zip") from None
    matrix = content.get("matrix") if isinstance(content, dict) else None
    if matrix is None:
        keys = sorted(content) if isinstance(content, dict) else type(content).__name__
        raise DataFolderError(f"{path}: holds {keys}, expected a dict with 'matrix'; re-extract data.zip")
    if tuple(matrix.shape) != (SMPLX_VERTICES, SMPLH_VERTICES):
        raise DataFolderError(f"{path}: 'matrix' has shape {tuple(matrix.shape)}, expected "
                              f"({SMPLX_VERTICES}, {SMPLH_VERTICES}) (SMPL-X x SMPL-H); re-extract data.zip")
    sparse = scipy.sparse.csr_matrix(matrix, dtype=np.float32)
    if not np.isfinite(sparse.data).all():
        raise DataFolderError(f"{path}: 'matrix' holds non-finite values; re-extract data.zip")
    cached.parent.mkdir(parents=True, exist_ok=True)
    temp = cached.with_suffix(f".{os.getpid()}.tmp.npz")
    scipy.sparse.save_npz(temp, sparse)
    os.replace(temp, cached)
    return sparse


def smplx_model_dir(folder: str | Path) -> Path | None:
    """The data folder's SMPL-X folder when it holds the npz release (the .pkl release is never read)."""
    candidate = Path(folder) / SMPLX_SUBFOLDER
    return candidate if (candidate / "SMPLX_NEUTRAL.npz").is_file() else None


def check_data_folder(folder: str | Path, view_type: str = "4MV-Z_Vitru") -> DataReport:
    """Every file the human path reads, each checked as the localizer reads it (nothing is unpickled unsafely)."""
    folder = Path(folder)
    report = DataReport(folder, view_type)
    for view in VIEW_NAMES:
        path = render_path(folder, view)
        report.files.append(_checked(f"render {view}", path, lambda p=path: _read_render(p)))
    maps = map_folder(folder, view_type)
    report.files.append(_checked("pixel->vertex map", maps / PIXEL_TO_VERTEX,
                                 lambda: _read_map(maps / PIXEL_TO_VERTEX, "ids")))
    report.files.append(_checked("barycentric map", maps / BARY_COORDS, lambda: _read_map(maps / BARY_COORDS, "bary")))
    report.files.append(_checked("SMPL-H -> SMPL-X matrix", folder / MATRIX_FILE, lambda: read_smplx_matrix(folder)))
    if view_type in GUESSED_VIEW_TYPES:
        report.notes.append(f"{view_type} is not in the official HUMAN_VIEW_DICT (79b4bf2): its map folder "
                            f"{MAP_FOLDERS[view_type]} is our guess until a released config confirms it")
    smplx = smplx_model_dir(folder)
    report.notes.append(f"SMPL-X template for bodies other than SMPL-H/SMPL-X: {smplx / 'SMPLX_NEUTRAL.npz'}" if smplx
                        else f"no {SMPLX_SUBFOLDER / 'SMPLX_NEUTRAL.npz'}: Anny and rigs need the SMPL-X folder "
                             "(else their views are re-rendered)")
    return report


def _checked(role: str, path: Path, read) -> DataFile:
    try:
        read()
    except DataFolderError as error:
        text = str(error)
        prefix = f"{path}: "
        return DataFile(role, path, text[len(prefix):] if text.startswith(prefix) else text)
    return DataFile(role, path)


def resolve_data_dir(explicit: str | Path | None, checkpoint_dir: str | Path | None = None) -> Path | None:
    """The data folder: the one given, else $INTERACTVLM_DATA_DIR, else the official layout's `data/` two levels
    above the checkpoint (trained_models/<name> beside data/), when it holds the renders; None when none is set."""
    for candidate in (explicit, os.environ.get(DATA_ENV) or None):
        if candidate:
            return Path(candidate).expanduser()
    if checkpoint_dir is not None:
        sibling = Path(checkpoint_dir).resolve().parent.parent / "data"
        if (sibling / RENDER_FOLDER).is_dir():
            return sibling
    return None


def views_from_maps(human: HumanViews):
    """(faces (F,3) int32, RenderedViews) for the official views: faces are the distinct vertex triplets the
    maps show (in the maps' corner order, so the weights line up), tri_ids index them, weights are the official
    ones; pixels with any corner outside [0, 6890) are background, as the official lift skips them. Depth is
    unknown (1 on covered pixels); `shaded` is the renders' grey level, for display only."""
    from backend.localizers.interactvlm.official_views import official_cameras
    from backend.render import RenderedViews

    ids = human.vertex_ids.reshape(-1, 3)
    covered = ((ids >= 0) & (ids < SMPLH_VERTICES)).all(1)
    n = np.int64(SMPLH_VERTICES)
    keys = (ids[covered, 0] * n + ids[covered, 1]) * n + ids[covered, 2]  # < 6890^3: fits int64
    unique, inverse = np.unique(keys, return_inverse=True)
    faces = np.stack([unique // (n * n), (unique // n) % n, unique % n], 1).astype(np.int32)
    tri = np.full(ids.shape[0], -1, np.int32)
    tri[covered] = inverse.astype(np.int32)
    shape = human.vertex_ids.shape[:3]
    bary = np.where(covered[:, None], human.bary.reshape(-1, 3), 0.0).astype(np.float32).reshape(shape + (3,))
    depth = np.where(covered, 1.0, np.inf).astype(np.float32).reshape(shape)
    grey = np.rint(human.images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
    cameras = official_cameras(np.zeros((1, 3)), human.view_type, MAP_SIZE)  # looking at the world origin
    views = RenderedViews(cameras=cameras, faces=faces, n_vertices=SMPLH_VERTICES, tri_ids=tri.reshape(shape),
                          bary=bary, depth=depth, shaded=np.clip(grey, 0, 255).astype(np.uint8))
    return faces, views
