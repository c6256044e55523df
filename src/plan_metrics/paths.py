"""Where things are: resolved from the package, never from the working directory."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: The project checkout (src/plan_metrics/../..). Notebooks, plans and params live there.
PROJECT_DIR = PACKAGE_DIR.parent.parent
PLANS_DIR = PROJECT_DIR / "data" / "plans"
DEMO_DATA_DIR = PROJECT_DIR / "data" / "demo"
PARAMS_DIR = PROJECT_DIR / "params"
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"
DASHBOARDS_DIR = NOTEBOOKS_DIR / "dashboards"
REPORTS_DIR = PROJECT_DIR / "reports"
TEXTS_FILE = PACKAGE_DIR / "texts.yaml"
