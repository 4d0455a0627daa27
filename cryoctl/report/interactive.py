"""Interactive report figures (plotly): the same data as the static PNGs, with a hover on every design point.

Each function returns a ``plotly.graph_objects.Figure`` or None when the records hold no data for it.
Hovering a point shows the design (profile and varied overrides, task), its resolution, the seed mean,
the 95 % confidence interval and how many seeds (and test samples) it rests on. Every profile keeps the
colour and marker of the static figures (:func:`cryoctl.report.plots.profile_styles`). The reference
profile (``ideal``) is drawn grey and dashed on curves and as a horizontal reference line on the
Pareto plots, never as a design; the float model's accuracy and the accuracy margin are reference lines.
On the accuracy plot the curves are dodged sideways by a few hundredths of a bit so that overlapping
intervals stay readable (the hover shows the true bits).

:func:`figure_html` turns a figure into a ``<div>`` plus a script that draws it with the plotly.js bundle
the report embeds once (:func:`plotly_js`); after drawing it records on the div how many SVG elements
plotly drew (``data-svg-nodes``), so a headless browser's DOM dump proves it rendered.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cryoctl.report.data import accuracy_records
from cryoctl.report.plots import dataset_name, profile_styles
from cryoctl.report.stats import wall_plug_factor
from cryoctl.report.summary import series_points, task_label, x_field

_SYMBOLS = {"o": "circle-open", "s": "square-open", "^": "triangle-up-open", "D": "diamond-open",
            "v": "triangle-down-open", "P": "cross-open", "X": "x-open", "<": "triangle-left-open",
            ">": "triangle-right-open", "h": "hexagon-open"}
_DASHES = ["solid", "dash", "dashdot", "longdash", "dot", "longdashdot"]
_REF_COLOR = "#777777"
_LAYOUT = {"template": "plotly_white", "height": 460, "margin": {"l": 70, "r": 20, "t": 60, "b": 60},
           "legend": {"orientation": "h", "y": -0.22, "x": 0.0, "font": {"size": 11}},
           "hoverlabel": {"font": {"size": 12}, "align": "left"}}


def plotly_js() -> str:
    """The full plotly.js bundle (offline; embedded once per report)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def figure_html(fig: go.Figure, div_id: str) -> str:
    """``<div id=div_id>`` and the script that draws ``fig`` into it (needs plotly.js loaded before)."""
    spec = fig.to_json().replace("</", "<\\/")  # never close the <script> early
    return (f'<div id="{html.escape(div_id)}" class="plotly-plot" data-rendered="0"></div>\n'
            f'<script type="application/json" id="{html.escape(div_id)}-spec">{spec}</script>\n'
            f'<script>cryoctlDraw("{html.escape(div_id)}");</script>')


#: Defines cryoctlDraw: parse a figure's JSON, Plotly.newPlot it, then mark the div with what was drawn.
DRAW_JS = """
window.cryoctlPending = 0;
function cryoctlDraw(id) {
  var div = document.getElementById(id);
  var spec = JSON.parse(document.getElementById(id + "-spec").textContent);
  var config = {displaylogo: false, responsive: true, toImageButtonOptions: {format: "png", filename: id}};
  window.cryoctlPending += 1;
  Plotly.newPlot(div, spec.data, spec.layout, config).then(function (gd) {
    var nodes = gd.querySelectorAll(".main-svg *").length;
    var marks = gd.querySelectorAll(".scatterlayer .trace path, .scatterlayer .point").length;
    div.setAttribute("data-rendered", "1");
    div.setAttribute("data-svg-nodes", String(nodes));
    div.setAttribute("data-trace-marks", String(marks));
    window.cryoctlPending -= 1;
    var n = document.querySelectorAll(".plotly-plot[data-rendered='1']").length;
    document.body.setAttribute("data-rendered-plots", String(n));
  });
}
"""


def _styles(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return profile_styles(r["profile"] for r in records)


def _trace_style(prof: str, st: dict[str, Any], variant: int, reference: bool) -> dict[str, Any]:
    if reference:
        return {"line": {"color": _REF_COLOR, "dash": "dash", "width": 1.6},
                "marker": {"color": _REF_COLOR, "symbol": "circle-open", "size": 7}}
    li = (_DASHES.index("solid") + variant) % len(_DASHES)
    return {"line": {"color": st["color"], "dash": _DASHES[li], "width": 1.8},
            "marker": {"color": st["color"], "symbol": _SYMBOLS.get(st["marker"], "circle-open"), "size": 8,
                       "line": {"width": 1.6}}}


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.4g}"


def _curve_trace(name: str, pts: list[dict[str, Any]], style: dict[str, Any], what: str, xname: str,
                 accuracy: bool = False, log: bool = False, scale: float = 1.0, task: str = "",
                 dx: float = 0.0) -> go.Scatter:
    x = [p["x"] + dx for p in pts]  # dx: a small sideways dodge so overlapping error bars stay readable
    y = np.array([p["mean"] for p in pts]) * scale
    lo = np.array([p["lo"] for p in pts]) * scale
    hi = np.array([p["hi"] for p in pts]) * scale
    if log:  # log axes cannot show zero or negative bounds
        y, lo = np.maximum(y, 1e-16), np.maximum(lo, np.maximum(y, 1e-16) * 1e-3)
    custom = []
    for p, lo_i, hi_i in zip(pts, lo, hi):
        extra = f", test set {p['n_test']} samples" if p.get("n_test") else ""
        pw = p.get("power_per_qubit_w")
        power = f"<br>P/qubit at {p.get('temperature_k'):g} K stage: {pw * 1e3:.4g} mW" if pw is not None else ""
        custom.append([name, task, _fmt(lo_i), _fmt(hi_i), f"{p['n_seeds']} seed(s){extra}", power, f"{p['x']:g}"])
    fmt = ".3f" if accuracy else ".3g"
    return go.Scatter(
        x=x, y=y, name=name, mode="lines+markers", customdata=custom,
        error_y={"type": "data", "symmetric": False, "array": np.maximum(hi - y, 0), "arrayminus": np.maximum(y - lo, 0),
                 "thickness": 1.2, "width": 4, "color": style["line"]["color"]},
        hovertemplate=(f"<b>%{{customdata[0]}}</b><br>%{{customdata[1]}}<br>{xname} %{{customdata[6]}}<br>{what}: %{{y:{fmt}}} "
                       "(seed mean)<br>95% CI [%{customdata[2]}, %{customdata[3]}]<br>%{customdata[4]}"
                       "%{customdata[5]}<extra></extra>"),
        **style)


def _add_series(fig: go.Figure, series: dict, styles: dict, what: str, xname: str, row: int = 1, col: int = 1,
                accuracy: bool = False, log: bool = False, scale: float = 1.0, name_of=None, showlegend=True,
                task_names: dict[str, str] | None = None, dodge: float = 0.0) -> int:
    variants: dict[str, int] = defaultdict(int)
    n = 0
    for j, ((label, kind, task), pts) in enumerate(series.items()):
        prof = pts[0]["profile"]
        ref = pts[0]["reference"]
        style = _trace_style(prof, styles[prof], variants[prof], ref)
        variants[prof] += 1
        name = name_of(label, task, pts) if name_of else label
        if ref:
            name += " (reference)"
        tr = _curve_trace(name, pts, style, what, xname, accuracy=accuracy, log=log, scale=scale,
                          task=(task_names or {}).get(task, kind), dx=dodge * (j - (len(series) - 1) / 2))
        tr.update(legendgroup=name, showlegend=showlegend)
        fig.add_trace(tr, row=row, col=col)
        n += 1
    return n


def _task_names(records: list[dict[str, Any]]) -> dict[str, str]:
    from cryoctl.report.summary import _task_vary

    vary = _task_vary(records)
    return {r["task"]: task_label(r["task"], r["kind"], vary.get(r["kind"], [])) for r in records}


def accuracy_figure(records: list[dict[str, Any]], margin_pts: float = 1.0) -> go.Figure | None:
    """Accuracy vs bits per (task kind, dataset, ansatz) panel: one curve per profile on its emulated
    hardware, the abstract quantizer (black, dashed), the ``ideal`` profile (grey reference), the float
    model and the float model minus the margin as horizontal lines; error bars = 95 % CI."""
    recs = accuracy_records(records)
    if not recs:
        return None
    styles = _styles(records)
    tnames = _task_names(recs)
    panels: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        panels[(r["kind"], str(r.get("task.dataset") or ""), str(r.get("task.ansatz") or ""))].append(r)
    keys = sorted(panels)
    titles = [f"{dataset_name(ds) if ds else kind}{', ' + an if an else ''} [{kind}]" for kind, ds, an in keys]
    fig = make_subplots(rows=1, cols=len(keys), subplot_titles=titles, shared_yaxes=True)
    for i, pk in enumerate(keys):
        rs = panels[pk]
        hw = [r for r in rs if r.get("task.provider") != "ideal"]
        ab = [r for r in rs if r.get("task.provider") == "ideal"]

        def hw_name(label, task, pts):
            hw_ = json.loads(task).get("provider") == "hardware" and not pts[0]["reference"]
            return label + (" (emulated hardware)" if hw_ else "")

        _add_series(fig, series_points(hw, "result.accuracy", accuracy=True), styles, "accuracy", "DAC bits",
                    col=i + 1, accuracy=True, name_of=hw_name, task_names=tnames, dodge=0.05)
        seen = set()
        for (label, kind, task), pts in series_points(ab, "result.accuracy", accuracy=True).items():
            sig = tuple((p["x"], round(p["mean"], 12)) for p in pts)
            if sig in seen:  # profile-independent: draw one curve
                continue
            seen.add(sig)
            style = {"line": {"color": "black", "dash": "dash", "width": 1.6},
                     "marker": {"color": "black", "symbol": "x-thin-open", "size": 8, "line": {"width": 1.6}}}
            name = "abstract b-bit quantizer" + (f" ({label})" if len(seen) > 1 else "")
            fig.add_trace(_curve_trace(name, pts, style, "accuracy", "DAC bits", accuracy=True,
                                       task=tnames.get(task, kind)), row=1, col=i + 1)
        fl = {}
        for r in rs:
            v = r.get("result.float_accuracy")
            if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v):
                fl[(r["seed"], r["task"])] = float(v)
        if fl:
            f = float(np.mean(list(fl.values())))
            bits = sorted({r["bits"] for r in rs})
            for yv, name, dash in ((f, f"float model (infinite precision): {f:.3f}", "dot"),
                                   (f - margin_pts / 100, f"float - {margin_pts:g} pt margin: {f - margin_pts / 100:.3f}",
                                    "dashdot")):
                fig.add_trace(go.Scatter(x=[bits[0], bits[-1]], y=[yv, yv], mode="lines", name=name,
                                         line={"color": "#444444", "dash": dash, "width": 1.4}, legendgroup=name,
                                         showlegend=i == 0, hovertemplate=f"{name}<extra></extra>"), row=1, col=i + 1)
        fig.update_xaxes(title_text="DAC bits", dtick=1, row=1, col=i + 1)
    fig.update_yaxes(title_text="test accuracy (fraction; seed mean, 95% CI)", row=1, col=1)
    fig.update_layout(title="QNN test accuracy vs DAC bits", **_LAYOUT)
    return fig


def metric_panels(records: list[dict[str, Any]], kind: str, panels: list[tuple[str, str, bool]], title: str,
                  preferred_x: str = "bits", lines: dict[str, tuple[float, str]] | None = None) -> go.Figure | None:
    """One panel per metric of task ``kind`` vs its resolution axis (flux bits for CZ when swept), error
    bars = seed 95 % CI; ``lines``: {field: (y, label)} horizontal target lines."""
    recs = [r for r in records if r["kind"] == kind]
    panels = [(f, lab, log) for f, lab, log in panels if any(isinstance(r.get(f), (int, float)) for r in recs)]
    if not panels:
        return None
    x = x_field(recs, preferred_x)
    xname = "flux DAC bits" if x == "flux_bits" else "DAC bits"
    styles = _styles(records)
    tnames = _task_names(recs)
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[lab for _, lab, _ in panels])
    for i, (f, lab, log) in enumerate(panels):
        _add_series(fig, series_points(recs, f, x=x), styles, lab, xname, col=i + 1, log=log, showlegend=i == 0,
                    task_names=tnames)
        if lines and f in lines:
            yv, name = lines[f]
            xs = sorted({r[x] for r in recs if isinstance(r.get(x), (int, float))})
            fig.add_trace(go.Scatter(x=[xs[0], xs[-1]], y=[yv, yv], mode="lines", name=name, showlegend=True,
                                     line={"color": "#b22222", "dash": "dot", "width": 1.4},
                                     hovertemplate=f"{name}<extra></extra>"), row=1, col=i + 1)
        fig.update_xaxes(title_text=xname, dtick=1, row=1, col=i + 1)
        fig.update_yaxes(type="log" if log else "linear", exponentformat="power", row=1, col=i + 1)
    fig.update_layout(title=title, **_LAYOUT)
    return fig


def gates_figure(records: list[dict[str, Any]], target: float) -> go.Figure | None:
    return metric_panels(records, "gates", [
        ("result.infidelity_mean", "1 - F, mean over codes", True),
        ("result.angle_error_rms", "rms rotation-angle error (rad)", True),
    ], "Realized single-qubit gates vs DAC bits", lines={"result.infidelity_mean": (target, f"target 1 - F = {target:g}")})


def cz_figure(records: list[dict[str, Any]], target: float) -> go.Figure | None:
    return metric_panels(records, "cz", [
        ("result.cz_infidelity", "CZ 1 - F", True),
        ("result.cz_leakage", "CZ leakage", True),
        ("result.cond_phase_error_rad", "conditional-phase error (rad)", True),
    ], "Two-qubit CZ gate vs flux DAC resolution", preferred_x="flux_bits",
        lines={"result.cz_infidelity": (target, f"target 1 - F = {target:g}")})


def rb_figure(records: list[dict[str, Any]], target: float) -> go.Figure | None:
    return metric_panels(records, "rb", [
        ("result.epc", "error per Clifford (RB fit)", True),
        ("result.clifford_infidelity", "1 - F of the realized Cliffords", True),
        ("result.leakage_per_clifford", "leakage per Clifford", True),
    ], "Randomized benchmarking vs DAC bits", lines={"result.epc": (target, f"target = {target:g}")})


def cost_figure(records: list[dict[str, Any]], wall_plug_w_per_w: float) -> go.Figure | None:
    """Power per qubit at the stage, the same at the wall plug, and area per qubit vs bits."""
    recs = [r for r in records if r["kind"] == "cost" and isinstance(r.get("result.power_per_qubit_w"), (int, float))]
    if not recs:
        return None
    recs = [{**r, "result.wall_plug_per_qubit_w": r["result.power_per_qubit_w"]
             * wall_plug_factor(r["temperature_k"], wall_plug_w_per_w)} for r in recs]
    styles = _styles(records)
    x = x_field(recs, "flux_bits")  # a study sweeping only the flux DAC: cost over its bits
    xname = "flux DAC bits" if x == "flux_bits" else "DAC bits"
    fig = make_subplots(rows=1, cols=3, subplot_titles=[
        "DAC power per qubit dissipated at its stage (mW)", "wall-plug power per qubit (mW)", "DAC area per qubit (mm²)"])
    for i, (f, lab, scale) in enumerate((("result.power_per_qubit_w", "P/qubit at stage (mW)", 1e3),
                                         ("result.wall_plug_per_qubit_w", "P/qubit at the wall (mW)", 1e3),
                                         ("result.area_per_qubit_mm2", "area/qubit (mm²)", 1.0))):
        _add_series(fig, series_points(recs, f, x=x), styles, lab, xname, col=i + 1, log=True, scale=scale,
                    showlegend=i == 0)
        fig.update_xaxes(title_text=xname, dtick=1, row=1, col=i + 1)
        fig.update_yaxes(type="log", exponentformat="power", row=1, col=i + 1)
    fig.update_layout(title=f"Cost vs {xname}: raw dissipation and wall-plug power", **_LAYOUT)
    return fig


def pareto_figure(points: list[dict[str, Any]], quality_name: str, axis: str,
                  references: dict[str, float] | None = None) -> go.Figure | None:
    """Quality (seed mean, 95 % CI) vs wall-plug power or area per qubit; designs as markers, the Pareto
    front as a step line, reference profiles and the float model as horizontal lines."""
    designs = [p for p in points if not p.get("reference")]
    if not designs:
        return None
    key = {"power": "wall_plug_per_qubit_w", "area": "area_per_qubit_mm2"}[axis]
    designs = [p for p in designs if p.get(key) is not None]  # an SFQ driver has no area model: not drawn
    if not designs:
        return None
    scale = 1e3 if axis == "power" else 1.0
    xlabel = {"power": "wall-plug power per qubit (mW, log)", "area": "DAC area per qubit (mm², log)"}[axis]
    styles = profile_styles(p["profile"] for p in points)
    fig = go.Figure()
    front = sorted((p for p in designs if p[f"pareto_{axis}"]), key=lambda p: p[key])
    if front:
        fig.add_trace(go.Scatter(x=[p[key] * scale for p in front], y=[p["quality"] for p in front], mode="lines",
                                 line={"shape": "hv", "color": "black", "width": 1.2}, name="Pareto front",
                                 hoverinfo="skip"))
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in designs:
        by[p["label"]].append(p)
    for label in sorted(by):
        ps = sorted(by[label], key=lambda p: p["bits"])
        st = styles[ps[0]["profile"]]
        y = np.array([p["quality"] for p in ps])
        custom = [[label, p["bits"], _fmt(p["quality_lo"]), _fmt(p["quality_hi"]),
                   f"{p['seeds']} seed(s)" + (f", test set {p['n_test']} samples" if p.get("n_test") else ""),
                   _fmt(p["power_per_qubit_w"] * 1e3), f"{p['temperature_k']:g}", _fmt(p["wall_plug_per_qubit_w"] * 1e3),
                   _fmt(p["area_per_qubit_mm2"]), "yes" if p[f"pareto_{axis}"] else "no"] for p in ps]
        fig.add_trace(go.Scatter(
            x=[p[key] * scale for p in ps], y=y, mode="markers+text", name=label,
            text=[f"{p['bits']}b" if p[f"pareto_{axis}"] else "" for p in ps], textposition="top center",
            textfont={"size": 10, "color": st["color"]},
            marker={"color": st["color"], "symbol": _SYMBOLS.get(st["marker"], "circle-open"), "size": 10,
                    "line": {"width": 1.8}},
            error_y={"type": "data", "symmetric": False, "array": np.array([p["quality_hi"] for p in ps]) - y,
                     "arrayminus": y - np.array([p["quality_lo"] for p in ps]), "thickness": 1, "width": 3,
                     "color": st["color"]},
            customdata=custom,
            hovertemplate=("<b>%{customdata[0]}</b><br>DAC bits %{customdata[1]}<br>" + quality_name
                           + ": %{y:.3f} (seed mean)<br>95% CI [%{customdata[2]}, %{customdata[3]}]<br>%{customdata[4]}"
                           "<br>P/qubit: %{customdata[5]} mW at %{customdata[6]} K, %{customdata[7]} mW at the wall"
                           "<br>area/qubit: %{customdata[8]} mm²<br>on the front: %{customdata[9]}<extra></extra>")))
    xs = [p[key] * scale for p in designs]
    for i, (name, yv) in enumerate(sorted((references or {}).items())):
        fig.add_trace(go.Scatter(x=[min(xs) / 1.5, max(xs) * 1.5], y=[yv, yv], mode="lines", name=name,
                                 line={"color": _REF_COLOR if "ideal" in name else "#444444",
                                       "dash": ["dash", "dot", "dashdot"][i % 3], "width": 1.4},
                                 hovertemplate=f"{name}<extra></extra>"))
    fig.update_xaxes(type="log", title_text=xlabel, exponentformat="power")
    fig.update_yaxes(title_text=f"{quality_name} (seed mean, 95% CI)")
    fig.update_layout(title=f"{quality_name} vs {'wall-plug power' if axis == 'power' else 'area'} per qubit "
                            "(designs on the front labelled with their bits)", **{**_LAYOUT, "height": 520})
    return fig
