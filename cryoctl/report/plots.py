"""Report figures (matplotlib, object API on an Agg canvas -> PNG bytes; no global pyplot state).

Each function takes the flat point records of :mod:`cryoctl.report.data` and returns PNG bytes, or
None when the records hold no data for that figure.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cryoctl.report.data import accuracy_records, curves

_DPI = 96


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    # No 'Software' metadata: the same data gives the same bytes across matplotlib patch versions.
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return buf.getvalue()


def _legend(fig: Figure, fontsize: float = 8) -> None:
    """One legend for the whole figure, below the panels (long legends never cover data)."""
    handles, labels, seen = [], [], set()
    for ax in fig.axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in seen:
                seen.add(lab)
                handles.append(h)
                labels.append(lab)
    if handles:
        # columns that fit the figure width: ~ 0.55 * fontsize points per character, plus the marker
        width_pt = fig.get_figwidth() * 72 * 0.95
        per_col = (max(len(lab) for lab in labels) + 6) * 0.55 * fontsize
        ncols = int(max(1, min(3, len(labels), width_pt // per_col)))
        fig.legend(handles, labels, loc="outside lower center", ncols=ncols, fontsize=fontsize, frameon=False)


def _figure(panels: int, n_series: int, width: float = 6.0, height: float = 4.0) -> Figure:
    """Panels side by side, with room below for the legend (up to one row per series)."""
    rows = n_series if panels == 1 else -(-n_series // 2)
    return Figure(figsize=(max(width * panels, 9.0), height + 0.22 * rows), layout="constrained")


def _curve_axes(ax, cv: dict[tuple, dict[str, np.ndarray]], log: bool = False, label_from: int = -1) -> None:
    for key, c in cv.items():
        y, e = c["mean"], c["std"]
        label = " / ".join(str(k) for k in key[label_from:] if k not in (None, ""))
        if log:
            ax.plot(c["bits"], y, "o-", label=label)
            ax.set_yscale("log")
        else:
            ax.errorbar(c["bits"], y, yerr=np.where(c["n"] > 1, e, 0.0), fmt="o-", capsize=3, label=label)
    ax.set_xlabel("DAC bits")
    ax.grid(True, alpha=0.3)
    ax.xaxis.get_major_locator().set_params(integer=True)


def accuracy_vs_bits(records: list[dict[str, Any]]) -> bytes | None:
    """Elbow curves: test accuracy vs DAC bits, one panel per (task kind, dataset), one line per model/profile."""
    recs = accuracy_records(records)
    cv = curves(recs, "result.accuracy", group=("kind", "task.dataset"))
    if not cv:
        return None
    panels = sorted({k[:2] for k in cv}, key=str)
    fig = _figure(len(panels), len({k[2:] for k in cv}))
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        _curve_axes(ax, {k: v for k, v in cv.items() if k[:2] == panel}, label_from=2)
        ax.set_ylabel("test accuracy (mean ± std over seeds)")
        ax.set_title(f"{panel[0]}: {panel[1]}")
    _legend(fig)
    return _png(fig)


def _kind_vs_bits(records, kind: str, fields: list[tuple[str, str, bool]], title: str) -> bytes | None:
    recs = [r for r in records if r["kind"] == kind]
    panels = [(f, lab, log, curves(recs, f)) for f, lab, log in fields]
    panels = [p for p in panels if p[3]]
    if not panels:
        return None
    fig = _figure(len(panels), max(len(p[3]) for p in panels))
    for i, (f, lab, log, cv) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        if log:  # log axes cannot show zeros (e.g. no leakage at all): clip at a floor
            cv = {k: {**c, "mean": np.maximum(c["mean"], 1e-16)} for k, c in cv.items()}
        _curve_axes(ax, cv, log=log)
        ax.set_ylabel(lab)
    fig.suptitle(title)
    _legend(fig)
    return _png(fig)


def gate_fidelity_vs_bits(records: list[dict[str, Any]]) -> bytes | None:
    """Mean gate infidelity (1 - F_avg over all codes) and pi-pulse fidelity vs DAC bits."""
    return _kind_vs_bits(records, "gates", [
        ("result.infidelity_mean", "1 - mean gate fidelity (all codes)", True),
        ("result.angle_error_rms", "rms rotation-angle error (rad)", True),
    ], "Realized single-qubit gates vs DAC resolution")


def gate_leakage_vs_bits(records: list[dict[str, Any]]) -> bytes | None:
    """Leakage out of the qubit subspace (max and mean over codes) vs DAC bits."""
    return _kind_vs_bits(records, "gates", [
        ("result.leakage_max", "max leakage over codes", True),
        ("result.leakage_mean", "mean leakage over codes", True),
    ], "Leakage to |2> vs DAC resolution")


def cost_vs_bits(records: list[dict[str, Any]]) -> bytes | None:
    """DAC power per qubit (with the thermal floor) and area per qubit vs bits."""
    recs = [r for r in records if r["kind"] == "cost"]
    pw = curves(recs, "result.power_per_qubit_w")
    if not pw:
        return None
    # the thermal floor depends only on (f_s, T): one dotted line per distinct pair
    fl_recs = {(r["sample_rate_gsps"], r["temperature_k"], r["bits"]): r for r in recs}
    floor = curves([{**r, "profile": f"thermal floor, {fs:g} GS/s, {t:g} K", "overrides": "{}", "label_overrides": "{}",
                     "label_task": "", "result.floor_per_qubit_w": r["result.thermal_floor_w"] * r["result.channels_per_qubit"]}
                    for (fs, t, _), r in sorted(fl_recs.items())], "result.floor_per_qubit_w")
    area = curves(recs, "result.area_per_qubit_mm2")
    fig = _figure(2, len(pw) + len(floor))
    ax = fig.add_subplot(1, 2, 1)
    _curve_axes(ax, pw, log=True)
    for key, c in floor.items():
        ax.plot(c["bits"], c["mean"], ":", color="gray", label=key[-1])
    ax.set_ylabel("DAC power per qubit (W)")
    ax2 = fig.add_subplot(1, 2, 2)
    _curve_axes(ax2, area, log=True)
    ax2.set_ylabel("DAC area per qubit (mm²)")
    _legend(fig)
    fig.suptitle("Cost vs DAC resolution (power = FoM·2^N·f_s + static; area from Pelgrom matching)")
    return _png(fig)


def pareto(points: list[dict[str, Any]], quality_name: str, axis: str) -> bytes | None:
    """Quality vs power (or area) per qubit, every resolved profile a marker, the Pareto front a line."""
    if not points:
        return None
    key = {"power": "power_per_qubit_w", "area": "area_per_qubit_mm2"}[axis]
    xlabel = {"power": "DAC power per qubit (W)", "area": "DAC area per qubit (mm²)"}[axis]
    x = np.array([p[key] for p in points])
    y = np.array([p["quality"] for p in points])
    front = np.array([p[f"pareto_{axis}"] for p in points])
    fig = Figure(figsize=(9.0, 5.2), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    for prof in sorted({p["profile"] for p in points}):
        sel = np.array([p["profile"] == prof for p in points])
        ax.scatter(x[sel], y[sel], label=prof, alpha=0.8)
        for xi, yi, p in zip(x[sel], y[sel], [q for q, s in zip(points, sel) if s]):
            ax.annotate(f"{p['bits']}b", (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
    order = np.argsort(x[front])
    ax.step(x[front][order], y[front][order], where="post", color="black", lw=1.5, label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(quality_name)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"{quality_name} vs {axis}: non-dominated designs on the front")
    return _png(fig)
