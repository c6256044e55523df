"""The package's setup files agree with each other and with the layout the design promises."""

import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _requirement_map(reqs):
    out = {}
    for r in reqs:
        m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", r.strip())
        out[m.group(1).lower().replace("_", "-")] = m.group(2).replace(" ", "")
    return out


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _requirement_map(project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = _requirement_map(d for d in env["dependencies"]
                             if isinstance(d, str) and not d.startswith(("python=", "pip")))
    pip = [d.split("#")[0] for deps in env["dependencies"] if isinstance(deps, dict)
           for d in deps.get("pip", []) if not d.startswith("-e")]
    assert {**conda, **_requirement_map(pip)} == wanted


def test_every_dependency_has_a_lower_bound():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for req in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert ">=" in req, f"{req} has no lower bound"


def test_console_script_and_layout():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["plan-metrics"] == "plan_metrics.cli:main"
    for d in ["notebooks", "notebooks/dashboards", "src/plan_metrics", "data/plans", "params",
              "tests", "bench"]:
        assert (ROOT / d).is_dir(), d
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


def test_notebooks_are_committed_without_outputs():
    for nb_path in ROOT.glob("notebooks/**/*.ipynb"):
        if ".ipynb_checkpoints" in nb_path.parts:
            continue
        nb = json.loads(nb_path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and not cell.get("execution_count"), nb_path
