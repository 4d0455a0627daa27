"""Self-contained HTML report that answers the architect's questions, plus PNG, CSV and JSON files.

``build_report(store, out_dir)`` writes into ``out_dir``:

- ``report.html``, one offline file (plotly.js embedded once, PNGs as data: URIs, no external URL):
  an opening summary (minimum DAC bits per profile for QNN accuracy within ``accuracy_margin`` points
  of the float model and for gate error below ``infidelity_target``; designs ranked by accuracy per mW
  of wall-plug power; stage and wall-plug power side by side), then every figure twice: interactive
  (hover: design, bits, seed mean, 95 % CI) and its static PNG (for papers), each with a caption saying
  how to read it; a figure without data is a ``<p class="nodata">`` note (the CZ and randomized-
  benchmarking panels appear only when the store holds such points); the profile, Pareto and error
  tables; the method (statistics and power conversion).
- ``plot-*.png`` (the static figures), ``points.csv``, ``profiles.csv``, ``pareto.csv``, ``errors.csv``,
  ``summary_accuracy.csv``, ``summary_gates.csv``, ``ranking.csv`` and ``report.json``.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.report import interactive, plots, seed
from cryoctl.report.data import load_records, profile_table, quality_points
from cryoctl.report.stats import WALL_PLUG_SOURCE, WALL_PLUG_W_PER_W_4K, fmt_cell, wall_plug_factor
from cryoctl.report.summary import (
    DEFAULT_ACCURACY_MARGIN_PTS, DEFAULT_INFIDELITY_TARGET, accuracy_answers, accuracy_ranking, check_questions,
    gate_answers,
)
from cryoctl.study.tasks import json_ready

#: (id, title, what is needed when absent, optional: omitted without data, how to read it)
FIGURES = [
    ("plot-accuracy-vs-bits", "QNN accuracy vs DAC bits (elbow curves)", "QNN results: add a qnn_infer or qnn_train task",
     False, "One curve per profile, the model run on that profile's emulated hardware; black dashed: the abstract b-bit "
     "angle quantizer of the QNN papers (profile-independent); grey dashed: the ideal profile (reference). Dotted: the "
     "float model (infinite precision); dash-dot: float minus the accuracy margin. Error bars are 95 % intervals over "
     "seeds and the test-set size (one Iris sample is 2.2 points): two curves differ only where their bars do not "
     "overlap. The first bits at which a curve reaches the dash-dot line and stays above it is the summary's answer."),
    ("plot-gate-fidelity-vs-bits", "Gate infidelity and angle error vs DAC bits", "gate results: add a gates task", False,
     "1 - F of the realized single-qubit rotations (mean over all amplitude codes) and the rms rotation-angle error, "
     "log scale. The red dotted line (interactive plot) is the infidelity target: the first bits below it and staying "
     "below is the summary's answer. A curve that flattens shows where noise, mismatch or decoherence, not "
     "resolution, limits the gate."),
    ("plot-gate-leakage-vs-bits", "Leakage vs DAC bits", "gate results: add a gates task", False,
     "Population left in |2> (max and mean over codes), log scale. Leakage is set by the pulse shape and the "
     "anharmonicity; a drop with bits means quantized envelope samples were exciting |2>."),
    ("plot-cost-vs-bits", "DAC power and area vs bits", "cost results: add a cost task", False,
     "Power per qubit dissipated at the controller's own stage (interactive: left; static: with the thermal floors "
     "1.5πkT·f_s·4^N), the same converted to wall-plug power (interactive: middle; cryogenic stages x the cryocooler "
     "W/W stated in the summary), and area per qubit; all log scale. Compare profiles at different temperatures on "
     "the wall-plug panel: a 4 K milliwatt costs about a watt at the wall."),
    ("plot-pareto-power", "Accuracy vs wall-plug power, Pareto front", "QNN or gate results to put against power", False,
     "Each marker is one design (profile at one DAC resolution) with its 95 % interval; x is wall-plug power per qubit "
     "(log). The step line joins the designs no other design beats on both axes; labels name them. Horizontal lines "
     "are references, not designs: the float model and the ideal profile. Up and to the left is better; a design whose "
     "interval overlaps a cheaper one's is not shown to be better."),
    ("plot-pareto-area", "Accuracy vs area, Pareto front", "QNN or gate results to put against area", False,
     "As the power plot, with DAC area per qubit (Pelgrom-sized unit current sources) on the x axis."),
    ("plot-cz-vs-bits", "Two-qubit CZ gate vs flux DAC bits", "CZ results: add a cz task", True,
     "CZ 1 - F, leakage and conditional-phase error vs the flux DAC's resolution (the XY DAC's when the flux bits are "
     "not swept), log scale, seed mean with 95 % intervals. The flux DAC sets the interaction detuning in steps of "
     "span/2^(N-1): expect the error to fall about 2x per bit until noise or the flux-line tails dominate."),
    ("plot-rb-vs-bits", "Randomized benchmarking vs DAC bits", "RB results: add an rb task", True,
     "Error per Clifford from the RB decay fit, 1 - F of the realized Clifford set and leakage per Clifford, log "
     "scale. For gate-independent noise the first two agree (r = 1 - F_avg); a gap means the errors depend on the "
     "gate (coherent, leakage)."),
]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{margin-bottom:4px} .meta{color:#666;margin-top:0}
figure{margin:18px 0;padding:8px;border:1px solid #ddd;border-radius:6px}
figure img{max-width:100%;height:auto;display:block}
figure h3{margin:4px 0 6px 0}
figcaption.howto{color:#333;background:#f6f8fa;border-left:3px solid #4a7ebb;padding:6px 10px;margin-top:6px;font-size:14px}
details{margin-top:6px} summary{cursor:pointer;color:#4a7ebb}
.nodata{color:#8a6d3b;background:#fcf8e3;border:1px solid #faebcc;padding:8px;border-radius:4px}
.answer{background:#eef6ee;border:1px solid #cfe3cf;border-radius:6px;padding:8px 14px}
.answer li{margin:4px 0}
.assume{color:#555;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:8px 0} th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3} td.l,th.l{text-align:left} tr.front td{font-weight:600} tr.ref td{color:#777;font-style:italic}
.verdict{border-radius:6px;padding:6px 12px;border:1px solid #ccc;background:#f7f7f7}
.verdict-yes{background:#eef6ee;border-color:#cfe3cf} .verdict-no{background:#fbeeee;border-color:#e3c9c9}
#seed-study img{max-width:100%;height:auto;display:block}
"""


def _table(rows: list[dict[str, Any]], cols: list[tuple[str, str]], table_id: str, row_class=None) -> str:
    if not rows:
        return f'<p class="nodata" id="nodata-{table_id}">No rows.</p>'
    head = "".join(f'<th class="{"l" if i == 0 else ""}">{html.escape(t)}</th>' for i, (_, t) in enumerate(cols))
    body = []
    for r in rows:
        cls = f' class="{row_class(r)}"' if row_class and row_class(r) else ""
        cells = "".join(f'<td class="{"l" if i == 0 or isinstance(r.get(k), str) else ""}">{html.escape(fmt_cell(r.get(k)))}</td>'
                        for i, (k, _) in enumerate(cols))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    cols: list[str] = []
    for r in rows:
        cols.extend(k for k in r if k not in cols)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})


PROFILE_COLUMNS = [
    ("profile", "profile"), ("varying", "varied overrides"), ("bits", "bits"), ("architecture", "arch."),
    ("sample_rate_gsps", "f_s (GS/s)"), ("unit_mismatch_sigma", "σ_u"), ("temperature_k", "T (K)"), ("amplitude_mode", "amplitude mode"),
    ("power_per_qubit_w", "P/qubit at stage (W)"), ("wall_plug_per_qubit_w", "P/qubit at the wall (W)"),
    ("area_per_qubit_mm2", "area/qubit (mm²)"), ("qubits_that_fit", "qubits that fit"), ("gate_fidelity_mean", "gate F (mean)"),
    ("accuracy_s", "QNN accuracy on hardware (mean [95 % CI])"), ("points", "points"),
]


def _bits(v: Any) -> str:
    return "not reached" if v is None else f"{v:g}"


def _ci(m: float | None, lo: float | None, hi: float | None, pct: bool = False) -> str:
    if m is None:
        return "–"
    if pct:
        return f"{100 * m:.1f} % [{100 * lo:.1f}, {100 * hi:.1f}]"
    return f"{m:.3g} [{lo:.3g}, {hi:.3g}]"


def _mw(w: float) -> str:
    """A power in W as mW below 1 W, else as W (3 significant digits)."""
    return f"{w * 1e3:.3g} mW" if w < 1.0 else f"{w:.3g} W"


def _li(items: list[str]) -> str:
    return "".join(f"<li>{i}</li>" for i in items)


def _esc(v: Any) -> str:
    return html.escape(str(v))


_RANK_SHOWN = 12


def _rank_rest(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> str:
    if len(rows) <= _RANK_SHOWN:
        return ""
    return (f"<details><summary>All {len(rows)} designs (also in ranking.csv)</summary>"
            f"{_table(rows, cols, 'ranking-table-all', row_class=lambda r: 'front' if r.get('meets_margin') else '')}"
            "</details>")


def _summary_html(acc: list[dict[str, Any]], gates: list[dict[str, Any]], ranking: list[dict[str, Any]],
                  profiles: list[dict[str, Any]], margin: float, target: float, wall: float) -> str:
    """The opening section: the answers in sentences, then the tables they come from."""
    lines = []
    hw = [a for a in acc if not a["abstract"] and not a["reference"]]
    if hw:
        parts = [f"<b>{_esc(a['design'])}</b> ({_esc(a['task'])}): <b>{_esc(_bits(a['min_bits']))}</b>"
                 + (f" bits, accuracy {_esc(_ci(a['accuracy'], a['accuracy_lo'], a['accuracy_hi'], pct=True))}"
                    if a["min_bits"] is not None else f" within {_esc(a['bits_swept'])} bits")
                 for a in hw]
        lines.append(f"<span id='answer-accuracy'>Bits for QNN accuracy within {margin:g} point(s) of the float "
                     f"model (seed mean; 95 % CI in brackets): " + "; ".join(parts) + ".</span>")
        half = [100 * (a["accuracy_hi"] - a["accuracy_lo"]) / 2 for a in hw if a["accuracy"] is not None]
        resolved = [a for a in hw if a["min_bits_ci"] is not None]
        n_test = sorted({a["n_test"] for a in hw if a.get("n_test")})
        if half:
            lines.append(
                f"The intervals are ±{min(half):.1f} to ±{max(half):.1f} points"
                + (f" (test set of {', '.join(map(str, n_test))} samples: one sample is {100 / n_test[0]:.1f} points)"
                   if n_test else "")
                + (f"; only {len(resolved)} of {len(hw)} answers hold for the lower end of the interval too (column "
                   "'by the CI')" if len(resolved) < len(hw) else "; every answer holds for the lower end of the "
                   "interval too")
                + ". Differences between profiles smaller than the interval are not claimed.")
            if n_test and margin < 100 / n_test[0]:
                lines.append(
                    f"<span id='margin-warning'>The margin ({margin:g} pt) is smaller than one test sample "
                    f"({100 / n_test[0]:.1f} points): an answer by the mean turns on single misclassified samples. "
                    f"Read it with the intervals, or ask again with <code>--accuracy-margin {100 / n_test[0]:.1f}</code> "
                    "or more seeds.</span>")
    hw_g = [g for g in gates if not g["reference"]]
    if hw_g:
        parts = [f"<b>{_esc(g['design'])}</b> ({_esc(g['gate'].split(':')[0])}): <b>{_esc(_bits(g['min_bits']))}</b>"
                 + (f" {_esc(g['axis'])}" if g["min_bits"] is not None else "") for g in hw_g]
        lines.append(f"<span id='answer-gates'>Bits for gate error below {target:g} (seed mean): "
                     + "; ".join(parts) + ".</span>")
    if ranking:
        best = ranking[0]
        meet = [r for r in ranking if r["meets_margin"]]
        cheapest = min(meet, key=lambda r: r["wall_plug_per_qubit_w"]) if meet else None
        txt = (f"Best accuracy per wall-plug mW: <b>{_esc(best['label'])}, {best['bits']} bits</b> "
               f"({100 * best['quality']:.1f} % at {_mw(best['wall_plug_per_qubit_w'])} per qubit at the wall).")
        if cheapest is not None:
            txt += (f" Cheapest design within the {margin:g}-point margin: <b>{_esc(cheapest['label'])}, "
                    f"{cheapest['bits']} bits</b>, {_mw(cheapest['wall_plug_per_qubit_w'])} at the wall "
                    f"({_mw(cheapest['power_per_qubit_w'])} dissipated at {cheapest['temperature_k']:g} K).")
        else:
            txt += f" No design reaches the float model within {margin:g} point(s) by its mean."
        txt += " Designs whose accuracy intervals overlap are ranked by power alone: their accuracies are not told apart."
        lines.append(f"<span id='answer-ranking'>{txt}</span>")
    cold = [p for p in profiles if p["temperature_k"] < 250]
    warm = [p for p in profiles if p["temperature_k"] >= 250]
    if cold and warm:
        c = min(cold, key=lambda p: p["power_per_qubit_w"])
        w = min(warm, key=lambda p: p["power_per_qubit_w"])
        lines.append(
            f"Power compared at the wall (cheapest of each kind): {_esc(c['profile'])} ({c['bits']} bits) dissipates "
            f"{_mw(c['power_per_qubit_w'])} per qubit at {c['temperature_k']:g} K = {_mw(c['wall_plug_per_qubit_w'])} "
            f"at the wall; {_esc(w['profile'])} ({w['bits']} bits) draws {_mw(w['power_per_qubit_w'])} per qubit at "
            f"room temperature: {w['power_per_qubit_w'] / c['power_per_qubit_w']:.3g}x the cryogenic design's raw "
            f"figure, but {w['wall_plug_per_qubit_w'] / c['wall_plug_per_qubit_w']:.3g}x its wall-plug power.")
    if not lines:
        lines.append("The store holds no QNN, gate or cost results to answer from.")

    acc_cols = [("design", "design"), ("task", "task"), ("reference_accuracy", "float accuracy (reference)"),
                ("bits_swept", "bits swept"), ("min_bits_s", f"min bits (mean ≥ ref − {margin:g} pt)"),
                ("acc_s", "accuracy at min bits [95 % CI]"), ("min_bits_ci_s", "min bits (by the CI lower end)"),
                ("n_seeds", "seeds"), ("n_test", "test samples")]
    acc_rows = [{**a, "min_bits_s": _bits(a["min_bits"]), "min_bits_ci_s": _bits(a["min_bits_ci"]),
                 "acc_s": _ci(a["accuracy"], a["accuracy_lo"], a["accuracy_hi"], pct=True),
                 "design": a["design"] + (" (reference)" if a["reference"] else "")} for a in acc]
    gate_cols = [("design", "design"), ("gate", "gate error"), ("axis", "resolution"), ("bits_swept", "bits swept"),
                 ("min_bits_s", f"min bits (mean < {target:g})"), ("err_s", "error at min bits [95 % CI]"),
                 ("min_bits_ci_s", "min bits (CI upper end)"), ("n_seeds", "seeds")]
    gate_rows = [{**g, "min_bits_s": _bits(g["min_bits"]), "min_bits_ci_s": _bits(g["min_bits_ci"]),
                  "err_s": _ci(g["error"], g["error_lo"], g["error_hi"]),
                  "design": g["design"] + (" (reference)" if g["reference"] else "")} for g in gates]
    rank_cols = [("rank", "rank"), ("label", "design"), ("bits", "bits"), ("acc_s", "accuracy [95 % CI]"),
                 ("temperature_k", "stage T (K)"), ("stage_mw", "P/qubit at stage (mW)"),
                 ("wall_plug_factor", "wall W per stage W"), ("wall_mw", "P/qubit at the wall (mW)"),
                 ("accuracy_per_wall_mw", "accuracy per wall mW"), ("accuracy_per_stage_mw", "accuracy per stage mW"),
                 ("meets_margin", f"within {margin:g} pt")]
    rank_rows = [{**r, "acc_s": _ci(r["quality"], r["quality_lo"], r["quality_hi"], pct=True),
                  "stage_mw": 1e3 * r["power_per_qubit_w"], "wall_mw": 1e3 * r["wall_plug_per_qubit_w"]} for r in ranking]
    return f"""<section id="summary">
<h2>Summary: how many bits, and which design</h2>
<p class="meta">Questions set by the reader: accuracy margin <b id="setting-margin">{margin:g}</b> point(s) of the float
model, gate-error target <b id="setting-target">{target:g}</b> (<code>cryoctl report STORE --accuracy-margin M
--infidelity-target T</code>).</p>
<ul class="answer" id="answers">{_li(lines)}</ul>
<p class="assume" id="wall-plug-assumption">Wall-plug power: {_esc(WALL_PLUG_SOURCE.format(s=wall))}
(<code>--wall-plug-w-per-w</code>).</p>
<h3>How many bits for QNN accuracy?</h3>
<p class="assume">Minimum bits: the smallest swept resolution at which the seed-mean accuracy is within the margin of
the float model and stays within it at every larger resolution. "By the CI lower end": the same with the lower end
of the 95 % interval, i.e. resolved by this data.</p>
{_table(acc_rows, acc_cols, "summary-accuracy", row_class=lambda r: "ref" if r.get("reference") or r.get("abstract") else "")}
<h3>How many bits for gate error?</h3>
{_table(gate_rows, gate_cols, "summary-gates", row_class=lambda r: "ref" if r.get("reference") else "")}
<h3>Which design gives the best accuracy per mW?</h3>
<p class="assume">Designs on the emulated hardware (the ideal profile is a reference, not ranked), by accuracy per mW of
wall-plug power per qubit; the stage figure beside it. Bold: within the accuracy margin of the float model (by the
mean).</p>
{_table(rank_rows[:_RANK_SHOWN], rank_cols, "ranking-table", row_class=lambda r: "front" if r.get("meets_margin") else "")}
{_rank_rest(rank_rows, rank_cols)}
</section>"""


_METHOD = """<h2>Method</h2>
<ul class="assume" id="method">
<li>Accuracy: seed mean. 95 % interval = envelope of the Student-t interval over seeds and the Wilson score interval
of the seed-mean accuracy on one test set (n = test samples; not pooled over seeds, which reuse the same small data
set).</li>
<li>Gate errors, power, area: seed mean with the Student-t 95 % interval over seeds (none with one seed).</li>
<li>Minimum bits: smallest swept resolution meeting the criterion there and at every larger swept resolution.</li>
<li>Wall-plug power: stage dissipation x the cryocooler's wall watts per watt removed (see the assumption above);
room-temperature electronics count once.</li>
<li>Reference profile <code>ideal</code> (a perfect DAC): drawn as a reference curve/line, never ranked or put on a
Pareto front. The abstract b-bit quantizer is profile-independent and is not credited to any profile.</li>
</ul>"""


def build_report(store: str | Path, out_dir: str | Path, keys: set[str] | None = None,
                 accuracy_margin: float = DEFAULT_ACCURACY_MARGIN_PTS,
                 infidelity_target: float = DEFAULT_INFIDELITY_TARGET,
                 wall_plug_w_per_w: float = WALL_PLUG_W_PER_W_4K) -> dict[str, Any]:
    """Write the report files for ``store`` into ``out_dir``; returns a summary (paths, plots, answers).

    ``keys``: report only these points (e.g. those of one study spec); default every row of the store.
    ``accuracy_margin`` (points), ``infidelity_target``: the two questions of the summary;
    ``wall_plug_w_per_w``: wall watts per watt removed at 4 K (:mod:`cryoctl.report.stats`).
    """
    check_questions(accuracy_margin, infidelity_target)
    wall_plug_factor(4.0, wall_plug_w_per_w)  # validates the setting
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CryoctlError(f"cannot create report directory ({exc.strerror})", field=str(out)) from None
    records, errors = load_records(store, keys)
    qname, qpoints = quality_points(records, wall_plug_w_per_w)
    profiles = profile_table(records)
    for p in profiles:
        p["wall_plug_per_qubit_w"] = p["power_per_qubit_w"] * wall_plug_factor(p["temperature_k"], wall_plug_w_per_w)
    profile_rows = [{**p, "accuracy_s": _ci(p["accuracy_mean"], p["accuracy_lo"], p["accuracy_hi"])} for p in profiles]
    acc = accuracy_answers(records, accuracy_margin)
    gates = gate_answers(records, infidelity_target)
    ranking = accuracy_ranking(qpoints, acc, accuracy_margin) if qname == "accuracy" else []
    all_profiles = sorted({r["profile"] for r in records})  # one colour/marker per profile in every figure

    # reference lines of the Pareto plots: the ideal profile at its largest bits, the float model
    refs: dict[str, float] = {}
    ref_pts = [p for p in qpoints if p["reference"]]
    n_tasks = len({p["task"] for p in qpoints})
    for task in sorted({p["task"] for p in ref_pts}):
        top = max((p for p in ref_pts if p["task"] == task), key=lambda p: p["bits"])
        suffix = f" · {top['label'].split(' · ', 1)[-1]}" if n_tasks > 1 else ""
        refs[f"ideal profile, {top['bits']} bits: {top['quality']:.3f}{suffix}"] = top["quality"]
    floats = {(r["seed"], r["task"]): r["result.float_accuracy"] for r in records
              if qname == "accuracy" and isinstance(r.get("result.float_accuracy"), (int, float))}
    if floats:
        f = float(np.mean(list(floats.values())))
        refs[f"float model (infinite precision): {f:.3f}"] = f

    images = {
        "plot-accuracy-vs-bits": plots.accuracy_vs_bits(records, accuracy_margin),
        "plot-gate-fidelity-vs-bits": plots.gate_fidelity_vs_bits(records),
        "plot-gate-leakage-vs-bits": plots.gate_leakage_vs_bits(records),
        "plot-cost-vs-bits": plots.cost_vs_bits(records),
        "plot-pareto-power": plots.pareto(qpoints, qname, "power", profiles=all_profiles, references=refs),
        "plot-pareto-area": plots.pareto(qpoints, qname, "area", profiles=all_profiles, references=refs),
        "plot-cz-vs-bits": plots.cz_vs_bits(records),
        "plot-rb-vs-bits": plots.rb_vs_bits(records),
    }
    ifigs = {
        "plot-accuracy-vs-bits": interactive.accuracy_figure(records, accuracy_margin),
        "plot-gate-fidelity-vs-bits": interactive.gates_figure(records, infidelity_target),
        "plot-gate-leakage-vs-bits": interactive.metric_panels(records, "gates", [
            ("result.leakage_max", "max leakage over codes", True),
            ("result.leakage_mean", "mean leakage over codes", True)], "Leakage to |2> vs DAC bits"),
        "plot-cost-vs-bits": interactive.cost_figure(records, wall_plug_w_per_w),
        "plot-pareto-power": interactive.pareto_figure(qpoints, qname, "power", refs),
        "plot-pareto-area": interactive.pareto_figure(qpoints, qname, "area", refs),
        "plot-cz-vs-bits": interactive.cz_figure(records, infidelity_target),
        "plot-rb-vs-bits": interactive.rb_figure(records, infidelity_target),
    }

    figs, drawn = [], {}
    for fid, title, needs, optional, howto in FIGURES:
        png, ifig = images[fid], ifigs[fid]
        if png is None:  # no stale PNG of an earlier report in the same directory
            (out / f"{fid}.png").unlink(missing_ok=True)
        if png is None and ifig is None:
            if not optional:
                drawn[fid] = False
                figs.append(f'<figure id="fig-{fid[5:]}"><h3>{_esc(title)}</h3>'
                            f'<p class="nodata" id="nodata-{fid[5:]}">No data for {_esc(title.lower())}: '
                            f'the store has no {_esc(needs)}.</p></figure>')
            continue
        drawn[fid] = True
        parts = [f'<figure id="fig-{fid[5:]}"><h3>{_esc(title)}</h3>']
        if ifig is not None:
            parts.append(interactive.figure_html(ifig, "i" + fid))
        if png is not None:
            (out / f"{fid}.png").write_bytes(png)
            b64 = base64.b64encode(png).decode("ascii")
            parts.append(f'<details><summary>Static figure for papers ({fid}.png, next to this file)</summary>'
                         f'<img id="{fid}" alt="{_esc(title)}" src="data:image/png;base64,{b64}"></details>')
        parts.append(f'<figcaption class="howto" id="howto-{fid[5:]}"><b>How to read it.</b> {_esc(howto)}</figcaption>'
                     "</figure>")
        figs.append("".join(parts))
    if qpoints:
        pareto_note = (f"<p>Quality measure: <b>{_esc(qname)}</b> (seed mean, 95 % CI). Bold rows are on the wall-plug "
                       "power Pareto front (no other design is both cheaper at the wall and better); grey rows are the "
                       "reference profile, on no front.</p>")
    else:
        pareto_note = ""
    pareto_rows = [{**p, "q_s": _ci(p["quality"], p["quality_lo"], p["quality_hi"])} for p in qpoints]
    pareto_cols = [("label", "design"), ("kind", "task"), ("bits", "bits"), ("power_per_qubit_w", "P/qubit at stage (W)"),
                   ("temperature_k", "T (K)"), ("wall_plug_per_qubit_w", "P/qubit at the wall (W)"),
                   ("area_per_qubit_mm2", "area/qubit (mm²)"), ("q_s", f"{qname or 'quality'} [95 % CI]"),
                   ("pareto_power", "front (wall power)"), ("pareto_stage_power", "front (stage power)"),
                   ("pareto_area", "front (area)"), ("seeds", "seeds")]
    error_cols = [("profile", "profile"), ("kind", "task"), ("seed", "seed"), ("overrides", "overrides"),
                  ("attempts", "attempts"), ("error", "error")]
    kinds: dict[str, int] = {}
    for r in records:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    studies = sorted({r["study"] for r in records})
    counts = ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items())) or "none"
    summary_html = _summary_html(acc, gates, ranking, profiles, accuracy_margin, infidelity_target, wall_plug_w_per_w)
    # the seed-study chapters (cryoctl.report.seed), when the store holds its points
    seed_html, seed_summary = (seed.seed_chapters(records, out, accuracy_margin) if seed.has_seed_points(records)
                               else ("", None))
    plotly_js = interactive.plotly_js() if any(f is not None for f in ifigs.values()) else ""
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>cryoctl report: {_esc(', '.join(studies) or Path(store).name)}</title>
<style>{_CSS}</style>
<script>{plotly_js}</script>
<script>{interactive.DRAW_JS}</script>
</head><body>
<h1>cryoctl study report</h1>
<p class="meta">store <code>{_esc(Path(store).name)}</code> · studies: {_esc(', '.join(studies) or '–')} ·
finished points: {len(records)} ({_esc(counts)}) · errored points: {len(errors)}</p>
{summary_html}
{seed_html}
<h2>Figures</h2>
<p class="assume">Interactive plots: hover a point for the design, its bits, seed mean and 95 % interval; drag to zoom,
double-click to reset; the camera icon saves a PNG. The static figure of each (for papers) is under it and in
<code>plot-*.png</code> next to this file.</p>
{''.join(figs)}
<h2>Profiles compared</h2>
{_table(profile_rows, PROFILE_COLUMNS, "profiles-table")}
<h2>Pareto designs</h2>
{pareto_note}
{_table(pareto_rows, pareto_cols, "pareto-table",
        row_class=lambda r: "ref" if r.get("reference") else ("front" if r.get("pareto_power") else ""))}
<h2>Errored points</h2>
{_table(errors, error_cols, "errors-table")}
{_METHOD}
<p class="meta">Data: points.csv, profiles.csv, pareto.csv, errors.csv, summary_accuracy.csv, summary_gates.csv,
ranking.csv, report.json and plot-*.png (next to this file).</p>
<script>
// Record each static figure's decoded size on the element, so a headless browser's DOM dump shows it rendered.
window.addEventListener("load", function () {{
  var imgs = document.querySelectorAll("img");
  for (var i = 0; i < imgs.length; i++) {{
    imgs[i].setAttribute("data-natural-width", String(imgs[i].naturalWidth));
    imgs[i].setAttribute("data-natural-height", String(imgs[i].naturalHeight));
  }}
  document.body.setAttribute("data-rendered-images", String(imgs.length));
}});
</script>
</body></html>
"""
    (out / "report.html").write_text(doc, encoding="utf-8")
    _write_csv(out / "points.csv", records)
    _write_csv(out / "profiles.csv", profiles)
    _write_csv(out / "pareto.csv", qpoints)
    _write_csv(out / "errors.csv", errors)
    _write_csv(out / "summary_accuracy.csv", acc)
    _write_csv(out / "summary_gates.csv", gates)
    _write_csv(out / "ranking.csv", ranking)
    summary = {
        "store": str(store),
        "out_dir": str(out),
        "html": str(out / "report.html"),
        "points": len(records),
        "errors": len(errors),
        "quality": qname or None,
        "plots": drawn,
        "png": {fid: str(out / f"{fid}.png") for fid, png in images.items() if png is not None},
        "settings": {"accuracy_margin_pts": accuracy_margin, "infidelity_target": infidelity_target,
                     "wall_plug_w_per_w_4k": wall_plug_w_per_w},
        "accuracy_answers": acc,
        "gate_answers": gates,
        "ranking": ranking,
        "profiles": profiles,
        "pareto": qpoints,
        "error_points": errors,
        "seed_study": seed_summary,
    }
    (out / "report.json").write_text(json.dumps(json_ready(summary, strict=True), indent=2, sort_keys=True, allow_nan=False),
                                     encoding="utf-8")
    return summary
