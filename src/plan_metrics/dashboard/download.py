"""'Download what I see': a one-click download button for Voila dashboards.

The button is a small anywidget. A click asks the kernel for the file; the kernel builds the bytes
(from the published edition, for the current filters) and sends them back over the widget channel;
the browser saves them as a Blob. No extra server route, no Jupyter server, nothing from outside:
it works on a closed district network and under Voila's standalone (no execute_request) mode.
"""

from __future__ import annotations

from typing import Callable

import anywidget
import traitlets

_ESM = r"""
export default {
  render({ model, el }) {
    const button = document.createElement("button");
    button.className = "pm-download";
    button.type = "button";
    const label = () => {
      const busy = model.get("busy");
      button.textContent = busy ? "Preparing…" : model.get("label");
      button.disabled = busy;
      button.setAttribute("aria-busy", busy ? "true" : "false");
      button.setAttribute("aria-label", `${button.textContent}: ${model.get("description")}`);
    };
    // the accessible name starts with the visible label (WCAG 2.5.3: "Table (CSV): Download
    // this goal's results as CSV"); the description alone is the tooltip
    button.title = model.get("description");

    button.addEventListener("click", () => model.send({ type: "request" }));
    model.on("change:busy", label);
    model.on("change:label", label);
    model.on("msg:custom", (msg, buffers) => {
      if (msg.type !== "file") return;
      const blob = new Blob([buffers[0].buffer], { type: msg.mime });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = msg.filename;
      document.body.appendChild(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    });
    label();
    el.appendChild(button);
  },
};
"""

_CSS = """
.pm-download { font: inherit; padding: 4px 10px; margin: 2px 4px 2px 0; border: 1px solid #555;
  border-radius: 4px; background: #fff; color: #222; cursor: pointer; }
.pm-download:hover, .pm-download:focus-visible { background: #eef; outline: 2px solid #0072B2; }
.pm-download[disabled] { opacity: 0.6; cursor: progress; }
"""

MIME = {
    "png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "html": "text/html",
}


class DownloadButton(anywidget.AnyWidget):
    """A button that downloads ``make()``'s bytes as ``filename()`` when clicked.

    ``make`` and ``filename`` are called at click time, so the file always matches the filters the
    board member sees then. An error while building the file is shown on ``on_error`` (a callable
    taking the message), never as a traceback.
    """
    _esm = _ESM
    _css = _CSS
    label = traitlets.Unicode("Download").tag(sync=True)
    description = traitlets.Unicode("").tag(sync=True)
    busy = traitlets.Bool(False).tag(sync=True)

    def __init__(self, label: str, fmt: str, make: Callable[[], bytes],
                 filename: Callable[[], str], description: str = "",
                 on_error: Callable[[str], None] | None = None):
        super().__init__(label=label, description=description or f"Download {label}")
        self.fmt, self._make, self._filename, self._on_error = fmt, make, filename, on_error
        self.on_msg(self._handle)

    def _handle(self, _widget, content, _buffers):
        if not isinstance(content, dict) or content.get("type") != "request" or self.busy:
            return
        self.busy = True
        try:
            data = self._make()
            self.send({"type": "file", "filename": self._filename(),
                       "mime": MIME.get(self.fmt, "application/octet-stream")}, buffers=[data])
        except Exception as e:  # noqa: BLE001 - shown to the board member as one sentence
            from ..errors import PlanMetricsError
            msg = str(e) if isinstance(e, PlanMetricsError) else \
                f"The {self.fmt.upper()} file could not be made ({type(e).__name__}: {e})."
            if self._on_error:
                self._on_error(msg)
        finally:
            self.busy = False


def download_bar(app):
    """The board's "download what I see" bar for a BoardApp: the chosen chart as PNG, SVG or PDF,
    the goal's slides, the goal's table as Excel or CSV, the goal's board packet (PDF) and the plan's
    HTML report, each made at
    click time for the filters shown (plan, year, goal, building, student group)."""
    import html

    import ipywidgets as W

    from .. import exports
    from ..results import ALL

    f = lambda: app.filters  # noqa: E731 - read at click time
    group_by = lambda: None if f().group == ALL else f().group  # noqa: E731
    picker = W.Dropdown(description="Chart", style={"description_width": "initial"},
                        layout=W.Layout(width="auto", max_width="420px"))
    error = W.HTML()

    def show_error(message: str) -> None:
        error.value = f'<span class="pm-notice" role="alert">{html.escape(message)}</span>'

    def refresh(_change=None) -> None:
        plan = app.data().plan
        goal = f().goal
        options = []
        for m in plan.measures():
            g = plan.goal_of(m.id)
            if g is not None and g.id == goal:
                options += [(f"{m.title}: trend", (m.id, "trend")),
                            (f"{m.title}: by student group", (m.id, "breakdown"))]
        keep = picker.value if picker.value in [v for _, v in options] else None
        picker.options = options
        picker.value = keep or (options[0][1] if options else None)
        error.value = ""

    def chart(fmt: str):
        def make() -> bytes:
            measure_id, view = picker.value
            return exports.measure_chart_bytes(app.reports, f().plan, f().year, measure_id, view,
                                               fmt, building=f().building, group_by=group_by())

        def name() -> str:
            measure_id, view = picker.value
            return f"{f().plan}_{f().year}_{measure_id}_{view}.{fmt}"
        return DownloadButton(fmt.upper(), fmt, make, name,
                              f"Download the chosen chart as {fmt.upper()}", show_error)

    def goal_file(label: str, fmt: str, build, description: str):
        return DownloadButton(label, fmt, build,
                              lambda: exports.export_filename(f().plan, f().year, f().goal, fmt),
                              description, show_error)

    buttons = [
        chart("png"), chart("svg"), chart("pdf"),
        goal_file("Slides (PPTX)", "pptx", lambda: exports.goal_deck_bytes(
            app.reports, f().plan, f().year, f().goal, building=f().building,
            group_by=group_by()), "Download this goal's PowerPoint slides"),
        goal_file("Table (XLSX)", "xlsx", lambda: exports.workbook_bytes(
            app.reports, f().plan, f().year, f().goal, building=f().building,
            group_by=group_by()), "Download this goal's results as an Excel workbook"),
        goal_file("Table (CSV)", "csv", lambda: exports.csv_bytes(
            app.reports, f().plan, f().year, f().goal, building=f().building,
            group_by=group_by()), "Download this goal's results as CSV"),
        DownloadButton("Board packet (PDF)", "pdf",
                       lambda: exports.packet_bytes(app.reports, f().plan, f().year, f().goal,
                                                    building=f().building,
                                                    group_by=group_by()),
                       lambda: exports.packet_filename(f().plan, f().year, f().goal,
                                                       f().building),
                       "Download this goal's board packet as a PDF (for this building)",
                       show_error),
        DownloadButton("Report (HTML)", "html",
                       lambda: exports.html_report_bytes(app.reports, f().plan, f().year),
                       lambda: exports.export_filename(f().plan, f().year, None, "html"),
                       "Download the whole plan's report as one HTML file", show_error),
    ]
    for w in app.dropdowns.values():
        w.observe(refresh, names="value")
    refresh()
    label = W.HTML('<span class="pm-download-label">Download what you see:</span>')
    bar = W.HBox([label, picker, *buttons, error],
                 layout=W.Layout(flex_flow="row wrap", align_items="center"))
    bar.add_class("pm-downloads")
    return bar
