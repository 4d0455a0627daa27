"""Self-contained HTML report (plots inlined as base64 PNG, no external URLs) plus CSV and JSON.

``build_report(store, out_dir)`` writes into ``out_dir``:

- ``report.html``: every figure as ``<img id="plot-..." alt="...">`` with a data: URI, or a
  ``<p class="nodata" id="nodata-...">`` note saying which data is missing and which task produces it;
  the side-by-side profile table; the errored points.
- ``points.csv`` (one row per finished point), ``profiles.csv``, ``pareto.csv``, ``errors.csv``.
- ``report.json``: the same tables and which plots were drawn.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from pathlib import Path
from typing import Any

from cryoctl.errors import CryoctlError
from cryoctl.report import plots
from cryoctl.report.data import load_records, profile_table, quality_points
from cryoctl.study.tasks import json_ready

#: (id, title, what is needed when absent)
FIGURES = [
    ("plot-accuracy-vs-bits", "QNN accuracy vs DAC bits (elbow curves)", "QNN results: add a qnn_infer or qnn_train task"),
    ("plot-gate-fidelity-vs-bits", "Gate infidelity and angle error vs DAC bits", "gate results: add a gates task"),
    ("plot-gate-leakage-vs-bits", "Leakage vs DAC bits", "gate results: add a gates task"),
    ("plot-cost-vs-bits", "DAC power and area vs bits", "cost results: add a cost task"),
    ("plot-pareto-power", "Power vs quality, Pareto front", "QNN or gate results to put against power"),
    ("plot-pareto-area", "Area vs quality, Pareto front", "QNN or gate results to put against area"),
]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1300px}
h1{margin-bottom:4px} .meta{color:#666;margin-top:0}
figure{margin:18px 0;padding:8px;border:1px solid #ddd;border-radius:6px}
figure img{max-width:100%;height:auto;display:block}
figcaption{font-weight:600;margin-bottom:6px}
.nodata{color:#8a6d3b;background:#fcf8e3;border:1px solid #faebcc;padding:8px;border-radius:4px}
table{border-collapse:collapse;font-size:13px;margin:8px 0} th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3} td.l,th.l{text-align:left} tr.front td{font-weight:600}
"""


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _table(rows: list[dict[str, Any]], cols: list[tuple[str, str]], table_id: str, row_class=None) -> str:
    if not rows:
        return f'<p class="nodata" id="nodata-{table_id}">No rows.</p>'
    head = "".join(f'<th class="{"l" if i == 0 else ""}">{html.escape(t)}</th>' for i, (_, t) in enumerate(cols))
    body = []
    for r in rows:
        cls = f' class="{row_class(r)}"' if row_class and row_class(r) else ""
        cells = "".join(f'<td class="{"l" if i == 0 or isinstance(r.get(k), str) else ""}">{html.escape(_fmt(r.get(k)))}</td>'
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
    ("power_per_qubit_w", "P/qubit (W)"), ("area_per_qubit_mm2", "area/qubit (mm²)"),
    ("qubits_that_fit", "qubits that fit"), ("gate_fidelity_mean", "gate F (mean)"),
    ("accuracy_mean", "QNN accuracy on hardware (mean)"), ("points", "points"),
]


def build_report(store: str | Path, out_dir: str | Path, keys: set[str] | None = None) -> dict[str, Any]:
    """Write the report files for ``store`` into ``out_dir``; returns a summary (paths, plots, counts).

    ``keys``: report only these points (e.g. those of one study spec); default every row of the store.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CryoctlError(f"cannot create report directory ({exc.strerror})", field=str(out)) from None
    records, errors = load_records(store, keys)
    qname, qpoints = quality_points(records)
    profiles = profile_table(records)
    all_profiles = sorted({r["profile"] for r in records})  # one colour/marker per profile in every figure

    images = {
        "plot-accuracy-vs-bits": plots.accuracy_vs_bits(records),
        "plot-gate-fidelity-vs-bits": plots.gate_fidelity_vs_bits(records),
        "plot-gate-leakage-vs-bits": plots.gate_leakage_vs_bits(records),
        "plot-cost-vs-bits": plots.cost_vs_bits(records),
        "plot-pareto-power": plots.pareto(qpoints, qname, "power", profiles=all_profiles),
        "plot-pareto-area": plots.pareto(qpoints, qname, "area", profiles=all_profiles),
    }

    figs = []
    for fid, title, needs in FIGURES:
        png = images[fid]
        if png is None:
            figs.append(f'<figure id="fig-{fid[5:]}"><figcaption>{html.escape(title)}</figcaption>'
                        f'<p class="nodata" id="nodata-{fid[5:]}">No data for {html.escape(title.lower())}: '
                        f'the store has no {html.escape(needs)}.</p></figure>')
        else:
            b64 = base64.b64encode(png).decode("ascii")
            figs.append(f'<figure id="fig-{fid[5:]}"><figcaption>{html.escape(title)}</figcaption>'
                        f'<img id="{fid}" alt="{html.escape(title)}" src="data:image/png;base64,{b64}"></figure>')
    if qpoints:
        pareto_note = (f"<p>Quality measure: <b>{html.escape(qname)}</b>. Bold rows are on the power Pareto front "
                       "(no other design is both cheaper and better).</p>")
    else:
        pareto_note = ""
    pareto_cols = [("label", "design"), ("kind", "task"), ("bits", "bits"), ("power_per_qubit_w", "P/qubit (W)"),
                   ("area_per_qubit_mm2", "area/qubit (mm²)"), ("quality", qname or "quality"),
                   ("pareto_power", "front (power)"), ("pareto_area", "front (area)"), ("seeds", "seeds")]
    error_cols = [("profile", "profile"), ("kind", "task"), ("seed", "seed"), ("overrides", "overrides"),
                  ("attempts", "attempts"), ("error", "error")]
    kinds: dict[str, int] = {}
    for r in records:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    studies = sorted({r["study"] for r in records})
    counts = ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items())) or "none"
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>cryoctl report: {html.escape(', '.join(studies) or Path(store).name)}</title>
<style>{_CSS}</style></head><body>
<h1>cryoctl study report</h1>
<p class="meta">store <code>{html.escape(Path(store).name)}</code> · studies: {html.escape(', '.join(studies) or '–')} ·
finished points: {len(records)} ({html.escape(counts)}) · errored points: {len(errors)}</p>
<h2>Profiles compared</h2>
{_table(profiles, PROFILE_COLUMNS, "profiles-table")}
<h2>Figures</h2>
{''.join(figs)}
<h2>Pareto designs</h2>
{pareto_note}
{_table(qpoints, pareto_cols, "pareto-table", row_class=lambda r: "front" if r.get("pareto_power") else "")}
<h2>Errored points</h2>
{_table(errors, error_cols, "errors-table")}
<p class="meta">Data: points.csv, profiles.csv, pareto.csv, errors.csv, report.json (next to this file).</p>
<script>
// Record each figure's decoded size on the element, so a headless browser's DOM dump shows it rendered.
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
    summary = {
        "store": str(store),
        "out_dir": str(out),
        "html": str(out / "report.html"),
        "points": len(records),
        "errors": len(errors),
        "quality": qname or None,
        "plots": {fid: images[fid] is not None for fid, _, _ in FIGURES},
        "profiles": profiles,
        "pareto": qpoints,
        "error_points": errors,
    }
    (out / "report.json").write_text(json.dumps(json_ready(summary, strict=True), indent=2, sort_keys=True, allow_nan=False),
                                     encoding="utf-8")
    return summary
