"""The Voila dashboards (DESIGN.md section 9): the notebooks in notebooks/dashboards call these.

- ``board_page()`` / ``follow_link(app)``: the board dashboard (board.ipynb);
- ``equity_page()``: the Policy ACIB review matrix (equity.ipynb);
- ``action_plan_page()``: action-step completion by goal and objective (action_plan.ipynb).

Dashboards read published editions only ($PLAN_METRICS_REPORTS or reports/). Each page is built
while holding a build slot (``slots``: under ``plan-metrics serve``, one build per core at a time).
"""

from __future__ import annotations

from .slots import build_slot, mark_warm


def board_page(reports=None):
    """Build and display the board dashboard (see dashboard.board)."""
    with build_slot():
        from .board import board_page as _page
        app = _page(reports)
    mark_warm("board.ipynb")
    return app


def follow_link(app) -> list[str]:
    """Apply the page's URL query string to a dashboard (waits for it under preheated kernels)."""
    if app is None:
        return []
    return app.follow_link()


def equity_page(reports=None):
    """Build and display the equity review dashboard (see dashboard.equity)."""
    with build_slot():
        from .equity import equity_page as _page
        app = _page(reports)
    mark_warm("equity.ipynb")
    return app


def action_plan_page(reports=None):
    """Build and display the action-plan dashboard (see dashboard.action_plan)."""
    with build_slot():
        from .action_plan import action_plan_page as _page
        app = _page(reports)
    mark_warm("action_plan.ipynb")
    return app
