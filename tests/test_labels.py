"""The one label vocabulary and the request's `labels` list."""
from __future__ import annotations

import json

import pytest

from backend.labels import VOCABULARY, label_warning, normalise_label, parse_labels
from backend.protocol import ProtocolError, parse_estimate, parse_request


@pytest.mark.parametrize("text, canonical", [
    ("Tennis racket", "tennis_racket"), ("racquet", "tennis_racket"), ("tennis_racket", "tennis_racket"),
    ("Sports  Ball", "sports_ball"), ("bikes", "bicycle"), ("Dining-table", "dining_table"),
    ("hair drier", "hair_drier"), ("ground", "scene"), ("mug", "mug"), ("Benches", "bench")])
def test_aliases_and_spellings_become_the_damon_class(text, canonical):
    assert normalise_label(text) == canonical and canonical in VOCABULARY and label_warning(canonical) is None


def test_unknown_and_generic_labels_are_kept_but_flagged():
    assert normalise_label("Garden Gnome") == "garden_gnome" and "not one of the DAMON classes" in label_warning(
        "garden_gnome")
    assert "never a training class" in label_warning("object") and normalise_label("  ") is None
    assert parse_labels("bicycle, Bike ,tennis racket") == ["bicycle", "tennis_racket"]


def _estimate(**fields):
    line = json.dumps({"v": 1, "id": "1", "op": "estimate", "image": "a.png", "out_dir": "/tmp",
                       "body": {"source": "anny"}, **fields})
    return parse_estimate(parse_request(line))


def test_the_request_takes_a_list_of_labels_and_keeps_label():
    request = _estimate(labels=["Bicycle", "racquet"], data_dir="/data")
    assert request.labels == ("bicycle", "tennis_racket") and request.data_dir == "/data"
    assert _estimate(task="semantic_contact", label="Tennis racket").label == "tennis_racket"
    for bad in ([], "bicycle", [3]):
        with pytest.raises(ProtocolError, match="labels"):
            _estimate(labels=bad)
    with pytest.raises(ProtocolError, match="human_contact"):
        _estimate(task="semantic_contact", label="chair", labels=["chair"])


def test_the_default_localizer_reads_labels_through_the_vocabulary():
    from backend.localizers.default.semantic import normalise_label as prior_key

    assert prior_key("racquet") == prior_key("tennis racket") == "tennis racket"


def test_clip_resize_truncates_the_long_side_as_transformers_4_31():
    from backend.localizers.interactvlm.inputs import clip_resize_size

    assert clip_resize_size(480, 640, 224) == (224, 298)  # 298.67: int(), not round()'s 299
    assert clip_resize_size(640, 480, 224) == (298, 224)
    assert clip_resize_size(480, 640, 336) == (336, 448)  # 336*640/480 in that order is exactly 448.0
