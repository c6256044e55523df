"""The browser tab's title of a dashboard ("School District of Clayton Strategic Plan: board
dashboard"): a hidden anywidget that sets ``document.title`` and follows the plan shown."""

from __future__ import annotations

import anywidget
import ipywidgets as W
import traitlets

_ESM = """
export default {
  render({ model }) {
    const set = () => { if (model.get("title")) document.title = model.get("title"); };
    set();
    model.on("change:title", set);
  },
};
"""


class PageTitle(anywidget.AnyWidget):
    """Sets the page's title to ``title`` (hidden; nothing to see or focus)."""
    _esm = _ESM
    title = traitlets.Unicode("").tag(sync=True)


def page_title(title: str) -> PageTitle:
    """A hidden PageTitle widget to put anywhere in the dashboard's widget tree."""
    return PageTitle(title=title, layout=W.Layout(display="none"))
