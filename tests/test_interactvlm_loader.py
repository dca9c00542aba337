"""The InteractVLM checkpoint loader on a tiny model written in the official layout and key names."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.localizers.interactvlm import CheckpointError, InteractVLMLocalizer, inspect_checkpoint
from backend.localizers.interactvlm.keymap import official_to_ours, ours_to_official
from backend.localizers.interactvlm.runtime import choose
from tests.interactvlm_tiny import write_tiny_checkpoint


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("ivlm") / "tiny", seed=0)


@pytest.fixture
def tiny_copy(tiny, tmp_path) -> Path:
    return Path(shutil.copytree(tiny, tmp_path / "copy"))


def _index(folder: Path) -> dict[str, str]:
    return json.loads((folder / "pytorch_model.bin.index.json").read_text())["weight_map"]


def test_tiny_checkpoint_matches_every_key(tiny):
    report = inspect_checkpoint(tiny)
    assert report.ok, report.message()
    assert (report.missing, report.unexpected, report.shape_mismatches) == ([], [], [])
    assert report.weight_format == "torch" and len(report.weight_files) == 2
    assert report.tokenizer == "tokenizer.model" and report.vision_tower.endswith("vision_tower")
    assert "OK: every weight matched" in report.message()


def test_official_key_names_are_used(tiny):
    """Names as facebookresearch/segment_anything, LISA and InteractVLM save them (not our module names)."""
    keys = set(_index(tiny))
    for key in ["model.embed_tokens.weight", "model.layers.1.self_attn.q_proj.weight", "model.norm.weight",
                "lm_head.weight", "model.mm_projector.bias", "model.text_hidden_fcs.0.0.weight",
                "model.text_hidden_fcs.0.2.bias", "model.visual_model.image_encoder.patch_embed.proj.weight",
                "model.visual_model.image_encoder.blocks.1.attn.rel_pos_h",
                "model.visual_model.image_encoder.blocks.0.norm1.weight",
                "model.visual_model.image_encoder.neck.3.bias",
                "model.visual_model.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix",
                "model.visual_model.prompt_encoder.mask_downscaling.6.weight",
                "model.visual_model.mask_decoder.transformer.layers.1.norm4.weight",
                "model.visual_model.mask_decoder.transformer.norm_final_attn.bias",
                "model.visual_model.mask_decoder.output_upscaling.3.weight",
                "model.visual_model.mask_decoder.output_hypernetworks_mlps.3.layers.2.bias",
                "model.visual_model.mask_decoder.iou_prediction_head.layers.1.weight",
                "cam_pose_encoder.spatial_encoder.2.weight", "cam_pose_encoder.view_transforms.3.bias"]:
        assert key in keys, key
    assert not any("vision_tower" in k for k in keys)  # the official merge drops CLIP from the checkpoint
    ours = [official_to_ours(k) for k in keys]
    assert set(ours_to_official(ours)) == keys  # the map is a bijection on this model


def test_safetensors_layout_loads_to_the_same_weights(tiny, tmp_path):
    other = write_tiny_checkpoint(tmp_path / "st", seed=0, fmt="safetensors")
    assert inspect_checkpoint(other).ok
    a, b = InteractVLMLocalizer(tiny), InteractVLMLocalizer(other)
    a.load("cpu")
    b.load("cpu")
    for (name, x), (_, y) in zip(a.net.state_dict().items(), b.net.state_dict().items()):
        assert torch.equal(x, y), name


def test_missing_shard_is_named(tiny_copy):
    (tiny_copy / "pytorch_model-00002-of-00002.bin").unlink()
    with pytest.raises(CheckpointError, match="pytorch_model-00002-of-00002.bin"):
        inspect_checkpoint(tiny_copy)


def test_truncated_shard_is_reported(tiny_copy):
    shard = tiny_copy / "pytorch_model-00001-of-00002.bin"
    shard.write_bytes(shard.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="unreadable or truncated"):
        inspect_checkpoint(tiny_copy)


def test_corrupt_safetensors_is_reported(tmp_path):
    folder = write_tiny_checkpoint(tmp_path / "st", seed=0, fmt="safetensors")
    (folder / "model-00001-of-00002.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        inspect_checkpoint(folder)


class _TrainingArgs:  # any Python object makes a pickle that weights_only=True refuses
    lr = 1e-4


def test_pickle_needing_full_unpickling_is_refused_with_conversion_hint(tiny_copy):
    shard = tiny_copy / "pytorch_model-00002-of-00002.bin"
    state = torch.load(shard, weights_only=True)
    torch.save({**state, "args": _TrainingArgs()}, shard)
    with pytest.raises(CheckpointError, match="full unpickling") as error:
        inspect_checkpoint(tiny_copy)
    assert "safetensors" in str(error.value) and "trust" in str(error.value)


class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_shard_with_a_payload_is_named_and_no_unpickling_command_is_printed(tiny_copy, tmp_path):
    """The refusal names the code the pickle would import (read with pickletools) and never suggests
    weights_only=False or any other command that would unpickle the file."""
    marker = tmp_path / "ran"
    shard = tiny_copy / "pytorch_model-00002-of-00002.bin"
    torch.save({**torch.load(shard, weights_only=True), "x": _Payload(marker)}, shard)
    with pytest.raises(CheckpointError) as error:
        inspect_checkpoint(tiny_copy)
    text = str(error.value)
    assert "posix.system" in text and "do not load this file; re-download it from the official source" in text.lower()
    for unsafe in ("weights_only=False", "torch.load", "python -c"):
        assert unsafe not in text, unsafe
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["random", "truncated"])
def test_damaged_shard_is_called_damaged_not_a_pickle_needing_unpickling(tiny_copy, damage):
    shard = tiny_copy / "pytorch_model-00001-of-00002.bin"
    data = shard.read_bytes()
    noise = np.random.default_rng(1).integers(0, 256, len(data), dtype=np.uint8).tobytes()
    shard.write_bytes(noise if damage == "random" else data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="unreadable or truncated") as error:
        inspect_checkpoint(tiny_copy)
    text = str(error.value)
    assert "re-download" in text and "full unpickling" not in text and "weights_only=False" not in text


def test_legacy_shard_of_random_bytes_is_damaged(tiny_copy):
    """A non-zip file takes torch's legacy path, whose weights_only error used to be reported as a pickle."""
    shard = tiny_copy / "pytorch_model-00001-of-00002.bin"
    shard.write_bytes(b"\x80\x02" + np.random.default_rng(2).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(CheckpointError, match="unreadable or truncated") as error:
        inspect_checkpoint(tiny_copy)
    assert "full unpickling" not in str(error.value)


def test_index_entries_outside_the_checkpoint_folder_are_not_opened(tiny_copy):
    """The index names a real, valid shard one folder up: it is refused, not opened."""
    elsewhere = tiny_copy.parent / "elsewhere"
    elsewhere.mkdir()
    shutil.move(str(tiny_copy / "pytorch_model-00002-of-00002.bin"), str(elsewhere / "x.bin"))
    index = tiny_copy / "pytorch_model.bin.index.json"
    content = json.loads(index.read_text())
    content["weight_map"] = {k: ("../elsewhere/x.bin" if v.endswith("00002-of-00002.bin") else v)
                             for k, v in content["weight_map"].items()}
    index.write_text(json.dumps(content))
    with pytest.raises(CheckpointError, match="not a file in the checkpoint folder"):
        inspect_checkpoint(tiny_copy)


def test_missing_unexpected_and_mismatched_keys_are_listed(tiny_copy):
    shard = tiny_copy / "pytorch_model-00001-of-00002.bin"
    state = torch.load(shard, weights_only=True)
    dropped = sorted(state)[0]
    del state[dropped]
    state["model.visual_model.extra_head.weight"] = torch.zeros(3)
    resized = sorted(state)[5]
    state[resized] = torch.zeros(*[n + 1 for n in state[resized].shape])
    torch.save(state, shard)
    report = inspect_checkpoint(tiny_copy)
    assert not report.ok
    assert report.missing == [dropped]
    assert report.unexpected == ["model.visual_model.extra_head.weight"]
    assert [m[0] for m in report.shape_mismatches] == [resized]
    with pytest.raises(CheckpointError) as error:
        InteractVLMLocalizer(tiny_copy).load("cpu")
    for text in (dropped, "extra_head", resized, "NOT USABLE"):
        assert text in str(error.value)


def test_folder_problems_name_the_fix(tiny_copy, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        inspect_checkpoint(tmp_path / "nowhere")
    shutil.rmtree(tiny_copy / "vision_tower")
    report = inspect_checkpoint(tiny_copy)
    assert report.vision_tower is None and not report.ok
    assert "vision tower (CLIP): NOT FOUND" in report.message()
    (tiny_copy / "config.json").unlink()
    with pytest.raises(CheckpointError, match="no config.json"):
        inspect_checkpoint(tiny_copy)


def test_unsupported_variant_is_refused(tiny_copy):
    config = json.loads((tiny_copy / "config.json").read_text())
    config["token_type"] = "Gen-Hu-Obj"
    (tiny_copy / "config.json").write_text(json.dumps(config))
    report = inspect_checkpoint(tiny_copy)
    assert not report.ok and "Gen-Hu-Obj" in report.message()


def test_cpu_placement_refuses_too_little_ram_and_warns_for_big_models():
    with pytest.raises(ValueError, match="GiB of RAM"):  # InsufficientMemory is a MemoryError and a ValueError
        choose("cpu", n_parameters=13_000_000_000, available=16 * 2**30)
    big = choose("cpu", n_parameters=2_000_000_000, available=64 * 2**30)
    assert big.dtype == torch.float32 and "CPU" in big.warning
    small = choose("cpu", n_parameters=200_000, available=1 * 2**30)
    assert small.device == "cpu" and small.warning is None
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            choose("cuda", n_parameters=1)
