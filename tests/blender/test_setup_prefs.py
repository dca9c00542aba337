"""Preferences as the add-on reads them (real bpy, add-on registered from the tree): INTERACTVLM_*
environment variables override them (farms), the set-up operators exist, and the Backend folder
stays a developer override."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_environment_variables_override_the_preferences(bpy, monkeypatch, tmp_path):
    from interactvlm_blender import client, prefs

    effective = prefs.get_prefs()
    python = effective.backend_python
    assert python == str(ROOT / ".venv" / "bin" / "python")  # the test session's setting
    monkeypatch.setenv("INTERACTVLM_BACKEND_PYTHON", str(tmp_path / "farm" / "bin" / "python"))
    monkeypatch.setenv("INTERACTVLM_CHECKPOINT_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("INTERACTVLM_SMPLX_DIR", str(tmp_path / "smplx"))
    monkeypatch.setenv("INTERACTVLM_DATA_DIR", str(tmp_path / "data"))
    assert prefs.get_prefs().backend_python == str(tmp_path / "farm" / "bin" / "python")
    assert prefs.get_prefs().checkpoint_dir == str(tmp_path / "weights")
    assert prefs.get_prefs().smplx_dir == str(tmp_path / "smplx")
    assert prefs.get_prefs().data_dir == str(tmp_path / "data")
    assert prefs.checkpoint_path(prefs.get_prefs()) == str((tmp_path / "weights").resolve())
    assert client.settings_from(prefs.get_prefs()).python == str(tmp_path / "farm" / "bin" / "python")
    monkeypatch.delenv("INTERACTVLM_BACKEND_PYTHON")
    assert prefs.get_prefs().backend_python == python  # the preference again


def test_backend_folder_override_and_the_source_tree_bundle(bpy, tmp_path):
    from interactvlm_blender import client, managed, prefs

    found = managed.bundle()
    assert found is not None and found.root == ROOT  # registered from the tree: the tree is the bundle
    assert prefs.get_prefs().backend_root == ""  # found from the Backend Python, as before
    assert client.settings_from(prefs.get_prefs()).root == str(ROOT)
    effective = prefs.get_prefs()
    effective.backend_root = str(tmp_path)  # a developer override wins
    try:
        assert client.settings_from(prefs.get_prefs()).root == str(tmp_path)
    finally:
        effective.backend_root = ""


def test_the_set_up_operators_are_registered(bpy):
    for name in ("setup_backend", "remove_backend", "open_setup_log"):
        assert hasattr(bpy.ops.interactvlm, name)
    assert bpy.ops.interactvlm.setup_backend.get_rna_type().name == "Set Up Backend"
