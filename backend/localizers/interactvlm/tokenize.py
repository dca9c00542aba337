"""Token ids exactly as the official code makes them: transformers 4.31's slow `LlamaTokenizer` (use_fast=False).

The official InteractVLM code tokenizes with the sentencepiece LlamaTokenizer of transformers 4.31 (run_demo.py
87-93; train.py 162-169 with legacy=True), after `add_tokens` of `[SEG]` (utils/utils.py 335-362) and of
`<im_start>`, `<im_end>` (train.py 174-177). transformers 5 turns tokenizer.model into a fast tokenizer that
tokenizes the added tokens differently: on the official prompts it keeps a `▁` piece before `<im_start>` and a
`<0x0A>` piece after `<im_end>` (128 ids instead of 125 on the same files, under every `legacy` setting). The
model was trained on the 4.31 ids, so this module reproduces them on sentencepiece directly:

1. The text is split on the added and special tokens (longest match first, as 4.31's `Trie.split`).
2. Around an added token stored as a plain string (`added_tokens.json`), the neighbouring text loses its
   whitespace on both sides ("USER: <im_start>" -> "USER:" + "<im_start>"; "<im_end>\\nWhich" -> "<im_end>" +
   "Which"). Tokens declared as `AddedToken` objects (bos/eos/unk/pad: LlamaTokenizer wraps them with
   lstrip=rstrip=False; dict entries of special_tokens_map.json) strip only as their flags say.
3. Each remaining piece of text is encoded by sentencepiece. `legacy` (tokenizer_config.json; 4.31's default
   True when absent) decides the text after a special token: legacy=True encodes it as is (sentencepiece's dummy
   prefix gives "▁Which"); legacy=False prefixes the whole text with "▁" and drops the dummy prefix of every
   piece that does not start with a space ("Which").
4. BOS in front (add_bos_token, default True), EOS at the end only with add_eos_token.

`tokenize_with_image` is LLaVA's `tokenizer_image_token` (model/llava/mm_utils.py): the prompt is split at
"<image>", each chunk tokenized with its BOS, IMAGE_TOKEN_INDEX (-200) between chunks, BOS kept only in front.
Pinned by tests/test_interactvlm_tokens.py against ids made by transformers 4.31 itself
(scripts/official_goldens.py, run in a side environment).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

IMAGE_TOKEN_INDEX = -200  # LLaVA's placeholder id, replaced by the CLIP patch embeddings
SPIECE_UNDERLINE = "\u2581"
_SPECIAL_ROLES = ("bos_token", "eos_token", "unk_token", "pad_token")


@dataclass(frozen=True)
class _Strip:
    """Whether an added token eats the whitespace on its left / right (4.31's AddedToken lstrip/rstrip)."""

    left: bool
    right: bool


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error}); re-extract the checkpoint archive") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return data


def _content(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("content")) if value.get("content") is not None else None
    return str(value) if value is not None else None


class OfficialLlamaTokenizer:
    """The slow LlamaTokenizer of transformers 4.31 for one checkpoint folder (tokenizer.model + json files).

    Exposes what the localizer uses: `encode`, `decode`, `convert_tokens_to_ids`, `bos_token_id`,
    `eos_token_id`, `unk_token_id`, `legacy`.
    """

    def __init__(self, folder: str | Path) -> None:
        import sentencepiece as spm

        folder = Path(folder)
        model = folder / "tokenizer.model"
        if not model.is_file():
            raise ValueError(f"{folder} has no tokenizer.model (the official sentencepiece tokenizer)")
        config = _read_json(folder / "tokenizer_config.json")
        special_map = _read_json(folder / "special_tokens_map.json")
        added = _read_json(folder / "added_tokens.json")
        self.sp = spm.SentencePieceProcessor()
        self.sp.Load(str(model))
        self.legacy = bool(config.get("legacy", True))  # LlamaTokenizer.__init__ default in 4.31
        self.add_bos = bool(config.get("add_bos_token", True))
        self.add_eos = bool(config.get("add_eos_token", False))
        # Special tokens as 4.31's from_pretrained leaves them: LlamaTokenizer.__init__ wraps the string
        # bos/eos/unk/pad of tokenizer_config.json in AddedToken(lstrip=False, rstrip=False); then every entry of
        # special_tokens_map.json replaces its role, a dict as an AddedToken, a string as a plain string (which
        # strips the whitespace on both sides, like any added token).
        defaults = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None}
        roles: dict[str, Any] = {}
        for role in _SPECIAL_ROLES:
            value = config.get(role, defaults[role])
            roles[role] = value if isinstance(value, dict) or value is None else {"content": str(value)}
        roles["additional_special_tokens"] = list(config.get("additional_special_tokens") or [])
        roles.update({k: v for k, v in special_map.items() if k in roles})
        names: dict[str, str | None] = {role: _content(roles[role]) for role in _SPECIAL_ROLES}
        entries = [roles[role] for role in _SPECIAL_ROLES if roles[role] is not None]
        entries += list(roles["additional_special_tokens"] or [])
        self._strip: dict[str, _Strip] = {}
        for value in entries:  # an AddedToken of a content wins over a plain string of the same content
            token = _content(value)
            if token is None:
                continue
            if isinstance(value, dict):
                self._strip[token] = _Strip(bool(value.get("lstrip", False)), bool(value.get("rstrip", False)))
            else:
                self._strip.setdefault(token, _Strip(True, True))
        vocab = self.sp.get_piece_size()
        self.added_ids: dict[str, int] = {}
        for token, index in sorted(added.items(), key=lambda item: item[1]):
            if int(index) < vocab:
                continue  # already a sentencepiece piece: not an added token
            if int(index) != vocab + len(self.added_ids):
                raise ValueError(f"added_tokens.json: {token!r} has id {index}, expected "
                                 f"{vocab + len(self.added_ids)} (added ids must follow the vocabulary)")
            self.added_ids[str(token)] = int(index)
        for token in self.added_ids:
            self._strip.setdefault(token, _Strip(True, True))  # plain strings strip both sides (4.31)
        self._no_split = sorted(set(self._strip) | set(self.added_ids), key=len, reverse=True)
        self._added_by_id = {index: token for token, index in self.added_ids.items()}
        self.bos_token, self.eos_token, self.unk_token = names["bos_token"], names["eos_token"], names["unk_token"]
        self.bos_token_id = self._piece_id(self.bos_token) if self.bos_token else None
        self.eos_token_id = self._piece_id(self.eos_token) if self.eos_token else None
        self.unk_token_id = self._piece_id(self.unk_token) if self.unk_token else None

    def __len__(self) -> int:
        return self.sp.get_piece_size() + len(self.added_ids)

    def _piece_id(self, token: str) -> int:
        if token in self.added_ids:
            return self.added_ids[token]
        return int(self.sp.piece_to_id(token))

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | list[int]:
        if isinstance(tokens, str):
            return self._piece_id(tokens)
        return [self._piece_id(t) for t in tokens]

    def _split(self, text: str) -> list[str]:
        """Cut `text` at every no-split token, leftmost first, longest first at one position."""
        parts, start, cursor = [], 0, 0
        while cursor < len(text):
            match = next((t for t in self._no_split if text.startswith(t, cursor)), None)
            if match is None:
                cursor += 1
                continue
            if cursor > start:
                parts.append(text[start:cursor])
            parts.append(match)
            cursor += len(match)
            start = cursor
        if start < len(text):
            parts.append(text[start:])
        return parts

    def _sp_pieces(self, text: str) -> list[str]:
        """4.31 LlamaTokenizer._tokenize (T5's): sentencepiece, with the dummy prefix handled per `legacy`."""
        is_first = False
        if not self.legacy:
            is_first = text.startswith(SPIECE_UNDERLINE)
            if is_first:
                text = text[1:]
        pieces = self.sp.encode(text, out_type=str)
        if (not self.legacy and not is_first and not text.startswith(" ") and pieces
                and pieces[0].startswith(SPIECE_UNDERLINE)):
            pieces = ([pieces[0][1:]] if len(pieces[0]) > 1 else []) + pieces[1:]
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """Pieces of `text` (no BOS/EOS), as 4.31's PreTrainedTokenizer.tokenize + LlamaTokenizer.tokenize."""
        if not self.legacy:
            text = SPIECE_UNDERLINE + text.replace(SPIECE_UNDERLINE, " ")
        parts = self._split(text)
        special = set(self._no_split)
        for i, part in enumerate(parts):
            if part not in special:
                continue
            strip = self._strip.get(part, _Strip(True, True))
            if strip.right and i + 1 < len(parts) and parts[i + 1]:
                parts[i + 1] = parts[i + 1].lstrip()
            if strip.left and i > 0 and parts[i - 1]:
                parts[i - 1] = parts[i - 1].rstrip()
        pieces: list[str] = []
        for part in parts:
            if not part:
                continue  # fully stripped
            pieces.extend([part] if part in special else self._sp_pieces(part))
        return pieces

    def encode(self, text: str) -> list[int]:
        """Ids of `text` with BOS (and EOS) as add_bos_token/add_eos_token say: `tokenizer(text).input_ids`."""
        ids = [self._piece_id(p) for p in self.tokenize(text)]
        if self.add_bos and self.bos_token_id is not None:
            ids = [self.bos_token_id] + ids
        if self.add_eos and self.eos_token_id is not None:
            ids = ids + [self.eos_token_id]
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Readable text of generated ids: sentencepiece runs decoded, added tokens as they are, space-joined
        (4.31's `decode(..., skip_special_tokens=False)` joins them with spaces too)."""
        out: list[str] = []
        run: list[int] = []
        for index in ids:
            token = self._added_by_id.get(int(index))
            if token is None:
                run.append(int(index))
                continue
            if run:
                out.append(self.sp.decode(run))
                run = []
            out.append(token)
        if run:
            out.append(self.sp.decode(run))
        return " ".join(part for part in out if part)


def load_tokenizer(folder: str | Path):
    """The checkpoint's tokenizer: the official slow one on tokenizer.model (preferred: its ids are the ones
    the model was trained on), else transformers' tokenizer for a folder that only has a tokenizer.json."""
    folder = Path(folder)
    if (folder / "tokenizer.model").is_file():
        return OfficialLlamaTokenizer(folder)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)


def tokenize_with_image(prompt: str, tokenizer) -> list[int]:
    """LLaVA's tokenizer_image_token: each '<image>'-separated chunk tokenized with its BOS, IMAGE_TOKEN_INDEX
    between chunks; when the first chunk starts with BOS, it is kept once in front and dropped from every chunk."""
    chunks = [list(tokenizer.encode(chunk)) for chunk in prompt.split("<image>")]
    bos = tokenizer.bos_token_id
    offset = 1 if chunks and chunks[0] and bos is not None and chunks[0][0] == bos else 0
    ids = chunks[0][:offset]
    for i, chunk in enumerate(chunks):
        if i:
            ids.append(IMAGE_TOKEN_INDEX)
        ids.extend(chunk[offset:])
    return ids
