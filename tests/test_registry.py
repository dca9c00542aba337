"""The localizer registry says why a localizer cannot run here, before any job is sent."""
from __future__ import annotations

import pytest

from backend.localizers import registry


def test_a_python_without_the_packages_is_told_to_use_the_project_environment(monkeypatch):
    monkeypatch.setitem(registry._NEEDS, "default", ("numpy", "a_package_that_is_not_installed"))
    row = next(r for r in registry.available_localizers() if r["name"] == "default")
    assert not row["available"]
    assert "lacks a_package_that_is_not_installed" in row["reason"] and ".venv/bin/python" in row["reason"]
    with pytest.raises(registry.LocalizerUnavailable, match="lacks a_package_that_is_not_installed"):
        registry.create_localizer("default")


def test_the_project_environment_runs_the_default_and_names_what_interactvlm_needs():
    rows = {r["name"]: r for r in registry.available_localizers()}
    assert rows["default"]["available"]
    assert "--checkpoint-dir" in rows["interactvlm"]["reason"] and "preference" in rows["interactvlm"]["reason"]
