"""Golden files from the OFFICIAL InteractVLM code, for the CI tests that compare ours to it (not run by CI).

Runs in a side environment, never in the project's .venv, because the reference is transformers 4.31 (the
version the official code pins) and its slow LlamaTokenizer:

    python3.11 -m venv /work/side-env
    /work/side-env/bin/pip install /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl \\
        transformers==4.31.0 sentencepiece==0.2.2 protobuf joblib numpy pillow
    /work/side-env/bin/python scripts/official_goldens.py --official PATH [--commit 79b4bf2]

PATH is a checkout of saidwivedi/InteractVLM (a work tree, or a bare git directory read with `git show` at
--commit). The official files the script needs are copied to a temporary folder and imported from there;
nothing of them is written into this repository. It writes, into tests/data/interactvlm_goldens/:

- tokens.json: ids made by transformers 4.31's slow LlamaTokenizer (use_fast=False, as run_demo.py 87-93) on the
  committed test tokenizer (tests/data/interactvlm_tokenizer/, with `legacy` true and false in its
  tokenizer_config.json), for the three prompts built as run_demo.py builds them (official llava_v1
  Conversation, official question lists of utils/utils.py, `tokenizer_image_token` of model/llava/mm_utils.py),
  and for edge texts around the added tokens. Checked by tests/test_interactvlm_tokens.py.
- lift.npz: a fixed input (4 views of a small mesh rendered by our renderer, stored as official-format
  pixel->vertex and barycentric maps, seeded random mask logits) and the per-vertex scores of the official
  `HumanContact3DPredictor` and `ObjectMeshContact3DPredictor` (model/components.py) on it. Checked by
  tests/test_lift_official.py (within 1e-5).
- splitter.npz: the official `AttentionSplitter` (Gen-Hu-Obj, model/components.py) at width 16 -> 8 on seeded
  weights (official key names) and 4 prompt tokens, with its human and object outputs. Checked by
  tests/test_interactvlm_gen_hu_obj.py.
- masks.npz: the official SAM image encoder, prompt encoder, mask decoder (model/segment_anything/modeling),
  VIv1CamPoseEncoder and AttentionSplitter at the tiny model's size on seeded weights (official key names),
  fed 4 fixed 64 px views (already at the SAM input size: the resize is not part of it), a fixed [SEG]-state
  and camera numbers, as InteractVLM.evaluate feeds them for [SEG], [HSEG] and [OSEG]; the postprocessed
  mask logits at the lift maps' size, and the [HSEG] masks lifted by HumanContact3DPredictor and the [OSEG]
  ones by ObjectMeshContact3DPredictor on lift.npz's maps. Checked by tests/test_interactvlm_official_masks.py.

The official components.py imports `utils.utils` only for a debug printer; a one-function stand-in module is
registered for it (utils.utils itself needs wandb and torchvision).
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import importlib
import json
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "interactvlm_goldens"
TEST_TOKENIZER = ROOT / "tests" / "data" / "interactvlm_tokenizer"
SAM_MODELING = tuple(f"model/segment_anything/modeling/{name}.py"
                     for name in ("__init__", "common", "image_encoder", "mask_decoder", "prompt_encoder", "sam",
                                  "transformer"))
OFFICIAL_FILES = ("model/llava/conversation.py", "model/llava/constants.py", "model/llava/mm_utils.py",
                  "utils/utils.py", "model/components.py", "preprocess_data/constants.py", *SAM_MODELING)
# (task, label) of the three prompts; labels without underscores so the question text does not depend on
# the label vocabulary (run_demo.py takes the object name from the file name, lower-cased).
PROMPTS = (("human_contact", "object"), ("semantic_contact", "bicycle"), ("object_contact", "chair"))
QUESTION_LISTS = {"human_contact": "HCONTACT_PARTS_QUESTION_LIST", "semantic_contact": "HCONTACT_PARTS_QUESTION_LIST",
                  "object_contact": "OAFFORD_AFFORD_QUESTION_LIST"}
# Texts around the added tokens where the fast tokenizer of transformers 5 and the slow one of 4.31 differ.
EDGE_TEXTS = ("USER: <im_start>", "<im_end>\nWhich body parts", "a  [SEG]  b", "[SEG][SEG]", "x</s>y",
              "<s> hello", "ends with space ", "\n\nnew lines\n", "digits 12345 and tennis_racket",
              "<im_start> <im_end>", "tabs\tand [SEG]\tafter", "\u2581underline mid\u2581word")
LIFT_SIZE = 40
LIFT_SEED = 7
SPLITTER_SEED = 11
MASKS_SEED = 13
# The tiny network of tests/interactvlm_tiny.py's SAM side (SAM 64 px, patch 8, width 32, prompt dim 16).
TINY = {"hidden": 32, "out_dim": 16, "sam_size": 64, "patch": 8, "width": 32, "depth": 2, "heads": 2,
        "window": 2, "global": [1], "mlp_ratio": 2, "decoder_mlp": 32, "iou_hidden": 16, "splitter_hidden": 8}


def official_reader(path: Path, commit: str):
    """A function relpath -> text of the official file, from a work tree or a bare git directory."""
    if (path / "model" / "components.py").is_file():
        return lambda rel: (path / rel).read_text(encoding="utf-8")

    def show(rel: str) -> str:
        return subprocess.run(["git", "--git-dir", str(path), "show", f"{commit}:{rel}"], check=True,
                              capture_output=True, text=True).stdout
    return show


def stage_official(read, folder: Path) -> None:
    """Copy the official files into `folder` as importable packages (llava_official, model, preprocess_data)."""
    for rel in OFFICIAL_FILES:
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(read(rel), encoding="utf-8")
    # model/llava/__init__.py imports the whole LLaVA model; an empty package file is enough for these modules.
    for package in ("model", "model/llava", "preprocess_data", "model/segment_anything"):
        (folder / package / "__init__.py").write_text("")
    sys.path.insert(0, str(folder))
    stand_in = types.ModuleType("utils.utils")
    stand_in.debug_tensor = lambda *args, **kwargs: None
    sys.modules["utils"] = types.ModuleType("utils")
    sys.modules["utils.utils"] = stand_in


def question_templates(utils_source: str) -> dict[str, str]:
    """The first question of each official list in utils/utils.py, read with ast (the module needs wandb)."""
    wanted = set(QUESTION_LISTS.values())
    found: dict[str, str] = {}
    for node in ast.parse(utils_source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in wanted:
            first = node.value.elts[0]  # DEFAULT_IMAGE_TOKEN + "\n" + "question"
            found[node.targets[0].id] = first.right.value
    return found


def official_prompt(conversation_lib, question: str) -> str:
    """run_demo.py 313-324: '<image>\\n' + question, the image token wrapped in <im_start>/<im_end>, llava_v1."""
    conv = conversation_lib.conv_templates["llava_v1"].copy()
    conv.messages = []
    prompt = "<image>\n" + question
    prompt = prompt.replace("<image>", "<im_start><image><im_end>")
    conv.append_message(conv.roles[0], prompt)
    conv.append_message(conv.roles[1], "")
    return conv.get_prompt()


def tokens(read) -> dict:
    import sentencepiece
    import tokenizers
    import transformers

    conversation_lib = importlib.import_module("model.llava.conversation")
    mm_utils = importlib.import_module("model.llava.mm_utils")
    templates = question_templates(read("utils/utils.py"))
    cases, texts = [], []
    for legacy in (True, False):
        with tempfile.TemporaryDirectory() as tmp:
            for item in TEST_TOKENIZER.iterdir():
                shutil.copy(item, tmp)
            config_path = Path(tmp) / "tokenizer_config.json"
            config = json.loads(config_path.read_text())
            config["legacy"] = legacy
            config_path.write_text(json.dumps(config))
            tokenizer = transformers.AutoTokenizer.from_pretrained(tmp, use_fast=False)
            assert type(tokenizer).__name__ == "LlamaTokenizer" and tokenizer.legacy == legacy
            for task, label in PROMPTS:
                question = templates[QUESTION_LISTS[task]].format(class_name=label)
                prompt = official_prompt(conversation_lib, question)
                ids = [int(i) for i in mm_utils.tokenizer_image_token(prompt, tokenizer)]
                cases.append({"legacy": legacy, "task": task, "label": label, "prompt": prompt, "ids": ids})
            for text in EDGE_TEXTS:
                texts.append({"legacy": legacy, "text": text, "ids": [int(i) for i in tokenizer(text).input_ids],
                              "pieces": tokenizer.tokenize(text)})
    digest = hashlib.sha256((TEST_TOKENIZER / "tokenizer.model").read_bytes()).hexdigest()
    return {"made_by": "scripts/official_goldens.py", "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__, "sentencepiece": sentencepiece.__version__,
            "tokenizer_model_sha256": digest, "cases": cases, "texts": texts}


def lift_input() -> dict[str, np.ndarray]:
    """A fixed input: a bumpy closed mesh seen by 4 cameras, as official maps, plus seeded mask logits."""
    sys.path.insert(0, str(ROOT))
    from backend.cameras import body_rig
    from backend.render import render

    rows, cols = 10, 16  # a UV sphere with an uneven radius so views see different vertex sets
    theta = np.linspace(0.0, np.pi, rows + 1)[1:-1]
    phi = np.linspace(0.0, 2 * np.pi, cols, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    radius = 1.0 + 0.15 * np.cos(3 * p) * np.sin(t)
    ring = np.stack([radius * np.sin(t) * np.cos(p), radius * np.sin(t) * np.sin(p), 1.4 * np.cos(t)], -1)
    vertices = np.concatenate([[[0, 0, 1.4]], ring.reshape(-1, 3), [[0, 0, -1.4]]]).astype(np.float32)
    faces = []
    index = lambda r, c: 1 + r * cols + (c % cols)  # noqa: E731
    for c in range(cols):
        faces.append((0, index(0, c), index(0, c + 1)))
        faces.append((len(vertices) - 1, index(rows - 2, c + 1), index(rows - 2, c)))
    for r in range(rows - 2):
        for c in range(cols):
            faces.append((index(r, c), index(r + 1, c), index(r + 1, c + 1)))
            faces.append((index(r, c), index(r + 1, c + 1), index(r, c + 1)))
    faces = np.asarray(faces, dtype=np.int32)
    views = render(vertices, faces, body_rig(vertices, LIFT_SIZE))
    p2v = np.where(views.tri_ids[..., None] >= 0, faces[np.maximum(views.tri_ids, 0)], -1).astype(np.int64)
    # A smooth field (whole regions below the official 0.3) plus noise, different per view.
    rng = np.random.default_rng(LIFT_SEED)
    v, y, x = np.meshgrid(np.arange(4), np.arange(LIFT_SIZE), np.arange(LIFT_SIZE), indexing="ij")
    field = 4.0 * np.sin(x / 5.0 + v) * np.cos(y / 7.0 - 0.5 * v) - 1.0
    logits = (field + rng.normal(0.0, 1.0, field.shape)).astype(np.float32)
    logits[0, :4, :4] = 30.0  # beyond the official clamp at 20
    return {"pixel_to_vertex": p2v, "bary": views.bary.astype(np.float32), "logits": logits,
            "n_vertices": np.array(len(vertices))}


def lift(fixed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import joblib
    import torch
    from torch import nn

    components = importlib.import_module("model.components")
    n = int(fixed["n_vertices"])
    logits = torch.from_numpy(fixed["logits"])
    # HumanContact3DPredictor reads its maps from ./data in __init__; give it the same tensors directly.
    human = components.HumanContact3DPredictor.__new__(components.HumanContact3DPredictor)
    nn.Module.__init__(human)
    human.multiview_channels, human.num_vertices, human.threshold = len(logits), n, 0.3
    human.pixel_to_vertex_map = torch.from_numpy(fixed["pixel_to_vertex"])
    human.bary_coord_map = torch.from_numpy(fixed["bary"])
    human_scores = human([logits], ds_names=["hcontact"])[0].numpy()
    obj = components.ObjectMeshContact3DPredictor.__new__(components.ObjectMeshContact3DPredictor)
    nn.Module.__init__(obj)
    obj.multiview_channels, obj.threshold = len(logits), 0.3
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lift2d_dict.pkl"  # the demo's lift2d_dict.pkl (utils/demo_utils.py 239-244)
        joblib.dump({"pixel_to_vertices_map": list(fixed["pixel_to_vertex"]),
                     "bary_coords_map": list(fixed["bary"]), "num_vertices": n}, path)
        object_scores = obj([logits], ds_names=["ocontact"], lift2d_dict_path=str(path))[0].numpy()
    return {"human_scores": human_scores.astype(np.float32), "object_scores": object_scores.astype(np.float32)}


def splitter() -> dict[str, np.ndarray]:
    """The official AttentionSplitter (Gen-Hu-Obj) at a tiny width on seeded weights and V=4 prompt tokens."""
    import torch

    components = importlib.import_module("model.components")
    torch.manual_seed(SPLITTER_SEED)
    module = components.AttentionSplitter(input_dim=16, hidden_dim=8)
    with torch.no_grad():
        for param in module.parameters():  # off the official init (tiny gain, zero biases) so every term shows
            param.copy_(torch.randn(param.shape) * 0.5)
        tokens = torch.randn(1, 4, 16)  # [n_seg, V, C] as process_embeddings passes it
        human, obj = module(tokens)
    state = {f"attention_splitter.{k}": v.numpy() for k, v in module.state_dict().items()}
    return {**state, "splitter_tokens": tokens[0].numpy(), "splitter_human": human[0].numpy(),
            "splitter_object": obj[0].numpy()}


def masks(fixed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Official SAM encoder, prompt encoder, mask decoder, VIv1 camera encoder and AttentionSplitter at the tiny
    size on seeded weights (official key names), fed as InteractVLM.evaluate feeds them (InteractVLM.py 510-628:
    the [SEG]-state prompt through text_hidden_fcs, repeated per view, camera-conditioned, split by token,
    one prompt set of V tokens for all views, postprocess_masks), then lifted by the official predictors."""
    from functools import partial

    import joblib
    import torch
    from torch import nn

    modeling = importlib.import_module("model.segment_anything.modeling")
    components = importlib.import_module("model.components")
    t = TINY
    grid = t["sam_size"] // t["patch"]
    torch.manual_seed(MASKS_SEED)
    sam = modeling.Sam(
        image_encoder=modeling.ImageEncoderViT(
            depth=t["depth"], embed_dim=t["width"], img_size=t["sam_size"], mlp_ratio=t["mlp_ratio"],
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=t["heads"], patch_size=t["patch"],
            qkv_bias=True, use_rel_pos=True, global_attn_indexes=t["global"], window_size=t["window"],
            out_chans=t["out_dim"]),
        prompt_encoder=modeling.PromptEncoder(embed_dim=t["out_dim"], image_embedding_size=(grid, grid),
                                              input_image_size=(t["sam_size"], t["sam_size"]), mask_in_chans=16),
        mask_decoder=modeling.MaskDecoder(
            num_multimask_outputs=3, transformer=modeling.TwoWayTransformer(
                depth=2, embedding_dim=t["out_dim"], mlp_dim=t["decoder_mlp"], num_heads=8),
            transformer_dim=t["out_dim"], iou_head_depth=3, iou_head_hidden_dim=t["iou_hidden"]))
    # InteractVLM.py 101-109 (text_hidden_fcs) as built there; components.py for the other two
    text_fc = nn.Sequential(nn.Linear(t["hidden"], t["hidden"]), nn.ReLU(), nn.Linear(t["hidden"], t["out_dim"]),
                            nn.Dropout(0.0))
    cam_encoder = components.VIv1CamPoseEncoder(output_dim=t["out_dim"], num_views=4)
    splitter = components.AttentionSplitter(input_dim=t["out_dim"], hidden_dim=t["splitter_hidden"])
    modules = {"model.visual_model.": sam, "model.text_hidden_fcs.0.": text_fc, "cam_pose_encoder.": cam_encoder,
               "attention_splitter.": splitter}
    state = {}
    with torch.no_grad():
        for prefix, module in modules.items():
            module.eval()
            for name, param in module.state_dict().items():
                if param.is_floating_point():  # away from the official inits (zero biases, unit norms)
                    param.copy_(param + torch.randn(param.shape) * 0.45)
                state[prefix + name] = param.numpy().copy()
    state = {k: v for k, v in state.items() if not k.endswith(("pixel_mean", "pixel_std"))}
    rng = np.random.default_rng(MASKS_SEED)
    yy, xx = np.mgrid[0:t["sam_size"], 0:t["sam_size"]]
    images = np.stack([np.stack([(127 + 120 * np.sin(xx / (4 + v) + c) * np.cos(yy / (5 + c))) for c in range(3)], -1)
                       for v in range(4)])
    images = np.clip(images + rng.normal(0, 8, images.shape), 0, 255).astype(np.uint8)  # at SAM size: no resize
    hidden = rng.normal(0, 1, t["hidden"]).astype(np.float32)  # the final-norm state that emitted the token
    cams = rng.random((4, 5)).astype(np.float32)
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)  # run_demo.py preprocess
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    pixels = (torch.from_numpy(images).permute(0, 3, 1, 2).float() - mean) / std
    out_hw = fixed["logits"].shape[-2:]
    result = {}
    with torch.no_grad():
        embeddings = sam.image_encoder(pixels)
        for name, part in (("seg", None), ("hseg", "human"), ("oseg", "object")):
            emb = text_fc(torch.from_numpy(hidden)[None])[None]  # [1 seg token, 1, C]
            emb = emb.repeat(1, 4, 1)
            views = torch.stack([cam_encoder(torch.from_numpy(cams)[[v]], v) for v in range(4)], dim=1)
            emb = emb * views
            if part is not None:
                emb = splitter(emb)[0 if part == "human" else 1]
            sparse, dense = sam.prompt_encoder(points=None, boxes=None, masks=None, text_embeds=emb)
            low, _ = sam.mask_decoder(image_embeddings=embeddings, image_pe=sam.prompt_encoder.get_dense_pe(),
                                      sparse_prompt_embeddings=sparse.to(emb.dtype), dense_prompt_embeddings=dense,
                                      multimask_output=False)
            result[f"mask_logits_{name}"] = sam.postprocess_masks(low, input_size=(t["sam_size"],) * 2,
                                                                  original_size=tuple(out_hw))[:, 0].numpy()
    fixed_maps = dict(fixed)
    human = components.HumanContact3DPredictor.__new__(components.HumanContact3DPredictor)
    nn.Module.__init__(human)
    human.multiview_channels, human.num_vertices, human.threshold = 4, int(fixed["n_vertices"]), 0.3
    human.pixel_to_vertex_map = torch.from_numpy(fixed_maps["pixel_to_vertex"])
    human.bary_coord_map = torch.from_numpy(fixed_maps["bary"])
    result["human_scores_hseg"] = human([torch.from_numpy(result["mask_logits_hseg"])])[0].numpy()
    obj = components.ObjectMeshContact3DPredictor.__new__(components.ObjectMeshContact3DPredictor)
    nn.Module.__init__(obj)
    obj.multiview_channels, obj.threshold = 4, 0.3
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lift2d_dict.pkl"
        joblib.dump({"pixel_to_vertices_map": list(fixed["pixel_to_vertex"]), "bary_coords_map": list(fixed["bary"]),
                     "num_vertices": int(fixed["n_vertices"])}, path)
        result["object_scores_oseg"] = obj([torch.from_numpy(result["mask_logits_oseg"])], ds_names=["ocontact"],
                                           lift2d_dict_path=str(path))[0].numpy()
    return {**state, **result, "sam_images": images, "seg_hidden": hidden, "cams": cams,
            "tiny": np.array(json.dumps(TINY))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--official", type=Path, required=True, help="saidwivedi/InteractVLM work tree or git dir")
    parser.add_argument("--commit", default="79b4bf2", help="commit to read from a git directory")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    read = official_reader(args.official, args.commit)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as staged:
        stage_official(read, Path(staged))
        golden = tokens(read)
        golden["official_commit"] = args.commit
        (args.out / "tokens.json").write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")
        fixed = lift_input()
        scores = lift(fixed)
        np.savez_compressed(args.out / "lift.npz", **fixed, **scores, official_commit=np.array(args.commit))
        np.savez_compressed(args.out / "splitter.npz", **splitter(), official_commit=np.array(args.commit))
        np.savez_compressed(args.out / "masks.npz", **masks(fixed), official_commit=np.array(args.commit))
    print(f"wrote {args.out / 'tokens.json'} ({len(golden['cases'])} prompts, {len(golden['texts'])} texts) and "
          f"{args.out / 'lift.npz'} ({int(fixed['n_vertices'])} vertices, "
          f"{int((scores['object_scores'] > 0.5).sum())} object vertices above 0.5)")


if __name__ == "__main__":
    main()
