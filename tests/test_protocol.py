"""The protocol schema: requests parse or fail with the documented error codes; events encode as one line."""
from __future__ import annotations

import json

import numpy as np
import pytest

from backend.protocol import (PROTOCOL_VERSION, ProtocolError, check_inputs, encode, error_event, make_event,
                              parse_estimate, parse_request)


def line(**fields) -> str:
    return json.dumps({"v": PROTOCOL_VERSION, "id": "r1", **fields})


def estimate(**fields):
    base = {"op": "estimate", "image": "photo.png", "out_dir": "out", "body": {"source": "anny"}}
    return parse_estimate(parse_request(line(**{**base, **fields})))


def code_of(call) -> tuple[str, ProtocolError]:
    with pytest.raises(ProtocolError) as caught:
        call()
    assert caught.value.message and caught.value.hint, "every error names the problem and what to do"
    return caught.value.code, caught.value


@pytest.mark.parametrize("raw, code", [
    ("{not json", "bad_json"),
    (b"\xff\xfe", "bad_json"),
    ("[1, 2]", "bad_request"),
    (json.dumps({"v": 1, "op": "hello"}), "bad_request"),  # no id
    (json.dumps({"id": "x", "op": "hello"}), "bad_request"),  # no v
    (json.dumps({"v": 2, "id": "x", "op": "hello"}), "version_mismatch"),
    (json.dumps({"v": "1", "id": "x", "op": "hello"}), "version_mismatch"),
    (json.dumps({"v": 1, "id": "x", "op": "fly"}), "unknown_op"),
    (json.dumps({"v": 1, "id": "x"}), "unknown_op"),
    (json.dumps({"v": 1, "id": "x", "op": "cancel"}), "bad_request"),  # no target
    ("[" * 10000 + "]" * 10000, "bad_json"),  # deeper than json's recursion limit (was `internal`)
    ('{"v": 1, "id": "x", "op": "hello", "a": ' + "[" * 5000 + "]" * 5000 + "}", "bad_json"),
])
def test_bad_lines_get_their_codes(raw, code):
    assert code_of(lambda: parse_request(raw))[0] == code


def test_error_keeps_the_request_id_when_known():
    _, error = code_of(lambda: parse_request(json.dumps({"v": 9, "id": "abc", "op": "hello"})))
    assert error.request_id == "abc"


def test_valid_requests_parse():
    request = parse_request(line(op="cancel", target="job-1"))
    assert (request.op, request.id, request.fields["target"]) == ("cancel", "r1", "job-1")
    job = estimate(task="semantic_contact", label="bicycle", resolution=256, device="cpu")
    assert (job.task, job.label, job.resolution, job.device, job.surface) == ("semantic_contact", "bicycle", 256,
                                                                              "cpu", "body")
    defaults = estimate()
    assert (defaults.task, defaults.device, defaults.resolution, defaults.localizer) == ("human_contact", "auto",
                                                                                        1024, None)
    obj = estimate(task="object_contact", object={"npz": "o.npz"}, body=None)
    assert obj.surface == "object" and obj.body is None


@pytest.mark.parametrize("fields", [
    {"image": None},
    {"out_dir": 3},
    {"task": "hug"},
    {"task": "semantic_contact"},  # no label
    {"task": "semantic_contact", "label": "  "},
    {"body": None},  # human task without a body
    {"body": {"source": "robot"}},
    {"body": {"source": "smplx"}},  # no model_dir
    {"body": {"source": "smplx", "model_dir": "m", "gender": "other"}},
    {"body": {"source": "mesh"}},  # no npz
    {"body": "anny"},
    {"task": "object_contact"},  # no object
    {"task": "object_contact", "object": {"path": "o.npz"}},
    {"device": "tpu"},
    {"resolution": 8},
    {"resolution": True},
    {"resolution": "1024"},
    {"localizer": 5},
])
def test_bad_estimates_are_bad_requests(fields):
    assert code_of(lambda: estimate(**fields))[0] == "bad_request"


def test_check_inputs_names_missing_files(tmp_path, photo):
    job = estimate(image=str(tmp_path / "nope.png"))
    code, error = code_of(lambda: check_inputs(job, "r1"))
    assert code == "missing_file" and "nope.png" in error.message
    job = estimate(image=str(photo), body={"source": "mesh", "npz": str(tmp_path / "body.npz")})
    code, error = code_of(lambda: check_inputs(job))
    assert code == "missing_file" and "body.npz" in error.message
    (tmp_path / "file").write_text("x")
    code, _ = code_of(lambda: check_inputs(estimate(image=str(photo), out_dir=str(tmp_path / "file"))))
    assert code == "bad_request"
    check_inputs(estimate(image=str(photo), out_dir=str(tmp_path / "new")))  # a new out_dir is fine
    assert not (tmp_path / "new").exists()  # checking creates nothing
    code, error = code_of(lambda: check_inputs(estimate(image=str(photo), out_dir=str(tmp_path / "file" / "sub"))))
    assert code == "bad_out_dir" and "is a file" in error.message


def test_events_encode_as_single_json_lines():
    event = make_event("result", "r1", summary={"n": np.int64(3), "scores": np.array([0.5, 1.0], np.float32),
                                                "text": "a\nb"})
    text = encode(event)
    assert text.endswith("\n") and text.count("\n") == 1
    assert json.loads(text) == {"v": 1, "id": "r1", "event": "result",
                                "summary": {"n": 3, "scores": [0.5, 1.0], "text": "a\nb"}}
    assert json.loads(encode(error_event(None, "bad_json", "m", "h")))["code"] == "bad_json"


# Boundary helpers the server and the CLI share: photo loading and device selection.

def test_load_image_gives_uint8_rgb_and_clear_errors(tmp_path, photo):
    from PIL import Image

    from backend.images import ImageError, load_image

    rgb = load_image(photo)
    assert rgb.dtype == np.uint8 and rgb.shape == (96, 64, 3)
    Image.fromarray(rgb[..., 0]).save(tmp_path / "grey.png")
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])).save(tmp_path / "rgba.png")
    assert load_image(tmp_path / "grey.png").shape == (96, 64, 3)
    assert np.array_equal(load_image(tmp_path / "rgba.png"), rgb)
    with pytest.raises(FileNotFoundError, match="missing.png does not exist"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(ImageError, match="not an image"):
        load_image(tmp_path / "text.png")
    (tmp_path / "cut.png").write_bytes(photo.read_bytes()[:300])
    with pytest.raises(ImageError, match="could not be decoded"):
        load_image(tmp_path / "cut.png")
    Image.fromarray(rgb[:4, :4]).save(tmp_path / "tiny.png")
    with pytest.raises(ImageError, match="4x4"):
        load_image(tmp_path / "tiny.png")


def test_resolve_device():
    import torch

    from backend.devices import DeviceUnavailable, resolve_device

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="auto, cpu, cuda"):
        resolve_device("gpu")
    if torch.cuda.is_available():
        assert resolve_device("cuda") == "cuda"
    else:
        with pytest.raises(DeviceUnavailable) as caught:
            resolve_device("cuda")
        assert caught.value.code == "device_unavailable" and "cpu" in caught.value.hint
