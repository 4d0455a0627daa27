"""Report figures (matplotlib, object API on an Agg canvas -> PNG bytes; no global pyplot state).

Each function takes the flat point records of :mod:`cryoctl.report.data` and returns PNG bytes, or
None when the records hold no data for that figure.

Every profile keeps one colour, marker and line style in all figures (assigned in sorted-name order
over the profiles of the report), markers are open and shrink with the profile's index so that
series lying exactly on top of each other (e.g. ``ideal`` and ``awg_16bit_rt`` in cost) stay visible.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cryoctl.report.data import accuracy_records, curves, series_label
from cryoctl.report.stats import accuracy_interval
from cryoctl.report.summary import series_points, x_field

_DPI = 96
_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f"]
_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h"]
_LINESTYLES = ["-", "--", "-.", (0, (5, 1.5)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1.2))]
#: Display names of the QNN datasets (titles and axis labels); unknown names are title-cased.
_DATASET_NAMES = {"iris": "Iris", "breast_cancer": "Breast cancer", "digits": "Digits", "moons": "Moons",
                  "mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
#: Task parameters shown elsewhere (panel title, the provider's own curve) or implied by the provider.
_TASK_KEYS_NOT_IN_LEGEND = {"dataset", "ansatz", "provider", "engine", "n_noise_draws"}


def dataset_name(ds: Any) -> str:
    return _DATASET_NAMES.get(str(ds), str(ds).replace("_", " ").capitalize())


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
            if lab not in seen and not lab.startswith("_"):
                seen.add(lab)
                handles.append(h)
                labels.append(lab)
    if handles:
        # columns that fit the figure width: ~ 0.55 * fontsize points per character, plus the marker
        width_pt = fig.get_figwidth() * 72 * 0.95
        per_col = (max(len(lab) for lab in labels) + 6) * 0.55 * fontsize
        ncols = int(max(1, min(3, len(labels), width_pt // per_col)))
        fig.legend(handles, labels, loc="outside lower center", ncols=ncols, fontsize=fontsize, frameon=False)


def _figure(panels: int, n_series: int, width: float = 6.0, height: float = 4.0, extra_rows: int = 0) -> Figure:
    """Panels side by side, with room below for the legend (up to one row per series)."""
    rows = (n_series if panels == 1 else -(-n_series // 2)) + extra_rows
    return Figure(figsize=(max(width * panels, 9.0), height + 0.22 * rows), layout="constrained")


def profile_styles(names) -> dict[str, dict[str, Any]]:
    """Deterministic matplotlib style per profile name: colour, open marker (larger for earlier names, so a
    later series drawn on top leaves the earlier one's outline visible) and line style."""
    out = {}
    for i, n in enumerate(sorted(set(names))):
        out[n] = {"color": _COLORS[i % len(_COLORS)], "marker": _MARKERS[i % len(_MARKERS)],
                  "linestyle": _LINESTYLES[i % len(_LINESTYLES)], "markersize": max(4.0, 9.5 - 1.1 * i),
                  "markerfacecolor": "none", "markeredgewidth": 1.4, "alpha": 0.85}
    return out


def _styles_of(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return profile_styles(r["profile"] for r in records)


def _plot_curve(ax, c: dict[str, np.ndarray], style: dict[str, Any], label: str, log: bool = False,
                scale: float = 1.0, variant: int = 0) -> None:
    st = dict(style)
    if variant:  # another override variant of the same profile: same colour and marker, another dash
        st["linestyle"] = _LINESTYLES[(_LINESTYLES.index(style["linestyle"]) + variant) % len(_LINESTYLES)]
    y, e = c["mean"] * scale, c["std"] * scale
    if log:
        ax.plot(c["bits"], y, label=label, **st)
    else:
        ax.errorbar(c["bits"], y, yerr=np.where(c["n"] > 1, e, 0.0), capsize=3, label=label, **st)


def _profile_curves(ax, recs: list[dict[str, Any]], y: str, styles: dict[str, dict[str, Any]], log: bool = False,
                    scale: float = 1.0, label=lambda lab, r: lab) -> int:
    """One curve per series (profile + varying overrides/task params) in the profile's style; returns #curves."""
    by_prof: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        by_prof[r["profile"]].append(r)
    n = 0
    for prof in sorted(by_prof):
        first = {series_label(r): r for r in by_prof[prof]}
        for variant, (key, c) in enumerate(curves(by_prof[prof], y).items()):
            if log:  # log axes cannot show zeros (e.g. no leakage at all): clip at a floor
                c = {**c, "mean": np.maximum(c["mean"], 1e-16)}
            _plot_curve(ax, c, styles[prof], label(key[-1], first[key[-1]]), log=log, scale=scale, variant=variant)
            n += 1
    if log:
        ax.set_yscale("log")
    return n


def _n_series(recs: list[dict[str, Any]]) -> int:
    return len({series_label(r) for r in recs})


def _axes_common(ax) -> None:
    ax.set_xlabel("DAC bits")
    ax.grid(True, alpha=0.3)
    ax.xaxis.get_major_locator().set_params(integer=True)


def _task_suffix(recs: list[dict[str, Any]]) -> dict[str, str]:
    """Per record key: the task parameters that vary among ``recs`` (minus those named elsewhere)."""
    tasks = {r["key"]: json.loads(r["task"]) for r in recs}
    keys = {k for t in tasks.values() for k in t if k not in _TASK_KEYS_NOT_IN_LEGEND}
    vary = sorted(k for k in keys if len({json.dumps(t.get(k)) for t in tasks.values()}) > 1)
    return {key: ", ".join(f"{k}={t[k]}" for k in vary if t.get(k) is not None) for key, t in tasks.items()}


def _abstract_curves(recs: list[dict[str, Any]], suffix: dict[str, str]):
    """The abstract-quantizer (provider=ideal) accuracy vs bits, once for all profiles when it is.

    It depends on the bits, seed and task only, so the records of different profiles at the same
    (task, bits, seed) must agree; then one curve per task variant is returned as {label: curve}. If
    they do not agree (e.g. the profiles differ in qubit count) one curve per profile is returned.
    A curve is {"bits", "mean", "lo", "hi", "n"} with the 95 % interval of
    :func:`cryoctl.report.stats.accuracy_interval` (seeds and test-set size).
    """
    at: dict[tuple, list[float]] = defaultdict(list)
    n_test: dict[tuple, set[int]] = defaultdict(set)
    for r in recs:
        at[(suffix[r["key"]], int(r["bits"]), r["seed"])].append(float(r["result.accuracy"]))
        if isinstance(r.get("result.n_test"), (int, float)):
            n_test[(suffix[r["key"]], int(r["bits"]))].add(int(r["result.n_test"]))
    shared = all(np.ptp(v) <= 1e-12 for v in at.values())

    def curve(by_bits: dict[int, list[float]], nt: dict[int, set[int]]) -> dict[str, np.ndarray]:
        bits = sorted(by_bits)
        cis = [accuracy_interval(by_bits[b], min(nt[b]) if nt.get(b) else None) for b in bits]
        return {"bits": np.array(bits), "mean": np.array([c["mean"] for c in cis]),
                "lo": np.array([c["lo"] for c in cis]), "hi": np.array([c["hi"] for c in cis]),
                "n": np.array([c["n_seeds"] for c in cis])}

    out = {}
    if shared:
        by_variant: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        for (sfx, b, s), v in at.items():
            by_variant[sfx][b].append(v[0])
        for sfx in sorted(by_variant):
            nt = {b: n_test.get((sfx, b), set()) for b in by_variant[sfx]}
            out["abstract b-bit quantizer" + (f" · {sfx}" if sfx else "")] = curve(by_variant[sfx], nt)
    else:
        for (label, _, _), pts in series_points(recs, "result.accuracy", accuracy=True).items():
            out[f"abstract b-bit quantizer ({label})"] = {
                "bits": np.array([p["x"] for p in pts]), "mean": np.array([p["mean"] for p in pts]),
                "lo": np.array([p["lo"] for p in pts]), "hi": np.array([p["hi"] for p in pts]),
                "n": np.array([p["n_seeds"] for p in pts])}
    return out


def accuracy_vs_bits(records: list[dict[str, Any]], margin_pts: float | None = None) -> bytes | None:
    """PNG of :func:`accuracy_figure` (None without accuracy records)."""
    fig = accuracy_figure(records, margin_pts)
    return None if fig is None else _png(fig)


def accuracy_figure(records: list[dict[str, Any]], margin_pts: float | None = None) -> Figure | None:
    """Elbow curves: test accuracy vs DAC bits, one panel per (task kind, dataset, model ansatz).

    Per profile one curve of the model run on the profile's emulated hardware (the ``ideal`` profile grey
    and dashed: a reference); the abstract b-bit quantizer (``provider: ideal``, profile-independent) as one
    black dashed curve; the float model's accuracy (infinite precision, ``result.float_accuracy`` if the
    task reports it) as a dotted line and, with ``margin_pts``, float minus the margin dash-dotted. Error
    bars: 95 % intervals of :func:`cryoctl.report.stats.accuracy_interval` (seeds and test-set size).
    """
    recs = accuracy_records(records)
    if not recs:
        return None
    styles = _styles_of(records)
    panels: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        panels[(r["kind"], str(r.get("task.dataset") or ""), str(r.get("task.ansatz") or ""))].append(r)
    keys = sorted(panels)
    kinds_per = defaultdict(set)
    for kind, ds, an in keys:
        kinds_per[(ds, an)].add(kind)
    n_series = max(_n_series([r for r in rs if r.get("task.provider") != "ideal"]) + 2 for rs in panels.values())
    fig = _figure(len(keys), n_series)
    for i, pk in enumerate(keys):
        kind, ds, ansatz = pk
        rs = panels[pk]
        ax = fig.add_subplot(1, len(keys), i + 1)
        hw = [r for r in rs if r.get("task.provider") != "ideal"]
        ab = [r for r in rs if r.get("task.provider") == "ideal"]
        sfx_hw, sfx_ab = _task_suffix(hw), _task_suffix(ab)

        def hw_label(lab, r, sfx=sfx_hw):
            prof_part = lab.split(" · ")[0]  # profile (+ varying overrides), without the raw task params
            where = " (emulated hardware)" if r.get("task.provider") == "hardware" else ""
            return prof_part + where + (f" · {sfx[r['key']]}" if sfx[r["key"]] else "")

        # one curve per series (profile + varied overrides) and task variant; error bars: 95 % CI
        first = {r["task"]: r for r in hw}
        variants: dict[str, int] = defaultdict(int)
        for (lab, _, task), pts in series_points(hw, "result.accuracy", accuracy=True).items():
            prof = pts[0]["profile"]
            st = dict(styles[prof])
            if variants[prof]:
                st["linestyle"] = _LINESTYLES[(_LINESTYLES.index(st["linestyle"]) + variants[prof]) % len(_LINESTYLES)]
            variants[prof] += 1
            if pts[0]["reference"]:
                st.update(color="0.45", linestyle="--")
            m = np.array([p["mean"] for p in pts])
            yerr = np.array([[p["mean"] - p["lo"] for p in pts], [p["hi"] - p["mean"] for p in pts]])
            name = hw_label(lab, first[task]) + (" (reference)" if pts[0]["reference"] else "")
            ax.errorbar([p["x"] for p in pts], m, yerr=np.maximum(yerr, 0.0), capsize=3, label=name, **st)
        for j, (lab, c) in enumerate(_abstract_curves(ab, sfx_ab).items()):
            ax.errorbar(c["bits"], c["mean"], yerr=np.maximum([c["mean"] - c["lo"], c["hi"] - c["mean"]], 0.0),
                        capsize=3, color="black",
                        linestyle=_LINESTYLES[1 + j % (len(_LINESTYLES) - 1)], marker="x", markersize=6, lw=1.6,
                        label=lab, zorder=3)
        fl = {}  # float accuracy per (seed, task variant): the same trained model for every profile and bits
        for r in rs:
            v = r.get("result.float_accuracy")
            if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v):
                fl[(r["seed"], r.get("task.epochs"), r.get("task.model"))] = float(v)
        if fl:
            f = np.mean(list(fl.values()))
            ax.axhline(f, color="0.35", linestyle=":", lw=1.5, zorder=1,
                       label=f"float model, infinite precision: {f:.3f} (mean of {len(fl)} trained)")
            if margin_pts:
                ax.axhline(f - margin_pts / 100, color="0.35", linestyle="-.", lw=1.2, zorder=1,
                           label=f"float - {margin_pts:g} pt margin: {f - margin_pts / 100:.3f}")
        _axes_common(ax)
        name = dataset_name(ds) if ds else kind
        ax.set_ylabel(f"{name} test accuracy (fraction; seed mean, 95% CI)")
        extra = f" [{kind}]" if len(kinds_per[(ds, ansatz)]) > 1 or kind == "qnn_train" else ""
        ax.set_title(f"{name}{', ' + ansatz if ansatz else ''}: test accuracy vs DAC bits{extra}")
    _legend(fig)
    return fig


def _amplitude_note(recs: list[dict[str, Any]]) -> str:
    modes: dict[str, set[str]] = defaultdict(set)
    for r in recs:
        if r.get("amplitude_mode"):
            modes[r["amplitude_mode"]].add(r["profile"])
    if not modes:
        return ""
    what = {"scaled": "one N-bit code scales a high-resolution envelope",
            "sampled": "every envelope sample is an N-bit code"}
    lines = [f"{m} amplitude ({what.get(m, m)}): {', '.join(sorted(ps))}" for m, ps in sorted(modes.items())]
    if len(modes) > 1:
        lines[-1] += "  — modes differ: not like-for-like"
    return "\n".join(lines)


def _kind_vs_bits(records, kind: str, fields: list[tuple[str, str, bool]], title: str,
                  xlabel: str = "DAC bits") -> bytes | None:
    recs = [r for r in records if r["kind"] == kind]
    panels = [(f, lab, log) for f, lab, log in fields if curves(recs, f)]
    if not panels:
        return None
    styles = _styles_of(records)
    fig = _figure(len(panels), _n_series(recs))

    def label(lab, r):
        mode = r.get("amplitude_mode")
        return lab + (f" [{mode} amplitude]" if mode else "")

    for i, (f, lab, log) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        _profile_curves(ax, recs, f, styles, log=log, label=label)
        _axes_common(ax)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(lab)
    note = _amplitude_note(recs)
    fig.suptitle(title + (f"\n{note}" if note else ""), fontsize=11)
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
    """PNG of :func:`cost_figure` (None without cost records)."""
    fig = cost_figure(records)
    return None if fig is None else _png(fig)


def cost_figure(records: list[dict[str, Any]]) -> Figure | None:
    """DAC power per qubit in mW (with the thermal floors), its dynamic part, and area per qubit vs bits.

    Total power = (FoM·2^N·f_s + P_static) x channels per qubit; the dynamic panel shows FoM·2^N·f_s x
    channels alone, since the static part dominates and flattens the total. Thermal floor
    1.5·π·k_B·T·f_s·4^N per channel (x channels), one line style per (T, f_s).
    """
    recs = [r for r in records if r["kind"] == "cost"]
    if not curves(recs, "result.power_per_qubit_w"):
        return None
    styles = _styles_of(records)
    recs = [{**r, "result.dynamic_per_qubit_w": r["result.dynamic_power_w"] * r["result.channels_per_qubit"]}
            if isinstance(r.get("result.dynamic_power_w"), (int, float)) and isinstance(
                r.get("result.channels_per_qubit"), (int, float)) else r for r in recs]
    has_dyn = bool(curves(recs, "result.dynamic_per_qubit_w"))
    # the thermal floor depends only on (f_s, T): one line per distinct pair
    fl_recs = {(r["temperature_k"], r["sample_rate_gsps"], r["bits"]): r for r in recs
               if isinstance(r.get("result.thermal_floor_w"), (int, float))}  # none for an SFQ driver
    floor = curves([{**r, "profile": f"thermal floor, {t:g} K, {fs:g} GS/s", "overrides": "{}", "label_overrides": "{}",
                     "label_task": "", "result.floor_per_qubit_w": r["result.thermal_floor_w"] * r["result.channels_per_qubit"]}
                    for (t, fs, _), r in sorted(fl_recs.items())], "result.floor_per_qubit_w")
    n_prof = _n_series(recs)
    n_panels = 3 if has_dyn else 2
    fig = _figure(n_panels, n_prof + len(floor), width=5.2)
    ax = fig.add_subplot(1, n_panels, 1)
    _profile_curves(ax, recs, "result.power_per_qubit_w", styles, log=True, scale=1e3)
    floor_styles = [":", (0, (6, 2)), (0, (1, 3)), (0, (6, 2, 1, 2)), (0, (3, 3)), (0, (8, 2, 1, 2, 1, 2))]
    for j, (key, c) in enumerate(floor.items()):
        ax.plot(c["bits"], c["mean"] * 1e3, linestyle=floor_styles[j % len(floor_styles)],
                color=str(0.15 + 0.5 * j / max(1, len(floor) - 1)), lw=1.6, label=key[-1] + " (1.5πkT·f_s·4^N)")
    ax.set_ylabel("DAC power per qubit (mW), total")
    ax.set_title("total dissipated (static + dynamic) and thermal floors", fontsize=10)
    _axes_common(ax)
    if has_dyn:
        axd = fig.add_subplot(1, n_panels, 2)
        _profile_curves(axd, recs, "result.dynamic_per_qubit_w", styles, log=True, scale=1e3)
        axd.set_ylabel("dynamic DAC power per qubit (mW)")
        axd.set_title("dynamic part only, FoM·2^N·f_s (static removed)", fontsize=10)
        _axes_common(axd)
    ax2 = fig.add_subplot(1, n_panels, n_panels)
    _profile_curves(ax2, recs, "result.area_per_qubit_mm2", styles, log=True)
    ax2.set_ylabel("DAC area per qubit (mm²)")
    ax2.set_title("area (Pelgrom-matching sized unit sources)", fontsize=10)
    _axes_common(ax2)
    _legend(fig)
    fig.suptitle("Cost vs DAC resolution (power = FoM·2^N·f_s + static per channel)")
    return fig


def _quality_axis_label(points: list[dict[str, Any]], quality_name: str) -> str:
    if quality_name != "accuracy":
        return quality_name
    ds = {json.loads(p["task"]).get("dataset") for p in points if p.get("task")}
    ds.discard(None)
    name = dataset_name(next(iter(ds))) + " test accuracy" if len(ds) == 1 else "test accuracy"
    return f"{name} (fraction, on the profile's hardware)"


def pareto(points: list[dict[str, Any]], quality_name: str, axis: str, profiles=None,
           references: dict[str, float] | None = None) -> bytes | None:
    """PNG of :func:`pareto_figure` (None without design points)."""
    fig = pareto_figure(points, quality_name, axis, profiles, references)
    return None if fig is None else _png(fig)


def pareto_figure(points: list[dict[str, Any]], quality_name: str, axis: str, profiles=None,
                  references: dict[str, float] | None = None) -> Figure | None:
    """Quality vs wall-plug power (``axis="power"``) or area per qubit, every design a marker with its
    95 % interval, the Pareto front a step line.

    Points flagged ``reference`` (the ``ideal`` profile) are not designs: they are left out, and
    ``references`` ({label: quality}) are drawn as horizontal lines instead. Only the points on the
    front are labelled (profile and bits), with staggered offsets, so labels of near-coincident designs
    do not overprint. ``profiles``: names to assign the styles from (the report's full profile list, so
    colours match the other figures); default those of ``points``.
    """
    points = [p for p in points if not p.get("reference")]
    if not points:
        return None
    key = {"power": "wall_plug_per_qubit_w", "area": "area_per_qubit_mm2"}[axis]
    xlabel = {"power": "wall-plug power per qubit (mW; stage dissipation x cryocooler W/W)",
              "area": "DAC area per qubit (mm²)"}[axis]
    scale = 1e3 if axis == "power" else 1.0
    styles = profile_styles(list(profiles or []) + [p["profile"] for p in points])
    # float: a design without the figure (None: an SFQ driver's area) is NaN, not drawn and on no front
    x = np.array([p.get(key, p.get("power_per_qubit_w")) for p in points], dtype=float) * scale
    y = np.array([p["quality"] for p in points])
    lo = np.array([p.get("quality_lo", p["quality"]) for p in points])
    hi = np.array([p.get("quality_hi", p["quality"]) for p in points])
    front = np.array([p[f"pareto_{axis}"] for p in points])
    tasks = sorted({p["task"] for p in points})
    # legend names a task variant by its parameters that differ between the plotted tasks
    tdocs = {t: json.loads(t) for t in tasks}
    tvary = sorted(k for k in {k for d in tdocs.values() for k in d} - {"provider", "engine", "n_noise_draws", "model_sha"}
                   if len({json.dumps(d.get(k)) for d in tdocs.values()}) > 1)
    task_names = {t: ", ".join(f"{k}={d[k]}" for k in tvary if d.get(k) is not None) for t, d in tdocs.items()}
    fig = Figure(figsize=(10.0, 5.6), layout="constrained", dpi=_DPI)
    ax = fig.add_subplot(1, 1, 1)
    order = np.argsort(x[front], kind="stable")
    ax.step(x[front][order], y[front][order], where="post", color="black", lw=1.2, alpha=0.6, label="Pareto front",
            zorder=1)
    for prof in sorted({p["profile"] for p in points}):
        st = styles[prof]
        for ti, task in enumerate(tasks):
            sel = np.array([p["profile"] == prof and p["task"] == task for p in points])
            if not sel.any():
                continue
            lab = prof + (f" · {task_names[task]}" if task_names[task] else "")
            ax.errorbar(x[sel], y[sel], yerr=np.maximum([y[sel] - lo[sel], hi[sel] - y[sel]], 0.0), linestyle="none",
                        marker=st["marker"], color=st["color"], markersize=st["markersize"],
                        markeredgewidth=st["markeredgewidth"], alpha=st["alpha"], elinewidth=0.8, capsize=2,
                        markerfacecolor=st["color"] if ti % 2 else "none", label=lab, zorder=2)
    for j, (name, yv) in enumerate(sorted((references or {}).items())):
        ax.axhline(yv, color="0.45" if "ideal" in name else "0.2", linestyle=["--", ":", "-."][j % 3], lw=1.2,
                   label=name, zorder=1)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(_quality_axis_label(points, quality_name) + "; seed mean, 95% CI")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"{quality_name} vs {'wall-plug power' if axis == 'power' else axis}: only designs on the Pareto "
                 "front are labelled (profile, DAC bits)", fontsize=10)
    idx = np.flatnonzero(front)[order]
    _place_labels(fig, ax, x, y, idx, [f"{p['profile']} {p['bits']}b" for p in points],
                  [styles[p["profile"]]["color"] for p in points])
    return fig


def metric_vs_bits(records: list[dict[str, Any]], kind: str, fields: list[tuple[str, str, bool]], title: str,
                   preferred_x: str = "bits") -> bytes | None:
    """PNG: metrics of task ``kind`` vs its resolution axis (the flux DAC's bits for CZ when those are
    swept, see :func:`cryoctl.report.summary.x_field`); None without such records."""
    recs = [r for r in records if r["kind"] == kind]
    if not recs:
        return None
    x = x_field(recs, preferred_x)
    if x != "bits":  # re-key the curves onto the swept axis; its override is the x axis, not a legend entry
        recs = [{**r, "bits": r[x], "label_overrides": json.dumps(
            {k: v for k, v in json.loads(r.get("label_overrides", r["overrides"])).items() if k != "flux.dac.bits"})}
            for r in recs]
    return _kind_vs_bits(recs + [r for r in records if r["kind"] != kind], kind, fields, title,
                         xlabel="flux DAC bits" if x == "flux_bits" else "DAC bits")


def cz_vs_bits(records: list[dict[str, Any]]) -> bytes | None:
    """CZ infidelity, leakage and conditional-phase error vs the flux DAC's bits (when swept)."""
    return metric_vs_bits(records, "cz", [
        ("result.cz_infidelity", "CZ 1 - F", True),
        ("result.cz_leakage", "CZ leakage", True),
        ("result.cond_phase_error_rad", "conditional-phase error (rad)", True),
    ], "Two-qubit CZ gate vs flux DAC resolution", preferred_x="flux_bits")


def rb_vs_bits(records: list[dict[str, Any]]) -> bytes | None:
    """Randomized benchmarking: error per Clifford, 1 - F of the Cliffords, leakage per Clifford vs bits."""
    return metric_vs_bits(records, "rb", [
        ("result.epc", "error per Clifford (RB fit)", True),
        ("result.clifford_infidelity", "1 - F of the realized Cliffords", True),
        ("result.leakage_per_clifford", "leakage per Clifford", True),
    ], "Randomized benchmarking vs DAC resolution")


def _place_labels(fig: Figure, ax, x: np.ndarray, y: np.ndarray, idx: np.ndarray, texts: list[str], colors: list[str],
                  fontsize: float = 7.5) -> None:
    """Label points ``idx`` without overprinting: greedy placement in display space.

    The layout is fixed first; then each label (points at the same spot share one label) takes the first
    of a fixed list of offsets around its point whose estimated text box (0.6·fontsize per character)
    stays inside the axes and hits no placed label and no marker. Deterministic (no randomness).
    """
    if idx.size == 0:
        return
    FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    to_pt = 72.0 / fig.dpi
    xy = ax.transData.transform(np.c_[x, y]) * to_pt  # every marker, in points
    bb = ax.get_window_extent()
    ax_box = (bb.x0 * to_pt, bb.y0 * to_pt, bb.x1 * to_pt, bb.y1 * to_pt)
    groups: list[list[int]] = []
    for i in idx:
        for g in groups:
            if np.all(np.abs(xy[g[0]] - xy[i]) < 3.0):
                g.append(int(i))
                break
        else:
            groups.append([int(i)])
    cands = [(dx, dy) for r in (6, 17, 29, 41) for dx, dy in ((r + 2, r - 2), (r + 2, -r - 4), (-r - 2, r - 2),
                                                              (-r - 2, -r - 4))] + [(9, -4), (-9, -4)]
    h = 1.25 * fontsize
    placed: list[tuple[float, float, float, float]] = []
    markers = [(px - 4.5, py - 4.5, px + 4.5, py + 4.5) for px, py in xy]

    def hits(b, boxes):
        return sum(b[0] < o[2] and o[0] < b[2] and b[1] < o[3] and o[1] < b[3] for o in boxes)

    for g in groups:
        text = " / ".join(dict.fromkeys(texts[i] for i in g))
        w = 0.6 * fontsize * len(text)
        px, py = xy[g[0]]
        best = None
        for dx, dy in cands:
            x0 = px + dx if dx >= 0 else px + dx - w
            y0 = py + dy
            b = (x0, y0, x0 + w, y0 + h)
            inside = b[0] >= ax_box[0] and b[2] <= ax_box[2] and b[1] >= ax_box[1] and b[3] <= ax_box[3]
            score = hits(b, placed) * 10 + hits(b, markers) + (0 if inside else 100)
            if best is None or score < best[0]:
                best = (score, dx, dy, b)
            if score == 0:
                break
        _, dx, dy, b = best
        placed.append(b)
        ann = ax.annotate(text, (x[g[0]], y[g[0]]), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                          ha="left" if dx >= 0 else "right", va="bottom", color=colors[g[0]],
                          arrowprops={"arrowstyle": "-", "color": "0.55", "lw": 0.6, "shrinkA": 0, "shrinkB": 3})
        ann.set_in_layout(False)  # keep the axes where the placement was computed
