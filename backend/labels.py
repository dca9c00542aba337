"""The one object-label vocabulary of the project: DAMON's class names as InteractVLM was trained on them.

Facts (saidwivedi/InteractVLM @ 79b4bf2): the human-contact prompt carries the DAMON object name lower-cased
with its underscores kept ("Which body parts are in contact with the tennis_racket?",
datasets/base_contact_dataset.py 210); the names are DAMON's per-object keys (COCO classes written with
underscores, plus `supporting`; preprocess_data/constants.py DAMON_CATEGORIES_MAPPING); DAMON's foot-ground
contact is queried as `scene` (datasets/hcontact_3d.py), which the scene-contact release is trained on.
"object" was never a training class: it is kept only as the fallback for a photo whose object nobody named.

Every localizer, the CLI and the protocol normalise labels here, so one prop gets one name whichever
localizer ran (and the add-on's `Contact <label>` groups match).
"""
from __future__ import annotations

import re

# DAMON's object classes (DAMON_CATEGORIES_MAPPING, spaces of its few odd entries written as underscores,
# as every other entry and PICO write them) + `supporting` (DAMON) + `scene` (foot/ground contact, RICH).
DAMON_CLASSES: tuple[str, ...] = (
    "motorcycle", "bicycle", "boat", "car", "truck", "bus", "train", "airplane",
    "backpack", "tie", "handbag", "baseball_glove",
    "bench", "chair", "couch", "bed", "toilet", "dining_table",
    "book", "umbrella", "cell_phone", "laptop", "kite", "suitcase", "bottle", "remote", "toothbrush",
    "teddy_bear", "scissors", "keyboard", "hair_drier", "traffic_light", "fire_hydrant", "stop_sign", "tv",
    "vase", "parking_meter", "clock", "potted_plant", "mouse",
    "frisbee", "sports_ball", "tennis_racket", "baseball_bat", "skateboard", "snowboard", "skis", "surfboard",
    "banana", "cake", "apple", "carrot", "pizza", "donut", "hot_dog", "sandwich", "broccoli", "orange",
    "knife", "spoon", "cup", "wine_glass", "oven", "fork", "bowl", "refrigerator", "toaster", "sink", "microwave",
    "supporting",
)
# The object releases' classes (PIAD, LEMON; lower-cased as run_demo.py reads them from file names) are
# known names too, and are never aliased away: "mug" stays "mug" for the affordance model.
OBJECT_CLASSES: tuple[str, ...] = (
    "bag", "bed", "bottle", "bowl", "chair", "clock", "dishwasher", "display", "door", "earphone", "faucet", "hat",
    "keyboard", "knife", "laptop", "microwave", "mug", "refrigerator", "scissors", "storagefurniture", "table",
    "trashcan", "vase", "backpack", "baseballbat", "bicycle", "guitar", "motorcycle", "skateboard", "suitcase",
    "surfboard", "tennisracket", "umbrella",
)
SCENE = "scene"  # the scene-contact release's query (ground, undefined objects)
FALLBACK = "object"  # never a training class: used only when no object is named, with a warning
VOCABULARY: tuple[str, ...] = DAMON_CLASSES + (SCENE,) + tuple(c for c in OBJECT_CLASSES if c not in DAMON_CLASSES)

# Other names people use for the same thing -> the DAMON class (after lower-casing and underscores);
# none is an object release's class name.
ALIASES: dict[str, str] = {
    "racquet": "tennis_racket", "racket": "tennis_racket", "tennis_racquet": "tennis_racket",
    "ball": "sports_ball", "football": "sports_ball", "soccer_ball": "sports_ball",
    "basketball": "sports_ball", "sportsball": "sports_ball", "bike": "bicycle", "motorbike": "motorcycle",
    "sofa": "couch", "settee": "couch", "diningtable": "dining_table",
    "phone": "cell_phone", "cellphone": "cell_phone", "mobile_phone": "cell_phone", "smartphone": "cell_phone",
    "mobile": "cell_phone", "television": "tv", "bat": "baseball_bat",
    "glove": "baseball_glove", "baseballglove": "baseball_glove", "teddy": "teddy_bear", "teddybear": "teddy_bear",
    "hair_dryer": "hair_drier", "hairdryer": "hair_drier", "hairdrier": "hair_drier", "wineglass": "wine_glass",
    "fridge": "refrigerator", "plane": "airplane", "aeroplane": "airplane", "ski": "skis",
    "doughnut": "donut", "purse": "handbag", "ground": SCENE, "floor": SCENE,
    "foot_ground": SCENE,
}


def _clean(text: str) -> str:
    """Lower case, runs of spaces / hyphens / underscores -> one underscore."""
    return re.sub(r"[\s\-_]+", "_", str(text).strip().lower()).strip("_")


def normalise_label(text: str | None) -> str | None:
    """The canonical label for a user's text ('Tennis racket', 'racquet' -> 'tennis_racket'); None for empty.

    A name outside the vocabulary comes back cleaned (lower case, underscores): the model may still read it,
    and `label_warning` says it was not a training class."""
    if text is None:
        return None
    word = _clean(text)
    if not word:
        return None
    if word in VOCABULARY or word == FALLBACK:
        return word
    for candidate in (word, word[:-1] if word.endswith("s") else word, word[:-2] if word.endswith("es") else word):
        if candidate in VOCABULARY:
            return candidate
        if candidate in ALIASES:
            return ALIASES[candidate]
    return word


def parse_labels(text: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """'bicycle, Tennis racket' or a list -> canonical labels, in order, without repeats."""
    if text is None:
        return []
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for item in items:
        label = normalise_label(item)
        if label and label not in out:
            out.append(label)
    return out


def label_warning(label: str | None) -> str | None:
    """Why a label may give poor results (None when it is a training class)."""
    if label is None or label == FALLBACK:
        return (f"no object was named, so the generic label {FALLBACK!r} was used; it was never a training class: "
                "name the objects in the photo (e.g. labels 'bicycle,bench'), or 'scene' for the ground")
    if label not in VOCABULARY:
        return (f"label {label!r} is not one of the DAMON classes the model was trained on; results may be poor "
                f"(known: {', '.join(VOCABULARY[:8])}, ...)")
    return None
