"""Chart widgets that render with no internet (DESIGN.md section 9).

Altair's ``JupyterChart`` imports vega from a CDN; ``enable_offline()`` inlines the whole vega bundle
(~0.9 MB) into EVERY widget's state. Under ``plan-metrics serve`` the bundle is written once into the
Voila template's static folder and each chart widget carries a three-line ES module that imports it
from there (the browser fetches and caches it once). Anywhere else (a plain ``voila`` or Jupyter) the
widgets fall back to ``enable_offline()``: slower to load, still offline.
"""

from __future__ import annotations

import os
from pathlib import Path

import altair as alt

from ..paths import PACKAGE_DIR

TEMPLATE_NAME = "plan-metrics"
TEMPLATE_ROOT = PACKAGE_DIR / "templates"            # a JUPYTER_PATH entry
TEMPLATE_DIR = TEMPLATE_ROOT / "voila" / "templates" / TEMPLATE_NAME
VENDOR_DIR = TEMPLATE_DIR / "static" / "vendor"
#: Set by ``plan-metrics serve`` for its kernels: the bundle's URL path below the server's base URL.
CHART_JS_ENV = "PLAN_METRICS_CHART_JS"
EMBED_OPTIONS = {"actions": False, "renderer": "svg"}


#: A fixed name: the template preloads it (<link rel="modulepreload">) while Voila's own scripts load.
BUNDLE_NAME = "jupyterchart.js"


def bundle_version() -> str:
    from altair.utils._importers import vl_version_for_vl_convert
    return f"altair {alt.__version__}, vega-lite {vl_version_for_vl_convert()}"


def ensure_bundle() -> Path:
    """Write the offline JupyterChart module (vega, vega-lite, vega-embed) into the template's static
    folder, again whenever the Altair or Vega-Lite version changes; return its path."""
    path = VENDOR_DIR / BUNDLE_NAME
    stamp = VENDOR_DIR / "jupyterchart.version"
    if not path.exists() or not stamp.exists() or stamp.read_text() != bundle_version():
        alt.JupyterChart.enable_offline()
        VENDOR_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(str(alt.JupyterChart._esm), encoding="utf-8")
        tmp.replace(path)
        stamp.write_text(bundle_version())
    return path


def bundle_url_path() -> str:
    """The bundle's URL below Voila's base URL."""
    return f"voila/templates/{TEMPLATE_NAME}/static/vendor/{BUNDLE_NAME}"


_LIGHT_ESM = """
const cfg = JSON.parse(document.getElementById("jupyter-config-data")?.textContent || "{}");
const base = cfg.baseUrl || "/";
const mod = await import(new URL(base + "%s", window.location.href).href);
export default mod.default;
"""

_chart_class = None


def chart_class() -> type[alt.JupyterChart]:
    """The JupyterChart class to use: the light one under ``plan-metrics serve``, else offline."""
    global _chart_class
    if _chart_class is None:
        url = os.environ.get(CHART_JS_ENV)
        if url:
            _chart_class = type("ChartWidget", (alt.JupyterChart,),
                                {"_esm": _LIGHT_ESM % url.lstrip("/"),
                                 "__module__": __name__})
        else:
            alt.JupyterChart.enable_offline()
            _chart_class = alt.JupyterChart
    return _chart_class


def new_chart(spec: dict | None = None) -> alt.JupyterChart:
    """An empty chart widget (svg renderer, no action menu); give it a spec dict or set one later."""
    w = chart_class()(None, embed_options=EMBED_OPTIONS)
    if spec is not None:
        w.spec = spec
    return w


def set_params(widget: alt.JupyterChart, values: dict) -> None:
    """Change Vega-Lite params of a rendered chart in place (no re-embed).

    The widget's spec dict is updated too (without a sync) so a view that renders later starts
    from the same values.
    """
    if widget.spec:
        widget.spec["params"] = spec_with_params(widget.spec, values)["params"]
    new = {**dict(widget._params), **values}
    if new == dict(widget._params):
        widget.send_state("_params")
    else:
        widget._params = new


def spec_with_params(spec: dict, values: dict) -> dict:
    """A copy of a chart spec whose top-level params start at ``values``."""
    out = dict(spec)
    out["params"] = [{**p, "value": values[p["name"]]} if p.get("name") in values else p
                     for p in spec.get("params", [])]
    return out


def show_page(build):
    """Display the app ``build()`` returns (its ``root`` widget) and return it; when there is
    nothing to show, display its PlanMetricsError as one notice and return None."""
    import html

    from IPython.display import HTML, display

    from ..errors import PlanMetricsError
    try:
        app = build()
    except PlanMetricsError as e:
        display(HTML(f'<div class="pm-notice" role="alert">{html.escape(str(e))}</div>'))
        return None
    display(app.root)
    return app
