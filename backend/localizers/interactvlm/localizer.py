"""The `interactvlm` Localizer: official checkpoints from a local folder, on CUDA (bf16/fp16) or CPU (fp32)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.localizers.base import NO_STEPS, CanonicalViews, Localizer, LocalizerOutput, Query, Steps, SurfaceScores
from backend.localizers.interactvlm.config import OFFICIAL_VIEWS, CheckpointError
from backend.localizers.interactvlm.inputs import (clip_pixels, conversation, masks_to_views, question, sam_pixels,
                                                   tokenize_with_image)
from backend.localizers.interactvlm.loader import CheckpointReport, build_skeleton, load_weights
from backend.localizers.interactvlm.official_views import normal_colour_views, official_cameras
from backend.localizers.interactvlm.runtime import choose
from backend.render import Camera, RenderedViews

HUMAN_TASKS = ("human_contact", "semantic_contact")
BINARY_THRESHOLD = 0.5  # official evaluation: per-object predictions >= 0.5, united (evaluate.py 427-442)
# The official conventions, reported in every summary (evaluation; SMPL-X display in run_demo.py; objects).
CONVENTIONS = {"evaluation_threshold": 0.5, "smplx_display_threshold": 0.3, "object_threshold": 0.5}

# Official rig per task when config.json does not record one (hcontact: 4MV-Z_Vitru, objects: 4MV-Z_HM).
_DEFAULT_VIEW_TYPE = {"human_contact": "4MV-Z_Vitru", "semantic_contact": "4MV-Z_Vitru",
                      "object_contact": "4MV-Z_HM"}


def normalised_cams(view_type: str) -> np.ndarray:
    """(V,5) camera numbers in the official normalisation (distance/10, angles/360, shifts (s+1)/2)."""
    rows = np.array(list(OFFICIAL_VIEWS[view_type].values()), dtype=np.float32)
    return np.stack([rows[:, 0] / 10.0, rows[:, 1] / 360.0, rows[:, 2] / 360.0,
                     (rows[:, 3] + 1.0) / 2.0, (rows[:, 4] + 1.0) / 2.0], 1)


class InteractVLMLocalizer(Localizer):
    name = "interactvlm"

    def __init__(self, checkpoint_dir: str | Path, vision_tower_dir: str | Path | None = None,
                 max_new_tokens: int = 128, data_dir: str | Path | None = None,
                 smplx_dir: str | Path | None = None) -> None:
        self.checkpoint_dir = Path(checkpoint_dir)
        self.data_dir = data_dir  # None: $INTERACTVLM_DATA_DIR, else the official layout's data/ beside it
        self.smplx_dir = smplx_dir  # SMPL-X template for bodies other than SMPL-H/SMPL-X (else the data folder's)
        self.human = None  # OfficialHuman of the data folder, once read
        self.view_cache = None  # ViewEmbeddingCache, made at load
        self._human_note: str | None = None
        self.vision_tower_dir = vision_tower_dir
        self.max_new_tokens = int(max_new_tokens)
        self.net = None
        self.tokenizer = None
        self.report: CheckpointReport | None = None
        self.device = "cpu"
        self.dtype = torch.float32
        self.load_warning: str | None = None

    def load(self, device: str = "auto") -> None:
        if self.net is not None:
            return
        from transformers import AutoTokenizer

        net, report, cfg, files, kind, clip_path = build_skeleton(self.checkpoint_dir, self.vision_tower_dir)
        self.report = report
        if not report.ok:
            raise CheckpointError(report.message())
        placement = choose(device, report.n_parameters)
        self.load_warning = placement.warning
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.checkpoint_dir), local_files_only=True)
        except Exception as error:  # tokenizer classes raise many types; the message is what matters
            raise CheckpointError(
                f"cannot load the tokenizer from {self.checkpoint_dir} ({type(error).__name__}: {error}); "
                "the official folder holds a sentencepiece tokenizer.model: install sentencepiece, or save a "
                "tokenizer.json there once with transformers' LlamaTokenizerFast") from error
        missing_clip = load_weights(net, files, kind, clip_path, placement.dtype, placement.device)
        if missing_clip:
            raise CheckpointError(f"CLIP weights missing from {clip_path}: {missing_clip[:5]}")
        net.eval()
        from backend.localizers.interactvlm.view_cache import ViewEmbeddingCache, checkpoint_identity

        self.view_cache = ViewEmbeddingCache(checkpoint_identity(list(files) + [Path(clip_path)]))
        self.seg_id = self._seg_token_id(cfg.seg_token_idx)
        self.net, self.cfg, self.device, self.dtype = net, cfg, placement.device, placement.dtype

    def _seg_token_id(self, from_config: int | None) -> int:
        from_tokenizer = self.tokenizer.convert_tokens_to_ids("[SEG]")
        if from_config is not None and from_tokenizer not in (None, self.tokenizer.unk_token_id) \
                and int(from_config) != from_tokenizer:
            raise CheckpointError(f"config.json seg_token_idx={from_config} but the tokenizer maps [SEG] to "
                                  f"{from_tokenizer}: tokenizer and weights come from different checkpoints")
        seg = from_config if from_config is not None else from_tokenizer
        if seg is None or seg == self.tokenizer.unk_token_id:
            raise CheckpointError("the tokenizer has no [SEG] token and config.json no seg_token_idx")
        return int(seg)

    def view_type(self, task: str) -> str:
        """The official rig for this task: the one config.json records when it is a rig of the same kind
        (bodies: 4MV-Z_Vitru*, objects: 4MV-Z_HM*), else the task's default."""
        default = _DEFAULT_VIEW_TYPE[task]
        recorded = getattr(getattr(self, "cfg", None), "view_type", None)
        if recorded in OFFICIAL_VIEWS and OFFICIAL_VIEWS[recorded] is OFFICIAL_VIEWS[default]:
            return recorded
        return default

    def cameras(self, query: Query, vertices: np.ndarray, size: int) -> list[Camera]:
        """The pipeline renders with these: the official 4-view rig the model was trained on.

        Bodies are in metres, as SMPL-H in the official renders, so the official distance is kept.
        Objects are rendered at the official distance times their bounding radius (our choice: props
        come in any size; a unit-radius object gets exactly the official cameras)."""
        view_type = self.view_type(query.task)
        scale = 1.0
        if query.task == "object_contact":
            vertices = np.asarray(vertices, dtype=np.float64)
            scale = max(float(np.linalg.norm(vertices.max(0) - vertices.min(0))) / 2.0, 1e-6)
        return official_cameras(vertices, view_type, size, distance_scale=scale)

    def use_data_dir(self, folder: str | Path | None) -> None:
        """The official data folder for this and later requests (None: keep the current one)."""
        if folder is not None and (self.data_dir is None or Path(folder) != Path(self.data_dir)):
            self.data_dir, self.human = folder, None

    def canonical_views(self, query: Query) -> CanonicalViews | None:
        """The official fixed human views from the data folder (None: re-render the body, with a warning)."""
        from backend.localizers.interactvlm.official_data import resolve_data_dir
        from backend.localizers.interactvlm.official_human import load_official_human

        self._human_note = None
        if query.task not in HUMAN_TASKS:
            return None
        folder = resolve_data_dir(self.data_dir, self.checkpoint_dir)
        if folder is None:
            self._human_note = ("no InteractVLM data folder is set, so the body was re-rendered instead of the "
                                "official fixed views: results differ from the paper's; set the data folder "
                                "(add-on preferences, --data-dir or $INTERACTVLM_DATA_DIR) to the unzipped data.zip")
            return None
        view_type = self.view_type(query.task)
        if self.human is None or self.human.folder != Path(folder) or self.human.view_type != view_type:
            self.human = load_official_human(folder, view_type, self.smplx_dir)
        n_vertices = None if query.vertex_parts is None else len(query.vertex_parts)
        if not self.human.serves(n_vertices):
            self._human_note = (f"this body ({n_vertices} vertices) is neither SMPL-H nor SMPL-X and no SMPL-X "
                                f"template was found (put SMPLX_NEUTRAL.npz in {folder}/body_models/smplx), so it "
                                "was re-rendered instead of using the official fixed views")
            return None
        return self.human.canonical

    def localize(self, image_rgb: np.ndarray, views: RenderedViews, query: Query,
                 steps: Steps = NO_STEPS) -> LocalizerOutput:
        labels = list(query.labels) if query.task == "human_contact" and query.labels else [query.label]
        outputs = [self._localize_one(image_rgb, views, query, label, steps, i, len(labels))
                   for i, label in enumerate(labels)]
        official = self.human is not None and views is self.human.canonical.views
        for output in outputs:
            output.report.update(self._path_report(official, query))
        if len(outputs) == 1:
            return outputs[0]
        from backend.lift import lift

        # Binary contact = union over the named objects of each semantic prediction >= 0.5 (official evaluation).
        union = np.zeros(views.n_vertices, bool)
        for output in outputs:
            union |= lift(views, output.masks)[0] >= BINARY_THRESHOLD
        if official:
            surface = self.human.canonical.surface
        else:
            from backend.bodies.correspondence import Surface

            surface = Surface(query.body_name or "rendered", np.zeros((views.n_vertices, 3), np.float32), views.faces,
                              np.zeros(views.n_vertices, np.int16) if query.vertex_parts is None else query.vertex_parts)
        report = dict(outputs[0].report, labels=labels, binary_rule="union of per-label predictions >= 0.5",
                      per_label=[{k: o.report.get(k) for k in ("prompt", "answer", "seg_token_found")} for o in outputs])
        masks = np.max(np.stack([o.masks for o in outputs]), axis=0)
        return LocalizerOutput(masks=masks, report=report,
                               surface_scores=SurfaceScores(surface, union.astype(np.float32)))

    def _path_report(self, official: bool, query: Query) -> dict[str, Any]:
        from backend.labels import label_warning

        report: dict[str, Any] = {"conventions": dict(CONVENTIONS)}
        warnings = []
        if query.task in HUMAN_TASKS:
            report["human_views"] = (f"official fixed views from {self.human.folder}" if official
                                     else "re-rendered body (fallback)")
            if self._human_note:
                warnings.append(self._human_note)
            if official and self.human.view_type in ("4MV-Z_Vitru_wScene",):
                warnings.append("the 4MV-Z_Vitru_wScene rig is not in the official HUMAN_VIEW_DICT: its map folder "
                                "is a guess")
            names = list(query.labels) or [query.label]
            warnings.extend(w for w in (label_warning(n) for n in names) if w)
        report["warnings"] = warnings
        return report

    def _localize_one(self, image_rgb: np.ndarray, views: RenderedViews, query: Query, label: str | None,
                      steps: Steps, index: int, count: int) -> LocalizerOutput:
        if self.net is None:
            raise RuntimeError("call load(device) before localize()")
        net, cfg = self.net, self.cfg
        n_views = views.n_views
        if net.cam_pose_encoder is not None and n_views != cfg.multiview_channels:
            raise ValueError(f"this checkpoint was trained with {cfg.multiview_channels} views and camera "
                             f"conditioning; got {n_views} rendered views")
        timings: dict[str, float] = {}
        start = time.perf_counter()
        steps(index / count, f"reading the photo for {label or 'the object'}")
        text = question(query.task, label)
        ids = tokenize_with_image(conversation(text, cfg.mm_use_im_start_end), self.tokenizer)
        clip_size = net.clip.config.image_size
        pixels = clip_pixels(image_rgb, clip_size).to(self.device, self.dtype)
        with torch.no_grad():
            image_embeds = net.image_tokens(pixels)
            hidden, generated, _ = net.seg_hidden_state(ids, image_embeds, self.seg_id, self.tokenizer.eos_token_id,
                                                     self.max_new_tokens)
        timings["llm"] = time.perf_counter() - start
        height, width = views.size
        report: dict[str, Any] = {"prompt": text, "answer": self.tokenizer.decode(generated),
                                  "seg_token_found": hidden is not None, "device": self.device,
                                  "dtype": str(self.dtype).replace("torch.", ""), "timings": timings}
        if hidden is None:  # the official code yields no mask either: no contact predicted
            report["note"] = f"the model did not emit [SEG] within {self.max_new_tokens} tokens"
            return LocalizerOutput(np.zeros((n_views, height, width), np.float32), report)
        start = time.perf_counter()
        sam_size = net.sam.image_size
        # Human models were trained on normal-coloured bodies ("norm" input); object models on plain renders.
        human = query.task in HUMAN_TASKS
        official = human and self.human is not None and views is self.human.canonical.views
        if official:  # the official PNGs as they are; their embeddings are the same for every photo
            sam_in, resized = sam_pixels(self.human.canonical.images, sam_size)
            embeds = self.view_cache.get(self.human.images_sha256, sam_size, self.dtype, self.device,
                                         lambda: net.view_embeddings(sam_in.to(self.device, self.dtype)))
            report["sam_input"] = "official renders"
        else:
            sam_in, resized = sam_pixels(normal_colour_views(views) if human else views.shaded, sam_size)
            embeds = net.view_embeddings(sam_in.to(self.device, self.dtype))  # a no_grad method
            report["sam_input"] = "normal colours" if human else "grey shading"
        view_type = self.view_type(query.task)
        cams = normalised_cams(view_type)
        if len(cams) != n_views:
            cams = np.zeros((n_views, 5), np.float32)
        logits = net.decode_masks(hidden, embeds, torch.from_numpy(cams).to(self.device, self.dtype))
        masks = masks_to_views(logits, sam_size, resized, (height, width))
        timings["sam"] = time.perf_counter() - start
        report["view_type"] = view_type
        return LocalizerOutput(masks, report)
