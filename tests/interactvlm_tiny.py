"""Write a tiny InteractVLM checkpoint (same architecture, a few small layers, seeded random weights) in the
official folder layout and key names: config.json, tokenizer.model + added_tokens.json ([SEG], <im_start>,
<im_end>; or a tokenizer.json),
pytorch_model-0000k-of-00002.bin + pytorch_model.bin.index.json (or safetensors), and a tiny CLIP vision
tower in vision_tower/. Used by the tests and by bench/interactvlm_gpu.py; nothing is downloaded.

`emit_seg=True` wires the random LLM so that its first generated token is [SEG] (a large constant in one
residual channel that only the [SEG] row of lm_head reads); `emit_seg=False` makes it answer EOS at once.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SPECIALS = ["<unk>", "<s>", "</s>"]
ADDED = ["<im_start>", "<im_end>", "[SEG]"]
LABELS = ["object", "bicycle", "chair", "bottle", "scene"]


def _tokenizer(folder: Path) -> dict[str, int]:
    from tokenizers import Tokenizer, pre_tokenizers, processors
    from tokenizers.models import WordLevel

    from backend.localizers.interactvlm.inputs import SYSTEM, TEMPLATES

    pre = pre_tokenizers.Whitespace()
    words: list[str] = []
    for text in [SYSTEM, "USER: ASSISTANT:", *TEMPLATES.values(), *LABELS]:
        for word, _ in pre.pre_tokenize_str(text):
            if word not in words:
                words.append(word)
    vocab = {token: i for i, token in enumerate(SPECIALS + words)}
    tok = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre
    tok.add_special_tokens(ADDED)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
        "unk_token": "<unk>", "pad_token": "<unk>", "model_max_length": 512}))
    return {"vocab_size": tok.get_vocab_size(), "seg": tok.token_to_id("[SEG]")}


TEST_TOKENIZER = ROOT / "tests" / "data" / "interactvlm_tokenizer"
SPM_VOCAB = 420  # 256 byte pieces (LLaMA byte_fallback) + 3 specials + characters and merges of the prompt texts
SPM_FILES = ("tokenizer.model", "added_tokens.json", "special_tokens_map.json", "tokenizer_config.json")


def train_test_tokenizer(folder: Path) -> None:
    """The recipe of the committed test tokenizer (tests/data/interactvlm_tokenizer/, run once): a sentencepiece
    BPE model with LLaMA's settings (identity normalisation, whitespace kept, byte fallback, digits split,
    dummy prefix) trained on the prompt texts, plus the three tokens LISA/InteractVLM add, in the files
    `save_pretrained` writes. Committed rather than trained per run so that the goldens made from it by
    transformers 4.31 (scripts/official_goldens.py) stay valid whatever sentencepiece version is installed."""
    import io

    import sentencepiece as spm

    from backend.localizers.interactvlm.inputs import SYSTEM, TEMPLATES

    folder.mkdir(parents=True, exist_ok=True)
    lines = [SYSTEM, "USER: ASSISTANT:", *TEMPLATES.values(), " ".join(LABELS)] * 8
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model, vocab_size=SPM_VOCAB,
                                   model_type="bpe", unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
                                   character_coverage=1.0, num_threads=1, minloglevel=2,
                                   normalization_rule_name="identity", remove_extra_whitespaces=False,
                                   byte_fallback=True, split_digits=True, add_dummy_prefix=True)
    (folder / "tokenizer.model").write_bytes(model.getvalue())
    added = {token: SPM_VOCAB + i for i, token in enumerate(ADDED)}
    (folder / "added_tokens.json").write_text(json.dumps(added))
    (folder / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<unk>"}))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "add_bos_token": True, "add_eos_token": False, "legacy": False, "model_max_length": 512}))


def _spm_tokenizer(folder: Path, legacy: bool | None = None) -> dict[str, int]:
    """The official layout: the committed sentencepiece tokenizer.model (LLaMA's kind) + added_tokens.json for
    the tokens LISA/InteractVLM add. legacy: written into tokenizer_config.json (None: as committed, False)."""
    for name in SPM_FILES:
        (folder / name).write_bytes((TEST_TOKENIZER / name).read_bytes())
    if legacy is not None:
        config = json.loads((folder / "tokenizer_config.json").read_text())
        config["legacy"] = bool(legacy)
        (folder / "tokenizer_config.json").write_text(json.dumps(config))
    added = json.loads((folder / "added_tokens.json").read_text())
    return {"vocab_size": SPM_VOCAB + len(added), "seg": added["[SEG]"]}


def _randomise(module: torch.nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in sorted(module.state_dict().items()):
            if not param.is_floating_point():
                continue
            if param.ndim == 1 and "norm" in name and name.endswith("weight"):
                param.fill_(1.0)
            else:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.05)


def write_tiny_checkpoint(folder: str | Path, seed: int = 0, emit_seg: bool = True, fmt: str = "bin",
                          cam_cond: bool = True, tokenizer: str = "sentencepiece", token_type: str = "Gen",
                          emit: str = "[SEG]") -> Path:
    """Write the tiny model to `folder` (created) and return it. fmt: 'bin' (official) or 'safetensors';
    tokenizer: 'sentencepiece' (official tokenizer.model) or 'json' (a tokenizers WordLevel tokenizer.json);
    token_type 'Gen-Hu-Obj' (interactvlm-3d-hcontact-ocontact): [HSEG], [OSEG] added after [SEG] (as
    utils/utils.py add_new_tokens does) and an AttentionSplitter; emit: the token the model answers with."""
    from transformers import CLIPVisionConfig

    from backend.localizers.interactvlm.config import SamSizes, read_config
    from backend.localizers.interactvlm.keymap import ours_to_official
    from backend.localizers.interactvlm.model import InteractVLMNet

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if tokenizer not in ("sentencepiece", "json"):
        raise ValueError(f"tokenizer must be 'sentencepiece' or 'json', got {tokenizer!r}")
    tok = _spm_tokenizer(folder) if tokenizer == "sentencepiece" else _tokenizer(folder)
    extra: dict = {}
    if token_type == "Gen-Hu-Obj":
        if tokenizer != "sentencepiece":
            raise ValueError("token_type 'Gen-Hu-Obj' is written with the sentencepiece tokenizer only")
        added = json.loads((folder / "added_tokens.json").read_text())
        for name in ("[HSEG]", "[OSEG]"):
            added[name] = tok["vocab_size"]
            tok["vocab_size"] += 1
        (folder / "added_tokens.json").write_text(json.dumps(added))
        extra = {"hseg_token_idx": added["[HSEG]"], "oseg_token_idx": added["[OSEG]"],
                 "hC_sam_view_type": "4MV-Z_Vitru", "oC_sam_view_type": "4MV-Z_HM_BM", "oC_loss_weight": 3.0}
        tok["emit"] = added.get(emit, tok["seg"])
    hidden = 32
    config = {
        "architectures": ["InteractVLMForCausalLM"], "model_type": "llava", "hidden_size": hidden,
        "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
        "vocab_size": tok["vocab_size"], "max_position_embeddings": 512, "rms_norm_eps": 1e-5,
        "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
        "mm_hidden_size": 16, "mm_vision_select_layer": -2, "mm_vision_tower": "openai/clip-vit-large-patch14",
        "vision_tower": "openai/clip-vit-large-patch14", "mm_use_im_start_end": True, "out_dim": 16,
        "train_mask_decoder": True, "seg_token_idx": tok["seg"], "token_type": "Gen", "img_emb_len": 3,
        "use_fusion": False, "use_uncertainty": False, "multiview_channels": 4, "multiview_cam_cond": cam_cond,
        "cam_encoder_type": "vi_v1", "hC_sam_view_type": "4MV-Z_Vitru_mv2", "hC_loss_weight": 3.0,
        "oC_loss_weight": 0.0, "torch_dtype": "float32",
    }
    config.update({"token_type": token_type, **extra})
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    clip_dir = folder / "vision_tower"
    clip_config = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                                   image_size=28, patch_size=14, projection_dim=16)
    clip_config.save_pretrained(str(clip_dir))
    sam = SamSizes(encoder_width=32, encoder_depth=2, encoder_heads=2, patch_size=8, image_size=64, window_size=2,
                   global_attn_indexes=[1], encoder_mlp_dim=64, prompt_dim=16, decoder_depth=2, decoder_mlp_dim=32,
                   iou_head_hidden_dim=16, num_mask_tokens=4, mask_in_chans=16)
    cfg = read_config(folder)
    cfg.splitter_hidden = 8  # the official 256 -> 128 splitter, at the tiny model's width
    net = InteractVLMNet(cfg, sam, clip_config)
    _randomise(net, seed)
    state = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()
             if not k.endswith("position_ids") and not k.endswith("inv_freq")}
    with torch.no_grad():
        # Channel 0 of every input embedding carries a large constant, so after the final RMSNorm it is
        # reliably positive; the chosen token's lm_head row reads it.
        state["llama.embed_tokens.weight"][:, 0] = 40.0
        state["mm_projector.bias"][0] = 40.0
        target = tok.get("emit", tok["seg"]) if emit_seg else 2
        state["lm_head.weight"][target, 0] = 20.0
    # On disk the CLIP weights are named as in openai/clip-vit-large-patch14: 'vision_model.*'.
    clip_state = {"vision_model." + k[len("clip."):]: v for k, v in state.items() if k.startswith("clip.")}
    names = ours_to_official([k for k in state if not k.startswith("clip.")])
    official = {name: state[ours] for name, ours in names.items()}
    _save_clip(clip_dir, clip_state)
    _save_shards(folder, official, fmt)
    return folder


def _save_clip(folder: Path, state: dict[str, torch.Tensor]) -> None:
    from safetensors.torch import save_file

    save_file(state, str(folder / "model.safetensors"))


def _save_shards(folder: Path, official: dict[str, torch.Tensor], fmt: str) -> None:
    keys = sorted(official)
    halves = [keys[: len(keys) // 2], keys[len(keys) // 2:]]
    weight_map = {}
    for i, part in enumerate(halves, start=1):
        if fmt == "bin":
            name = f"pytorch_model-{i:05d}-of-00002.bin"
            torch.save({k: official[k] for k in part}, folder / name)
        elif fmt == "safetensors":
            from safetensors.torch import save_file

            name = f"model-{i:05d}-of-00002.safetensors"
            save_file({k: official[k] for k in part}, str(folder / name))
        else:
            raise ValueError(f"fmt must be 'bin' or 'safetensors', got {fmt!r}")
        weight_map.update({k: name for k in part})
    index = "pytorch_model.bin.index.json" if fmt == "bin" else "model.safetensors.index.json"
    total = sum(t.numel() * t.element_size() for t in official.values())
    (folder / index).write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))


if __name__ == "__main__":
    out = write_tiny_checkpoint(sys.argv[1] if len(sys.argv) > 1 else "interactvlm_tiny")
    print(out)
