"""Shared fixtures: the small synthetic demo district, generated once per test session."""

from __future__ import annotations

import pytest

from plan_metrics.demo import demo_district


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory):
    """The small demo district (seed 2024) in a temporary folder. Read-only: copy it to change it."""
    return demo_district(tmp_path_factory.mktemp("demo") / "data")
