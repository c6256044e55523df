"""The static board report: ONE self-contained HTML file per plan and year.

Vega, Vega-Lite and Vega-Embed are inlined (``vl_convert.javascript_bundle``, no CDN), so the file
works offline and can be posted on a district site as is. Filters (goal, building, student group)
are client-side: the charts are the dashboard's builders (``plan_metrics.charts``) whose Vega-Lite
params ``building`` and ``group_by`` a few lines of inline script set from the select inputs; the
same script redraws the data table beside each chart from the edition's published display texts.
Everything shown comes from the edition: suppressed cells carry their display text ("not shown") and
no number, and no count (n, numerator, denominator) is written into the file at all.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
from functools import lru_cache

import vl_convert as vlc

from .. import charts, contract, narrative, scorecard, texts
from ..plan import Measure
from ..scorecard_html import SCORECARD_CSS, scorecard_html
from ..results import ALL, DISTRICT
from .context import (ExportContext, format_value, group_by_label, is_missing, status_colors,
                      status_text_color, unit_of)


#: Above this many bytes of JSON the report's data is stored gzip + base64 and unpacked in the
#: browser (DecompressionStream): a large district's data shrinks about tenfold.
COMPRESS_OVER = 1_500_000


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega + Vega-Lite + Vega-Embed as one script (from vl-convert; built once per process)."""
    js = vlc.javascript_bundle()
    return js.replace("</script", "<\\/script")  # cannot end the inline <script> early


def _json(obj) -> str:
    """Compact JSON safe inside <script> (no '</' sequence)."""
    return json.dumps(obj, separators=(",", ":"), default=_default).replace("</", "<\\/")


def _default(o):
    if is_missing(o):
        return None
    if hasattr(o, "item"):
        return o.item()
    return str(o)


def _hoist_datasets(spec: dict, datasets: dict) -> dict:
    """Move inline data values of a spec into a shared, de-duplicated ``datasets`` table; the
    names a spec uses are listed in its ``usermeta.datasets`` for the page script."""
    used: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and isinstance(data.get("values"), list) \
                    and len(data["values"]) > 2:
                text = json.dumps(data["values"], sort_keys=True, default=_default)
                name = "d" + hashlib.sha1(text.encode()).hexdigest()[:12]
                datasets.setdefault(name, data["values"])
                node["data"] = {"name": name}
                if name not in used:
                    used.append(name)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(spec)
    spec.setdefault("usermeta", {})["datasets"] = used
    return spec


def _table_rows(ctx: ExportContext, m: Measure) -> list[list]:
    """Rows of the data tables: [building, group_by, group label, year, shown as, interval]."""
    unit = unit_of(m)
    h = ctx.history[ctx.history["measure_id"] == m.id]
    keep = (h["group_by"] == ALL) | (h["school_year"] == ctx.year)

    out = []
    rows = h[keep].assign(_o=[_group_order(gb, g) for gb, g in zip(h[keep]["group_by"],
                                                                   h[keep]["group"])])
    for r in rows.sort_values(["building_id", "group_by", "_o", "school_year"]).itertuples(
            index=False):
        published = not r.suppressed and not is_missing(r.value)
        ci = ""
        if published and not is_missing(r.ci_low) and not is_missing(r.ci_high):
            ci = f"{format_value(r.ci_low, unit)} to {format_value(r.ci_high, unit)}"
        out.append([str(r.building_id), str(r.group_by),
                    charts.group_label(str(r.group_by), str(r.group)), str(r.school_year),
                    "no data" if is_missing(r.display) else str(r.display), ci])
    return out


def _group_order(group_by: str, group: str) -> int:
    """The contract's order of a group's codes (the order the breakdown chart draws them)."""
    codes = {"race_ethnicity": contract.RACE_ETHNICITY, "gender": contract.GENDER,
             "grade_band": tuple(contract.GRADE_BANDS)}.get(str(group_by), ("true", "false"))
    g = str(group).lower()
    return codes.index(g) if g in codes else len(codes)


def _measure_payload(ctx: ExportContext, m: Measure, datasets: dict) -> dict:
    history = ctx.history[(ctx.history["measure_id"] == m.id) & (ctx.history["group_by"] == ALL)]
    st = ctx.status_row(m.id)
    trend = charts.trend_chart(history, m, st, select={"building": DISTRICT, "year": ctx.year})
    this_year = ctx.results[ctx.results["measure_id"] == m.id]
    group_bys = [g for g in m.groups if g in set(this_year["group_by"])]
    payload = {"id": m.id, "groups": group_bys, "perGroup": ctx.per_group(m),
               "trend": _hoist_datasets(trend.to_dict(validate=False), datasets),
               "trendAlt": charts.alt_text(trend), "rows": _table_rows(ctx, m)}
    if group_bys:
        bd = charts.breakdown_chart(this_year, m, select={"building": DISTRICT,
                                                          "year": ctx.year,
                                                          "group_by": group_bys[0]})
        payload["breakdown"] = _hoist_datasets(bd.to_dict(validate=False), datasets)
        payload["breakdownAlt"] = charts.alt_text(bd)
    return payload


def report_html(ctx: ExportContext) -> str:
    """The whole report as one HTML string (UTF-8, self-contained, no request outside itself)."""
    e = html.escape
    colors = status_colors()
    datasets: dict = {}
    measures = [m for m in ctx.plan.measures()]
    payload = [_measure_payload(ctx, m, datasets) for m in measures]
    all_groups = []
    for p in payload:
        all_groups += [g for g in p["groups"] if g not in all_groups]
    buildings = [(DISTRICT, "District")] + [(b, n) for b, n in ctx.buildings().items()]

    body = []
    bench = scorecard.read_benchmarks(ctx.edition.path)
    for goal in ctx.plan.goals:
        ms = ctx.measures(goal.id)
        if not ms:
            continue
        body.append(f'<section class="goal" data-goal="{e(goal.id)}">'
                    f'<h2>{e(ctx.goal_label(goal))}</h2><p class="statement">'
                    f'{e(goal.statement)}</p>')
        cards = {}
        for b, name in buildings:
            rows = scorecard.scorecard(ctx.plan, goal.id, ctx.history, ctx.status, ctx.year, b,
                                       name, benchmarks=bench)
            said = narrative.goal_narrative(ctx.plan, goal.id, rows, ctx.year)
            if b == DISTRICT:
                cards = {r.measure_id: r for r in rows}
            body.append(f'<div class="scorecard" data-building="{e(b)}"'
                        f'{"" if b == DISTRICT else " hidden"}>'
                        f'{scorecard_html(rows, ctx.goal_label(goal), name, ctx.year, css=False)}'
                        f'{narrative.narrative_html(said)}'
                        f'</div>')
        body += [_measure_html(ctx, m, colors, cards.get(m.id)) for m in ms]
        body.append("</section>")
    loose = [m for m in measures if ctx.plan.goal_of(m.id) is None]
    if loose:
        body.append('<section class="goal" data-goal="_plan"><h2>Plan-wide measures</h2>')
        body += [_measure_html(ctx, m, colors) for m in loose]
        body.append("</section>")

    goal_opts = '<option value="">All goals</option>' + "".join(
        f'<option value="{e(g.id)}">{e(ctx.goal_label(g))}</option>' for g in ctx.plan.goals)
    bld_opts = "".join(f'<option value="{e(b)}">{e(n)}</option>' for b, n in buildings)
    grp_opts = "".join(f'<option value="{e(g)}">{e(group_by_label(g))}</option>'
                       for g in all_groups)
    synthetic = ('<p class="synthetic"><strong>Synthetic demo data:</strong> these numbers '
                 'describe an invented district, not real students.</p>' if ctx.synthetic
                 else "")
    data = {"measures": payload, "datasets": datasets, "year": ctx.year,
            "buildings": dict(buildings)}
    title = f"{ctx.plan.title}: measures of success, {ctx.year}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="plan-metrics">
<title>{e(title)}</title>
<style>{_CSS}</style>
{SCORECARD_CSS}
{narrative.NARRATIVE_CSS}
<script>{vega_bundle()}</script>
</head><body>
<header><h1>{e(ctx.plan.title)}</h1>
<p class="sub">Measures of success, {e(ctx.year)}. {e(ctx.plan.organization)}.</p>
{f'<p class="mission">{e(ctx.plan.mission)}</p>' if ctx.plan.mission else ''}
{synthetic}
<form class="filters" aria-label="Filters" onsubmit="return false">
<label>Goal <select id="f-goal">{goal_opts}</select></label>
<label>Building <select id="f-building">{bld_opts}</select></label>
<label>Student group <select id="f-group">{grp_opts}</select></label>
</form>
<p class="notice">Each goal opens with its scorecard for the chosen building, with the building's own status; the measures' cards below show the district's status. {e(ctx.suppression_note())}
</p></header>
<main>{''.join(body)}</main>
<footer><p>{e(ctx.source_line())}</p><p>{e(ctx.suppression_note())}</p>
<p>This page works offline: every chart and table is inside this one file.</p></footer>
{_data_tag(data)}
<script>{_JS}</script>
</body></html>
"""


def _data_tag(data: dict) -> str:
    """The report's data as an inline script element: JSON, or gzip + base64 when large."""
    raw = _json(data)
    if len(raw) <= COMPRESS_OVER:
        return f'<script type="application/json" id="pm-data">{raw}</script>'
    blob = base64.b64encode(gzip.compress(raw.encode("utf-8"), 9)).decode("ascii")
    return f'<script type="application/octet-stream" id="pm-data-gz">{blob}</script>'


def read_report_data(page: str) -> dict:
    """The data embedded in a report (for tests and tools): the inverse of ``_data_tag``."""
    import re
    m = re.search(r'<script type="application/json" id="pm-data">(.*?)</script>', page, re.S)
    if m:
        return json.loads(m.group(1))
    m = re.search(r'<script type="application/octet-stream" id="pm-data-gz">(.*?)</script>',
                  page, re.S)
    return json.loads(gzip.decompress(base64.b64decode(m.group(1))).decode("utf-8"))


def _measure_html(ctx: ExportContext, m: Measure, colors: dict,
                  row: scorecard.ScoreRow | None = None) -> str:
    e = html.escape
    st = ctx.status_row(m.id) or {}
    word = st.get("status") or "not enough data"
    rule = "" if is_missing(st.get("rule_text")) else str(st.get("rule_text"))
    value, _ = ctx.headline(m)
    whose = scorecard.whose(m)
    follows = ""
    headline = ""
    if row is not None and row.focus:
        # a disparity measure: the group its status follows, named (the board's words)
        value, whose = row.display, row.whose
        follows = " (" + texts.fill("status_follows", group=row.whose) + ")"
        headline = f'<p class="headline">{e(row.headline)}</p>'
    goal = ctx.plan.goal_of(m.id)
    gid = goal.id if goal else "_plan"
    return f"""<article class="measure" id="m-{e(m.id)}" data-measure="{e(m.id)}" data-goal="{e(gid)}">
<a id="{e(scorecard.card_anchor(m.id))}" tabindex="-1"></a>
<h3>{e(m.title)}</h3>
<p class="outcome">{e(ctx.outcome_text(m))}</p>{headline}
<p class="status"><span class="lbl">District status{e(follows)}:</span> <span class="pill" style="background:{colors.get(word, '#767676')};color:{status_text_color(word)}">{e(word)}</span>
<span class="value"><span class="where">District</span>, {e(whose)}, {e(ctx.year)}: <strong class="v">{e(value)}</strong></span></p>
<p class="rule">{e(rule)}</p>
<p class="pergroup" hidden>Reported for each student group, not for all students together: see the breakdown below. The status follows the group the rule names.</p>
<div class="pair tr">
<figure class="chart"><figcaption>Trend, all students</figcaption><div class="vis trend" role="img" aria-label="{e(m.title)}: trend chart; the table beside it lists the same values"></div></figure>
<table class="data trend-table"><caption>Trend values</caption><thead><tr><th scope="col">Year</th><th scope="col">Value</th><th scope="col">95% interval</th></tr></thead><tbody></tbody></table>
</div>
<div class="pair bd">
<figure class="chart"><figcaption class="bd-title">By student group, {e(ctx.year)}</figcaption><div class="vis breakdown" role="img" aria-label="{e(m.title)}: chart by student group; the table beside it lists the same values"></div></figure>
<table class="data breakdown-table"><caption>Values by group</caption><thead><tr><th scope="col">Group</th><th scope="col">Value</th><th scope="col">95% interval</th></tr></thead><tbody></tbody></table>
</div>
<p class="nobd" hidden>No breakdown by this student group for this measure.</p>
</article>"""


_CSS = """
[hidden]{display:none !important}
body{font-family:Helvetica,Arial,sans-serif;color:#222;margin:0;background:#fafafa}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 16px}
header{padding-top:12px}h1{color:#1F3B57;margin:.4em 0 .1em}.sub{margin:.2em 0;color:#444}
.mission{color:#555;font-style:italic}.synthetic{background:#fff4d6;border:1px solid #e0c060;
padding:6px 10px;border-radius:4px}
.filters{display:flex;gap:18px;flex-wrap:wrap;position:sticky;top:0;background:#fafafa;
padding:10px 0;border-bottom:1px solid #ddd;z-index:2}
.filters select{font-size:1rem;margin-left:4px;padding:2px 4px}
.notice{color:#555;font-size:.9rem}
section.goal h2{color:#1F3B57;border-bottom:2px solid #1F3B57;padding-bottom:4px;margin-top:1.6em}
.statement{color:#444}
article.measure{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 16px;
margin:16px 0}
article h3{margin:.2em 0}.outcome{color:#555;margin:.2em 0 .6em}
.pill{display:inline-block;color:#fff;font-weight:bold;border-radius:12px;padding:2px 12px;
margin-right:10px;text-transform:uppercase;font-size:.85rem}
.rule{margin:.3em 0 .6em;color:#333}.lbl{font-size:.8rem;color:#555;margin-right:4px}
.pair{display:flex;gap:20px;align-items:flex-start;flex-wrap:wrap;margin:8px 0}
figure.chart{margin:0;min-width:340px}figcaption{font-weight:bold;margin-bottom:4px}
table.data{border-collapse:collapse;font-size:.9rem;min-width:260px}
table.data caption{text-align:left;font-weight:bold;margin-bottom:4px}
table.data th,table.data td{border-bottom:1px solid #e3e3e3;padding:3px 8px;text-align:left}
footer{color:#555;font-size:.85rem;padding-bottom:24px}
"""

# The filters: goal hides sections; building and group set the charts' Vega-Lite params
# (signals) in place and redraw the tables from the same published rows.
_JS = r"""
async function pmLoadData(){
  const plain = document.getElementById('pm-data');
  if (plain) return JSON.parse(plain.textContent);
  const b64 = document.getElementById('pm-data-gz').textContent;
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return JSON.parse(await new Response(stream).text());
}
pmLoadData().then(DATA => {
const views = {};
const byId = {};
DATA.measures.forEach(m => { byId[m.id] = m; });
function withData(spec){
  const s = Object.assign({}, spec); s.datasets = Object.assign({}, spec.datasets || {});
  ((spec.usermeta || {}).datasets || []).forEach(n => { s.datasets[n] = DATA.datasets[n]; });
  return s;
}
function cell(tr, text){ const td = document.createElement('td'); td.textContent = text; tr.appendChild(td); }
function fill(tbody, rows){
  tbody.textContent = '';
  if (!rows.length){ const tr = document.createElement('tr'); cell(tr, 'no data'); cell(tr, ''); cell(tr, ''); tbody.appendChild(tr); }
  rows.forEach(r => { const tr = document.createElement('tr'); r.forEach(t => cell(tr, t)); tbody.appendChild(tr); });
}
function state(){ return {goal: document.getElementById('f-goal').value,
  building: document.getElementById('f-building').value,
  group: document.getElementById('f-group').value}; }
function update(){
  const s = state();
  document.querySelectorAll('section.goal').forEach(sec => { sec.hidden = !!s.goal && sec.dataset.goal !== s.goal; });
  document.querySelectorAll('div.scorecard').forEach(sc => { sc.hidden = sc.dataset.building !== s.building; });
  document.querySelectorAll('article.measure').forEach(art => {
    const m = byId[art.dataset.measure]; if (!m) return;
    const here = m.rows.filter(r => r[0] === s.building);
    const trend = here.filter(r => r[1] === 'all').sort((a, b) => a[3] < b[3] ? -1 : 1);
    fill(art.querySelector('.trend-table tbody'), trend.map(r => [r[3], r[4], r[5]]));
    const now = trend.filter(r => r[3] === DATA.year)[0];
    if (!m.perGroup || s.building !== 'ALL') art.querySelector('.v').textContent = now ? now[4] : 'no data';
    art.querySelector('.where').textContent = DATA.buildings[s.building] || s.building;
    art.querySelector('.pair.tr').hidden = m.perGroup;
    art.querySelector('.pergroup').hidden = !m.perGroup;
    const has = m.breakdown && m.groups.indexOf(s.group) >= 0;
    art.querySelectorAll('.pair.bd').forEach(el => { el.hidden = !has; });
    art.querySelector('.nobd').hidden = has || !m.breakdown;
    if (has){
      const label = document.querySelector('#f-group option[value="' + s.group + '"]').textContent;
      art.querySelector('.bd-title').textContent = 'By ' + label.toLowerCase() + ', ' + DATA.year;
      fill(art.querySelector('.breakdown-table tbody'),
           here.filter(r => r[1] === s.group && r[3] === DATA.year).map(r => [r[2], r[4], r[5]]));
    }
    const v = views[m.id] || {};
    if (v.trend) v.trend.signal('building', s.building).runAsync();
    if (v.breakdown && has) v.breakdown.signal('building', s.building).signal('group_by', s.group).runAsync();
  });
}
const opts = {renderer: 'svg', actions: false};
const jobs = [];
document.querySelectorAll('article.measure').forEach(art => {
  const m = byId[art.dataset.measure]; if (!m) return;
  views[m.id] = {};
  jobs.push(vegaEmbed(art.querySelector('.vis.trend'), withData(m.trend), opts).then(r => { views[m.id].trend = r.view; }));
  if (m.breakdown) jobs.push(vegaEmbed(art.querySelector('.vis.breakdown'), withData(m.breakdown), opts).then(r => { views[m.id].breakdown = r.view; }));
});
['f-goal', 'f-building', 'f-group'].forEach(id => document.getElementById(id).addEventListener('change', update));
update();
Promise.all(jobs).then(() => { update(); document.body.dataset.ready = '1'; })
  .catch(err => { document.body.dataset.ready = 'error'; console.error(err); });
}).catch(err => { document.body.dataset.ready = 'error'; console.error(err); });
"""
