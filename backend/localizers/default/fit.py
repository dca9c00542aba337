"""Fit the Anny body's pose to MediaPipe's metric 3D world landmarks (CPU, torch).

The fit works on bone directions, not joint positions: MediaPipe's skeleton has other proportions
than Anny's (its 'hips' sit higher and wider than the hip joints), so matching unit directions of
the limbs and the torso is what both skeletons agree on. Steps:
1. the landmarks go into Anny's axes (X = person's left when facing the camera, Y away from the
   camera, Z up as the camera sees it);
2. each bone's world rotation starts as the minimal rotation taking its rest direction to the
   observed one, root to leaves (closed form); a hand then turns about its own axis until its knuckle
   line (pinky -> index) lies along MediaPipe's pinky -> index landmarks: the swing alone keeps the
   forearm's twist, so a palm turned down on a table or up under a tray kept Anny's rest palm, facing
   the thigh (on the synthetic sets, whose hands rest near that twist, the fitted palm normal is within
   45 deg of the true one for 0.92 / 0.93 of the seen hands of seeds 17 / 2017, 0.88 / 0.89 with the
   swing alone; mean error 23.9 / 23.8 deg against 24.3 / 24.2);
3. a refinement of those rotations, run to convergence (L-BFGS, priors.FIT), minimises the
   visibility-weighted direction error plus the pose priors: knees are hinges within their range, a
   limb that is not seen mirrors its seen partner (else keeps MediaPipe's guess) with a lower weight,
   and rotations stay small;
4. world rotations become Anny's 'local-ref' deltas (G_child = G_parent @ delta) and one Anny
   forward gives the posed vertices.
Parts whose landmarks are not seen are reported as uncertain.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field, replace

import numpy as np

from backend.geometry import smallest_rotation, unit
from backend.localizers.default import detect as K
from backend.localizers.default.priors import DETECT, FIT
from backend.localizers.default.seats import angle_from_down

# MediaPipe world (x right, y down, z away from the camera) -> Anny axes (x, z, -y): a rotation.
_MP_TO_ANNY = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
L_EAR, R_EAR, L_PINKY, R_PINKY, L_INDEX, R_INDEX = 7, 8, 17, 18, 19, 20

# Fitted bones: name -> (fitted parent or None for the torso root, Anny head bone, Anny tail bone,
# MediaPipe landmarks whose mean is the head, landmarks whose mean is the tail).
BONES: dict[str, tuple[str | None, str, str, tuple[int, ...], tuple[int, ...]]] = {
    "spine03": (None, "root", "neck01", (K.L_HIP, K.R_HIP), (K.L_SHOULDER, K.R_SHOULDER)),
    "neck01": ("spine03", "neck01", "head", (K.L_SHOULDER, K.R_SHOULDER), (L_EAR, R_EAR)),
    "upperleg01.L": (None, "upperleg01.L", "lowerleg01.L", (K.L_HIP,), (K.L_KNEE,)),
    "lowerleg01.L": ("upperleg01.L", "lowerleg01.L", "foot.L", (K.L_KNEE,), (K.L_ANKLE,)),
    "foot.L": ("lowerleg01.L", "foot.L", "toe3-1.L", (K.L_HEEL,), (K.L_TOE,)),
    "upperleg01.R": (None, "upperleg01.R", "lowerleg01.R", (K.R_HIP,), (K.R_KNEE,)),
    "lowerleg01.R": ("upperleg01.R", "lowerleg01.R", "foot.R", (K.R_KNEE,), (K.R_ANKLE,)),
    "foot.R": ("lowerleg01.R", "foot.R", "toe3-1.R", (K.R_HEEL,), (K.R_TOE,)),
    "upperarm01.L": ("spine03", "upperarm01.L", "lowerarm01.L", (K.L_SHOULDER,), (K.L_ELBOW,)),
    "lowerarm01.L": ("upperarm01.L", "lowerarm01.L", "wrist.L", (K.L_ELBOW,), (K.L_WRIST,)),
    "wrist.L": ("lowerarm01.L", "wrist.L", "finger3-1.L", (K.L_WRIST,), (L_PINKY, L_INDEX)),
    "upperarm01.R": ("spine03", "upperarm01.R", "lowerarm01.R", (K.R_SHOULDER,), (K.R_ELBOW,)),
    "lowerarm01.R": ("upperarm01.R", "lowerarm01.R", "wrist.R", (K.R_ELBOW,), (K.R_WRIST,)),
    "wrist.R": ("lowerarm01.R", "wrist.R", "finger3-1.R", (K.R_WRIST,), (R_PINKY, R_INDEX)),
}
ORDER = list(BONES)
MIRROR_BONE = {b: (b[:-1] + ("R" if b.endswith("L") else "L")) if b[-2:] in (".L", ".R") else b for b in ORDER}
JOINTS = {"hip": "upperleg01", "knee": "lowerleg01", "ankle": "foot", "shoulder": "upperarm01",
          "elbow": "lowerarm01", "wrist": "wrist"}
KNEES = ("lowerleg01.L", "lowerleg01.R")
# Which body parts each fitted bone moves (for the per-part 'uncertain' report).
BONE_PARTS = {"upperleg01": ("thigh",), "lowerleg01": ("shin",), "foot": ("foot", "sole"),
              "upperarm01": ("upper_arm",), "lowerarm01": ("forearm",), "wrist": ("hand", "palm", "fingers")}


@dataclass
class Fit:
    """A fitted pose.

    vertices: (N,3) float64 posed Anny vertices in the fit frame (Anny axes, camera-aligned, metres).
    deltas: bone -> (3,3) local-ref rotation handed to Anny.
    seen: bone -> visibility weight in [0,1] used by the fit.
    residual_deg: mean angle between fitted and observed directions over seen bones.
    uncertain: parts posed by the prior, not by the photo.
    """

    vertices: np.ndarray
    deltas: dict[str, np.ndarray]
    seen: dict[str, float]
    residual_deg: float
    uncertain: list[str] = field(default_factory=list)
    seconds: float = 0.0
    joints: dict[str, np.ndarray] = field(default_factory=dict)  # 'hip.L', 'knee.L', ... in the fit frame
    rested: list[str] = field(default_factory=list)  # sides ('L', 'R') whose shin rest_shins_on_floor laid down
    levelled: list[str] = field(default_factory=list)  # sides whose foot rest_feet_on_floor laid flat
    stretched: list[str] = field(default_factory=list)  # straight legs stretched_legs.stretch_legs_on_floor laid level


@functools.lru_cache(maxsize=1)
def _model():
    import warnings

    import anny

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return anny.Anny()


@functools.lru_cache(maxsize=1)
def _rest_model() -> dict:
    """Anny's rest model at the default phenotype, computed once (the phenotype blend and rest
    skeleton are ~60% of a full forward; the fit only changes the pose)."""
    import torch

    model = _model()
    with torch.no_grad():
        coefficients = model.get_phenotype_blendshape_coefficients()
        return model.get_rest_model(coefficients)


def posed(deltas: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(N,3) posed vertices and (104,3) bone heads for local-ref bone rotations (rest phenotype)."""
    import torch

    model = _model()
    rest = _rest_model()
    dtype = model.template_vertices.dtype
    params = {}
    for bone, matrix in deltas.items():
        transform = torch.eye(4, dtype=dtype)
        transform[:3, :3] = torch.from_numpy(np.asarray(matrix)).to(dtype)
        params[bone] = transform[None]
    with torch.no_grad():
        transforms, poses = model.get_bone_transforms(params or None, rest["rest_bone_poses"])
        vertices = model.get_skinned_vertices(rest["rest_vertices"], transforms)
    return vertices[0].double().numpy(), poses[0, :, :3, 3].double().numpy()


@functools.lru_cache(maxsize=1)
def rest_posed() -> tuple[np.ndarray, np.ndarray]:
    """posed({}) computed once: Anny's rest pose (default phenotype, standing along +Z), vertices and bone
    heads (read-only: shared by every caller)."""
    vertices, heads = posed({})
    vertices.flags.writeable = False
    heads.flags.writeable = False
    return vertices, heads


@functools.lru_cache(maxsize=1)
def rest_directions() -> dict[str, np.ndarray]:
    """Unit rest direction of each fitted bone in Anny's rest pose (default phenotype)."""

    model = _model()
    labels = list(model.bone_labels)
    heads = rest_posed()[1]
    out = {}
    for bone, (_, head, tail, _, _) in BONES.items():
        d = heads[labels.index(tail)] - heads[labels.index(head)]
        out[bone] = unit(d)
    return out


def observed_directions(world: np.ndarray, visibility: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Per fitted bone: observed unit direction (Anny axes) and its weight (min visibility of its ends)."""
    points = world @ _MP_TO_ANNY.T
    dirs, weights = {}, {}
    for bone, (_, _, _, head, tail) in BONES.items():
        d = points[list(tail)].mean(0) - points[list(head)].mean(0)
        length = FIT["bone_length_m"].get(bone.split(".")[0])
        if length is not None:
            d = _depth_from_length(d, length)
        dirs[bone] = unit(d)
        weights[bone] = float(min(visibility[list(head)].min(), visibility[list(tail)].min()))
    return dirs, weights


def _depth_from_length(d: np.ndarray, length: float) -> np.ndarray:
    """A limb vector (Anny axes, y = depth away from the camera) stretched in depth to `length`.

    MediaPipe's depth is its noisiest axis and it shortens limbs that point at or away from the
    camera (median thigh 0.40 m standing, 0.34-0.37 m seated or on the ground, seed 17): the image
    plane components are kept and the depth grows until the limb has its length (its sign kept),
    the classic length constraint of lifting 2D poses to 3D. A limb already as long is unchanged.
    """
    in_plane = float(np.hypot(d[0], d[2]))
    if np.linalg.norm(d) >= length or in_plane >= length:
        return d
    depth = np.sqrt(length ** 2 - in_plane ** 2)
    return np.array([d[0], depth if d[1] >= 0 else -depth, d[2]])


def _targets(dirs: dict[str, np.ndarray], weights: dict[str, float], lateral: np.ndarray,
             ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Observed directions; an unseen bone (weight FIT['unseen_weight']) mirrors its seen partner
    across the body's sagittal plane, else keeps MediaPipe's own guess.

    MediaPipe places hidden keypoints from the rest of the body; where both limbs are hidden that
    guess beats hanging the limb straight down (a kneeling body's hidden shins point back, not down;
    a seated body's knees behind a crate stay forward): tuning seed F1 0.453 -> 0.455 (kneel 0.15 ->
    0.17, geodesic error 16.9 -> 14.6 cm). Using the guess for every unseen limb scored 0.462 but
    put a lying body's far sole on the bed (tests/data/anny_lie.jpg): a seen partner is better there.
    """
    seen = {b: w >= DETECT["visible"] for b, w in weights.items()}
    out, w_out = dict(dirs), {}
    for bone in ORDER:
        if seen[bone]:
            w_out[bone] = 1.0
            continue
        partner = MIRROR_BONE[bone]
        if partner != bone and seen[partner]:
            d = dirs[partner]
            out[bone] = unit(d - 2 * (d @ lateral) * lateral)
        w_out[bone] = FIT["unseen_weight"]
    return out, w_out


def _closed_form(targets: dict[str, np.ndarray], rest: dict[str, np.ndarray],
                 torso_lateral: np.ndarray, across: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """World rotation per bone: the torso from its up axis and hip line, limbs by minimal swing
    from the parent's rotation (so the twist follows the parent); a wrist bone in `across` (its pinky ->
    index line in Anny axes) then takes the palm's twist from it (_twist)."""
    up = targets["spine03"]
    if np.degrees(np.arccos(np.clip(up[2], -1.0, 1.0))) > FIT["lying_deg"]:
        # Lying: the body rests on its back, front or side, so its left-right axis is level; the
        # landmarks' depth (along which that axis runs when seen from the side) is their noisiest part.
        torso_lateral = torso_lateral - torso_lateral[2] * np.array([0.0, 0.0, 1.0])
    lateral = unit(torso_lateral - (torso_lateral @ up) * up)
    forward = np.cross(up, lateral)  # Anny rest: lateral +X (left), up +Z, forward = Z x X = +Y? see below
    # Anny's rest frame: X left, Z up, the body faces -Y; so columns (lateral, -facing, up) = (X, Y, Z).
    rest_frame = np.stack([lateral, forward, up], 1)
    torso = rest_frame @ np.eye(3)  # maps rest axes onto the observed torso axes
    world = {}
    for bone in ORDER:
        parent = BONES[bone][0]
        base = torso if parent is None else world[parent]
        if bone == "spine03":
            world[bone] = torso
            continue
        world[bone] = smallest_rotation(unit(base @ rest[bone]), targets[bone]) @ base
        if bone in across:  # the palm's twist about the hand's axis, from MediaPipe's index and pinky
            world[bone] = _twist(world[bone], targets[bone], rest_across()[bone], across[bone])
    return world


def _twist(rotation: np.ndarray, axis: np.ndarray, rest_line: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """rotation turned about unit axis so that rotation @ rest_line points along observed, both taken
    across the axis (the turn that needs no swing); unchanged when observed lies within
    asin(FIT['palm_across_min']) of the axis, where its direction across it is noise."""
    a = rotation @ rest_line
    b = observed - (observed @ axis) * axis
    if np.linalg.norm(b) < FIT["palm_across_min"] * np.linalg.norm(observed):
        return rotation
    a, b = unit(a - (a @ axis) * axis), unit(b)
    angle = float(np.arctan2(np.cross(a, b) @ axis, a @ b))
    return axis_rotation(axis, angle) @ rotation


@functools.lru_cache(maxsize=1)
def rest_across() -> dict[str, np.ndarray]:
    """Per wrist bone: the unit rest direction across the palm, pinky knuckle -> index knuckle."""
    labels = list(_model().bone_labels)
    heads = rest_posed()[1]
    return {f"wrist.{s}": unit(heads[labels.index(f"finger2-1.{s}")] - heads[labels.index(f"finger5-1.{s}")])
            for s in "LR"}


def observed_across(world: np.ndarray, visibility: np.ndarray) -> dict[str, np.ndarray]:
    """Per wrist bone whose index and pinky landmarks are seen: pinky -> index (MediaPipe's world axes)."""
    return {f"wrist.{side}": world[index] - world[pinky]
            for side, pinky, index in (("L", L_PINKY, L_INDEX), ("R", R_PINKY, R_INDEX))
            if min(visibility[pinky], visibility[index]) >= DETECT["visible"]}


def _refine(world: dict[str, np.ndarray], targets: dict[str, np.ndarray], weights: dict[str, float],
            rest: dict[str, np.ndarray], root: np.ndarray) -> dict[str, np.ndarray]:
    """Per-bone corrective rotations minimising direction error + knee hinge/range prior + smallness, to
    convergence (L-BFGS): the result is the objective's minimum near the closed-form start, so it does not
    depend on floating-point noise (a fixed number of Adam steps did: Adam scales every step to ~lr, so the
    near-zero gradients of bones the start already matches moved them by noise, up to 15 mm of vertex
    between runs 1e-9 m apart)."""
    import roma
    import torch

    names = [b for b in ORDER if b != "spine03"]
    base = torch.tensor(np.stack([world[b] for b in names]), dtype=torch.float64)
    rest_t = torch.tensor(np.stack([rest[b] for b in names]), dtype=torch.float64)
    target = torch.tensor(np.stack([targets[b] for b in names]), dtype=torch.float64)
    weight = torch.tensor([weights[b] for b in names], dtype=torch.float64)
    correction = torch.zeros(len(names), 3, dtype=torch.float64, requires_grad=True)
    index = {b: i for i, b in enumerate(names)}
    unit_x = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)

    def objective() -> torch.Tensor:
        rot = roma.rotvec_to_rotmat(correction) @ base
        direction = (rot @ rest_t[:, :, None])[:, :, 0]
        loss = (weight * (1.0 - (direction * target).sum(1))).sum()
        for knee in KNEES:  # relative to the thigh: a hinge about its lateral (x) axis, flexing backwards
            relative = rot[index[knee.replace("lowerleg", "upperleg")]].T @ rot[index[knee]]
            off_axis = ((relative[:, 0] - unit_x) ** 2).sum()  # 0 iff the rotation is about x
            loss = loss + FIT["hinge_weight"] * (off_axis + torch.relu(-relative[2, 1]) ** 2)  # sin(flexion) >= 0
        return loss + FIT["small_weight"] * (correction ** 2).sum()

    optimiser = torch.optim.LBFGS([correction], lr=1.0, max_iter=FIT["max_iterations"], history_size=20,
                                  tolerance_grad=1e-10, tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        rot = (roma.rotvec_to_rotmat(correction) @ base).numpy()
    return {**world, **{b: rot[i] for i, b in enumerate(names)}}


def fit_pose(world_landmarks: np.ndarray, visibility: np.ndarray,
             palm_across: dict[str, np.ndarray] | None = None) -> Fit:
    """Fit Anny's pose to MediaPipe's (33,3) world landmarks and (33,) visibility. palm_across: per wrist
    bone ('wrist.L', 'wrist.R'), the pinky -> index knuckle direction in MediaPipe's world axes (None: from
    the pose's own pinky and index landmarks, observed_across)."""

    start = time.perf_counter()
    rest = rest_directions()
    dirs, weights = observed_directions(world_landmarks, visibility)
    points = world_landmarks @ _MP_TO_ANNY.T
    lateral = unit(points[[K.L_HIP, K.L_SHOULDER]].mean(0) - points[[K.R_HIP, K.R_SHOULDER]].mean(0))
    targets, fit_weights = _targets(dirs, weights, lateral)
    lines = observed_across(world_landmarks, visibility) if palm_across is None else palm_across
    across = {bone: np.asarray(v, dtype=np.float64) @ _MP_TO_ANNY.T for bone, v in lines.items()}
    world = _closed_form(targets, rest, lateral, across)
    world = _refine(world, targets, fit_weights, rest, world["spine03"])
    deltas: dict[str, np.ndarray] = {}
    # Anny's chain: root carries the torso's world rotation; the spine bend goes on spine03 (identity
    # here, the torso is one rigid piece); every other fitted bone's delta is relative to its parent.
    deltas["root"] = world["spine03"]
    for bone in ORDER:
        if bone == "spine03":
            continue
        parent = BONES[bone][0] or "spine03"
        deltas[bone] = world[parent].T @ world[bone]
    residual = [np.degrees(np.arccos(np.clip((world[b] @ rest[b]) @ dirs[b], -1, 1)))
                for b in ORDER if weights[b] >= DETECT["visible"]]
    vertices, heads = posed(deltas)
    joints = _joints(heads)
    uncertain = sorted({f"{side}_{part}" for b in ORDER if weights[b] < DETECT["visible"] and "." in b
                        for side in (("left",) if b.endswith(".L") else ("right",))
                        for part in BONE_PARTS.get(b.split(".")[0], ())})
    return Fit(vertices=vertices, deltas=deltas, seen=weights,
               residual_deg=float(np.mean(residual)) if residual else float("nan"),
               uncertain=uncertain, seconds=time.perf_counter() - start, joints=joints)


def _joints(heads: np.ndarray) -> dict[str, np.ndarray]:
    labels = list(_model().bone_labels)
    return {f"{joint}.{side}": heads[labels.index(f"{bone}.{side}")] for side in "LR" for joint, bone in JOINTS.items()}


def knee_bend_deg(fit: Fit, side: str) -> float:
    """How far the fitted knee of side 'L'/'R' bends (0: the leg straight)."""
    thigh = fit.joints[f"knee.{side}"] - fit.joints[f"hip.{side}"]
    shin = fit.joints[f"ankle.{side}"] - fit.joints[f"knee.{side}"]
    return float(np.degrees(np.arccos(np.clip(unit(thigh) @ unit(shin), -1.0, 1.0))))


def world_rotations(deltas: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """World rotation per fitted bone from the local deltas (the inverse of fit_pose's last step)."""
    world = {"spine03": deltas["root"]}
    for bone in ORDER[1:]:
        world[bone] = world[BONES[bone][0] or "spine03"] @ deltas[bone]
    return world


def levelling(direction: np.ndarray, axis: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(3,3) the smallest rotation about unit `axis` (within +-90 deg) that makes `direction` level."""
    angles = np.radians(np.arange(-90.0, 90.5, 1.0))
    turned = (np.cos(angles)[:, None] * direction + np.sin(angles)[:, None] * np.cross(axis, direction)
              + (1 - np.cos(angles))[:, None] * (axis @ direction) * axis)
    best = float(angles[np.argmin(np.abs(turned @ up) + 1e-3 * np.abs(angles))])
    return axis_rotation(axis, best)


def axis_rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """(3,3) the rotation by `angle` (radians, right-handed) about unit `axis` (Rodrigues)."""
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.cos(angle) * np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * np.outer(axis, axis)


def kneeling_sides(fit: Fit, up: np.ndarray) -> tuple[str, ...]:
    """Sides ('L', 'R') whose fitted knee is folded at least FIT['knee_folded_deg'] and lies within
    FIT['knee_on_floor_m'] of the body's lowest point (the legs rest_shins_on_floor may lay down)."""
    floor = float((fit.vertices @ up).min())
    return tuple(side for side in "LR" if knee_bend_deg(fit, side) >= FIT["knee_folded_deg"]
                 and float(fit.joints[f"knee.{side}"] @ up) - floor <= FIT["knee_on_floor_m"])


def foot_not_into_floor(world: dict[str, np.ndarray], side: str, up: np.ndarray) -> np.ndarray:
    """(3,3) the world rotation of side's foot under a shin laid towards the floor: as it is, unless the
    foot points into the floor, then turned about the ankle's hinge until it rests level on its top."""
    foot = f"foot.{side}"
    toes = world[foot] @ rest_directions()[foot]
    if toes @ up >= 0:
        return world[foot]
    return levelling(toes, unit(world[f"lowerleg01.{side}"][:, 0]), up) @ world[foot]


def rest_shins_on_floor(fit: Fit, up: np.ndarray) -> Fit:
    """A folded shin whose knee rests on the floor lies on the floor: it turns about the knee hinge
    until it is level, and its foot, which the floor stops, no lower than level (gravity: nothing
    holds a kneeling body's foot in the air, and MediaPipe's depth of folded legs tilts them: kneel
    shins fitted 101-131 deg from down on the tuning seed, true ~90).

    Applies per leg when the knee is folded at least FIT['knee_folded_deg'], within
    FIT['knee_on_floor_m'] of the lowest point and the shin within FIT['shin_level_deg'] of level.
    Returns the re-posed fit with `rested` naming the sides that moved (the same fit if none did).
    Seed 17: kneel F1 0.17 -> 0.38, all 0.463 -> 0.477.
    """
    rest = rest_directions()
    world = world_rotations(fit.deltas)
    moved = []
    for side in kneeling_sides(fit, up):
        shin, foot = f"lowerleg01.{side}", f"foot.{side}"
        direction = world[shin] @ rest[shin]
        tilt = float(np.degrees(np.arcsin(np.clip(direction @ up, -1.0, 1.0))))  # + rises from the knee
        if abs(tilt) > FIT["shin_level_deg"] or abs(tilt) < 1.0:
            continue
        turn = levelling(direction, unit(world[f"upperleg01.{side}"][:, 0]), up)  # the knee hinge (_refine)
        world[shin] = turn @ world[shin]
        world[foot] = turn @ world[foot]
        world[foot] = foot_not_into_floor(world, side, up)
        moved.append(side)
    if not moved:
        return fit
    return reposed(fit, world, [f"{bone}.{side}" for side in moved for bone in ("lowerleg01", "foot")], rested=moved)


def reposed(fit: Fit, world: dict[str, np.ndarray], bones: list[str], **changes) -> Fit:
    """The fit re-posed with `bones` turned to their world rotations in `world` (each bone's delta taken
    relative to its fitted parent's rotation there); `changes` are further Fit fields to set."""
    deltas = dict(fit.deltas)
    for bone in bones:
        deltas[bone] = world[BONES[bone][0] or "spine03"].T @ world[bone]  # a thigh hangs from the torso
    vertices, heads = posed(deltas)
    return replace(fit, vertices=vertices, deltas=deltas, joints=_joints(heads), **changes)


SOLE_NORMAL = np.array([0.0, 0.0, -1.0])  # out of the sole in Anny's rest (its sole is level to ~2 deg)


def sole_tilt_deg(fit: Fit, side: str, up: np.ndarray) -> float:
    """Angle (deg) between the fitted foot's sole and the floor plane (0: flat on it)."""
    return angle_from_down(world_rotations(fit.deltas)[f"foot.{side}"] @ SOLE_NORMAL, up)


def shin_from_down_deg(fit: Fit, side: str, up: np.ndarray) -> float:
    """Angle (deg) of side's fitted shin (knee -> ankle) from straight down (0: vertical, 90: level)."""
    return angle_from_down(fit.joints[f"ankle.{side}"] - fit.joints[f"knee.{side}"], up)


def rest_feet_on_floor(fit: Fit, up: np.ndarray, foot_parts: dict[str, np.ndarray]) -> Fit:
    """A foot that stands on the floor lies flat on it: the foot turns about the ankle (the
    smallest turn: its heading is kept) until its sole is level, heel and toes on the floor plane.

    MediaPipe's heel/toe depth tilts a standing foot by a few degrees (1-15 deg on the tuning
    seed's standing images, truly 0-2), and over a ~25 cm foot each 5 deg lifts or sinks one end
    by ~2 cm, the width of the contact band. Applies per foot when its lowest vertex is within
    FIT['foot_on_floor_m'] of the body's lowest point and its sole within FIT['foot_level_deg'] of
    level, its shin within FIT['foot_flat_shin_max_deg'] of down (the ankle's range); a foot on its toes
    (heel raised, kneeling: fit.rest_shins_on_floor's sides) keeps its fit.
    foot_parts: side ('L', 'R') -> (N,) bool, the foot's vertices (foot and sole parts).
    Returns the re-posed fit with `levelled` naming the sides that moved (the same fit if none did).
    With supports.flat_foot_patch (the sole's patch, 1.8 cm instead of the floor's 3 cm band), seed 17:
    F1 0.509 -> 0.547, P 0.512 -> 0.572, geo 10.24 -> 10.22 cm; stand 0.793 -> 0.911, hold 0.797 -> 0.831,
    carry 0.749 -> 0.822, backpack 0.784 -> 0.857, sit 0.568 -> 0.630, squat 0.466 -> 0.524, behind
    0.437 -> 0.512 (foot false positives per standing image ~320 -> ~60).
    """
    height = fit.vertices @ up
    floor = float(height.min())
    world = world_rotations(fit.deltas)
    moved = []
    for side in "LR":
        if side in fit.rested or float(height[foot_parts[side]].min()) - floor > FIT["foot_on_floor_m"]:
            continue
        sole = world[f"foot.{side}"] @ SOLE_NORMAL
        tilted = angle_from_down(sole, up) > FIT["foot_level_deg"]  # sole_tilt_deg, from the rotations at hand
        if tilted or shin_from_down_deg(fit, side, up) > FIT["foot_flat_shin_max_deg"]:
            continue
        world[f"foot.{side}"] = smallest_rotation(unit(sole), -up) @ world[f"foot.{side}"]
        moved.append(side)
    if not moved:
        return fit
    return reposed(fit, world, [f"foot.{side}" for side in moved], levelled=moved)
