"""Token ids equal those of the official tokenizer: transformers 4.31's slow LlamaTokenizer.

The goldens (tests/data/interactvlm_goldens/tokens.json) were made by transformers 4.31.0 itself, in a side
environment, by scripts/official_goldens.py from the official repository's conversation template, question
lists and tokenizer_image_token, on the committed test tokenizer (tests/data/interactvlm_tokenizer/).
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from backend.localizers.interactvlm.inputs import conversation, question
from backend.localizers.interactvlm.tokenize import (IMAGE_TOKEN_INDEX, OfficialLlamaTokenizer, load_tokenizer,
                                                     tokenize_with_image)
from tests.interactvlm_tiny import TEST_TOKENIZER

GOLDENS = json.loads((Path(__file__).parent / "data" / "interactvlm_goldens" / "tokens.json").read_text())


@pytest.fixture(scope="module", params=[True, False], ids=["legacy", "non-legacy"])
def tokenizer(request, tmp_path_factory) -> OfficialLlamaTokenizer:
    folder = tmp_path_factory.mktemp(f"tok_{request.param}")
    for item in TEST_TOKENIZER.iterdir():
        shutil.copy(item, folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["legacy"] = request.param
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return load_tokenizer(folder)


def test_goldens_were_made_from_the_committed_tokenizer():
    digest = hashlib.sha256((TEST_TOKENIZER / "tokenizer.model").read_bytes()).hexdigest()
    assert GOLDENS["tokenizer_model_sha256"] == digest and GOLDENS["transformers"] == "4.31.0"
    assert {(c["task"], c["legacy"]) for c in GOLDENS["cases"]} == {
        (t, legacy) for t in ("human_contact", "semantic_contact", "object_contact") for legacy in (True, False)}


def test_the_three_prompts_give_the_official_ids(tokenizer):
    assert isinstance(tokenizer, OfficialLlamaTokenizer)
    cases = [c for c in GOLDENS["cases"] if c["legacy"] == tokenizer.legacy]
    assert len(cases) == 3
    for case in cases:
        prompt = conversation(question(case["task"], case["label"]))
        assert prompt == case["prompt"]  # our conversation is the official llava_v1 one
        ids = tokenize_with_image(prompt, tokenizer)
        assert ids == case["ids"], case["task"]
        assert ids[0] == tokenizer.bos_token_id and ids.count(tokenizer.bos_token_id) == 1
        assert ids.count(IMAGE_TOKEN_INDEX) == 1
        at = ids.index(IMAGE_TOKEN_INDEX)
        assert ids[at - 1] == tokenizer.convert_tokens_to_ids("<im_start>")
        assert ids[at + 1] == tokenizer.convert_tokens_to_ids("<im_end>")
        # the whitespace around the added tokens is gone: ':' right before <im_start>, no newline piece after
        assert tokenizer.convert_tokens_to_ids("<0x0A>") not in ids


def test_edge_texts_give_the_official_ids_and_pieces(tokenizer):
    texts = [t for t in GOLDENS["texts"] if t["legacy"] == tokenizer.legacy]
    assert len(texts) >= 10
    for item in texts:
        assert tokenizer.tokenize(item["text"]) == item["pieces"], repr(item["text"])
        assert tokenizer.encode(item["text"]) == item["ids"], repr(item["text"])


def test_transformers_own_tokenizer_would_differ():
    """Why this module exists: transformers 5 converts tokenizer.model to a fast tokenizer whose ids differ."""
    from transformers import AutoTokenizer

    fast = AutoTokenizer.from_pretrained(str(TEST_TOKENIZER), local_files_only=True)
    case = next(c for c in GOLDENS["cases"] if c["legacy"] is False and c["task"] == "human_contact")
    assert tokenize_with_image(case["prompt"], fast) != case["ids"]


def test_decode_and_special_ids(tokenizer):
    seg = tokenizer.convert_tokens_to_ids("[SEG]")
    assert seg == json.loads((TEST_TOKENIZER / "added_tokens.json").read_text())["[SEG]"]
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (1, 2, 0)
    assert tokenizer.decode([seg]) == "[SEG]"
    assert tokenizer.decode(tokenizer.encode("body parts")[1:] + [seg]) == "body parts [SEG]"


def test_broken_added_tokens_are_refused(tmp_path):
    for item in TEST_TOKENIZER.iterdir():
        shutil.copy(item, tmp_path)
    (tmp_path / "added_tokens.json").write_text(json.dumps({"[SEG]": 999}))
    with pytest.raises(ValueError, match=r"added_tokens.json.*\[SEG\].*999"):
        OfficialLlamaTokenizer(tmp_path)
    (tmp_path / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(ValueError, match="tokenizer_config.json is not valid JSON"):
        OfficialLlamaTokenizer(tmp_path)
