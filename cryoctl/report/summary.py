"""The report's answers: how many bits a design needs, and which design gives the most accuracy per mW.

Series. A *series* is one design family swept over a resolution axis: a profile (plus the overrides
that vary in the study other than the swept bits) running one task variant. :func:`series_points`
averages a metric over seeds at every resolution of every series, with its confidence interval
(:mod:`cryoctl.report.stats`).

Minimum bits. For a series with seed-mean values m(b) at the swept resolutions b, the minimum bits
meeting a criterion ok(b) is the smallest swept b such that ok holds at b *and at every larger swept
resolution* (one lucky low-bit point does not count; a curve that dips again above it is not "enough").
None if the largest swept resolution fails. Two criteria are reported for each question:

- QNN accuracy within ``margin`` points of the float model: ok(b) = m(b) >= a_ref - margin/100 (by the
  mean) and, stricter, lo(b) >= a_ref - margin/100 (by the lower end of the interval: "resolved by the
  data"). a_ref is the float (infinite-precision) model's test accuracy, mean over the trained models
  of the series' seeds; without one, the reference profile (``ideal``) at its largest swept resolution.
- Gate error below ``target``: ok(b) = m(b) < target (mean) and hi(b) < target (upper end of the seed
  interval). Single-qubit gates use 1 - F averaged over all codes (``infidelity_mean``); two-qubit
  CZ points ``cz_infidelity`` over the flux DAC's bits when those are swept; randomized benchmarking
  the error per Clifford ``epc``.

Ranking. Designs (QNN accuracy on the emulated hardware; reference profiles excluded) ranked by
accuracy per mW of wall-plug power per qubit, beside the same per mW at the stage; the cheapest design
within the margin is the one to read first.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.report.data import _NOT_IN_LABEL, accuracy_records, is_reference, series_label
from cryoctl.report.stats import accuracy_interval, seed_interval

#: Defaults of the report's two questions.
DEFAULT_ACCURACY_MARGIN_PTS = 1.0
DEFAULT_INFIDELITY_TARGET = 1e-3

#: Gate-error metrics answered by the second table: (kind, metric, what, preferred x field).
GATE_ERROR_METRICS = [
    ("gates", "result.infidelity_mean", "single-qubit gates: 1 - F, mean over codes", "bits"),
    ("cz", "result.cz_infidelity", "CZ: 1 - F (two-qubit)", "flux_bits"),
    ("rb", "result.epc", "randomized benchmarking: error per Clifford", "bits"),
]

_DATASET_NAMES = {"iris": "Iris", "breast_cancer": "Breast cancer", "digits": "Digits", "moons": "Moons",
                  "mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


def check_questions(accuracy_margin: float, infidelity_target: float) -> None:
    """User errors in the two settings raise CryoctlError naming the option."""
    if not (np.isfinite(accuracy_margin) and 0.0 <= accuracy_margin <= 100.0):
        raise CryoctlError(f"accuracy margin must be in [0, 100] points, got {accuracy_margin}",
                           field="--accuracy-margin")
    if not (np.isfinite(infidelity_target) and 0.0 < infidelity_target < 1.0):
        raise CryoctlError(f"infidelity target must be in (0, 1), got {infidelity_target}",
                           field="--infidelity-target")


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and bool(np.isfinite(v))


def x_field(records: list[dict[str, Any]], preferred: str = "bits") -> str:
    """The resolution axis of ``records``: ``preferred`` (e.g. the flux DAC's bits for CZ) when every
    record has it and it varies at least as much as the XY DAC's bits; else ``bits``."""
    if preferred == "bits" or not records or not all(_num(r.get(preferred)) for r in records):
        return "bits"
    n_pref = len({r[preferred] for r in records})
    return preferred if n_pref > 1 and n_pref >= len({r["bits"] for r in records}) else "bits"


def task_label(task_json: str, kind: str, vary: list[str]) -> str:
    t = json.loads(task_json)
    what = [_DATASET_NAMES.get(str(t["dataset"]), str(t["dataset"])) if t.get("dataset") else "",
            str(t.get("ansatz") or "")]
    what += [f"{k}={t[k]}" for k in vary if t.get(k) is not None]
    out = ", ".join(w for w in what if w)
    return f"{kind}: {out}" if out else kind


def series_points(records: list[dict[str, Any]], y: str, x: str = "bits",
                  accuracy: bool = False) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Seed means of ``y`` over ``x`` per series.

    Returns {(series label, kind, task json): [point per x, ascending]}; a point is {"x", "mean", "lo",
    "hi", "n_seeds", "n_test", "profile", "values", "reference", "float"} (``float``: the float model's
    accuracy per seed when the task reports it). Intervals: :func:`accuracy_interval` when ``accuracy``
    (seeds and test-set size), else the seed t-interval.
    """
    xkeys = {"bits": "dac.bits", "flux_bits": "flux.dac.bits"}
    acc: dict[tuple[str, str, str], dict[float, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if not _num(r.get(y)) or not _num(r.get(x)):
            continue
        label = series_label({**r, "label_task": ""}, exclude=("dac.bits", xkeys.get(x, x)))
        acc[(label, r["kind"], r["task"])][r[x]].append(r)
    out = {}
    for key in sorted(acc):
        pts = []
        for xv in sorted(acc[key]):
            rs = acc[key][xv]
            vals = [float(r[y]) for r in rs]
            if accuracy:
                n_test = {int(r["result.n_test"]) for r in rs if _num(r.get("result.n_test"))}
                ci = accuracy_interval(vals, min(n_test) if n_test else None)
            else:
                m, lo, hi = seed_interval(vals)
                ci = {"mean": m, "lo": lo, "hi": hi, "n_seeds": len(vals), "n_test": None}
            fl = {r["seed"]: float(r["result.float_accuracy"]) for r in rs if _num(r.get("result.float_accuracy"))}
            pts.append({"x": xv, "mean": ci["mean"], "lo": ci["lo"], "hi": ci["hi"], "n_seeds": len(vals),
                        "n_test": ci["n_test"], "profile": rs[0]["profile"], "values": vals,
                        "reference": is_reference(rs[0]), "float": fl,
                        "power_per_qubit_w": rs[0].get("power_per_qubit_w"),
                        "temperature_k": rs[0].get("temperature_k")})
        out[key] = pts
    return out


def min_bits(xs: list[float], ok: list[bool]) -> float | None:
    """Smallest x (ascending ``xs``) with ok at x and at every larger x; None if the largest fails."""
    best = None
    for xv, good in sorted(zip(xs, ok), reverse=True):
        if not good:
            break
        best = xv
    return best


def _task_vary(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    by_kind: dict[str, set[str]] = defaultdict(set)
    for r in records:
        by_kind[r["kind"]].add(r["task"])
    out = {}
    for kind, tasks in by_kind.items():
        docs = [json.loads(t) for t in tasks]
        keys = {k for d in docs for k in d} - _NOT_IN_LABEL
        out[kind] = sorted(k for k in keys if len({json.dumps(d.get(k)) for d in docs}) > 1)
    return out


def _abstract_key(task_json: str) -> str:
    t = json.loads(task_json)
    return json.dumps({k: v for k, v in t.items() if k not in ("engine", "n_noise_draws")}, sort_keys=True)


def accuracy_answers(records: list[dict[str, Any]], margin_pts: float = DEFAULT_ACCURACY_MARGIN_PTS,
                     ) -> list[dict[str, Any]]:
    """Per series (profile x QNN task): minimum bits keeping accuracy within ``margin_pts`` of float."""
    recs = accuracy_records(records)
    if not recs:
        return []
    vary = _task_vary(recs)
    series = series_points(recs, "result.accuracy", accuracy=True)
    # reference: ideal profile at its largest bits, per abstract task key (used when no float accuracy)
    ideal_ref: dict[str, tuple[float, float]] = {}
    for (label, kind, task), pts in series.items():
        if pts and pts[0]["reference"] and json.loads(task).get("provider") != "ideal":
            ideal_ref[_abstract_key(task)] = (pts[-1]["mean"], pts[-1]["x"])
    rows, seen_abstract = [], {}
    for (label, kind, task), pts in series.items():
        t = json.loads(task)
        abstract = t.get("provider") == "ideal"
        if abstract:  # profile-independent: one row per distinct curve
            sig = (_abstract_key(task), tuple((p["x"], round(p["mean"], 12)) for p in pts))
            if sig in seen_abstract:
                continue
            seen_abstract[sig] = label
        floats = {}
        for p in pts:
            floats.update(p["float"])
        if floats:
            ref, ref_src = float(np.mean(list(floats.values()))), f"float model (mean of {len(floats)} trained)"
        elif _abstract_key(task) in ideal_ref and not pts[0]["reference"]:
            ref, xb = ideal_ref[_abstract_key(task)]
            ref_src = f"ideal profile at {xb:g} bits"
        else:
            ref, ref_src = None, "none"
        row = {"design": "abstract b-bit angle quantizer (profile-independent)" if abstract else label,
               "profile": pts[0]["profile"], "task": task_label(task, kind, vary.get(kind, [])),
               "task_json": task, "kind": kind, "abstract": abstract, "reference": pts[0]["reference"] and not abstract,
               "reference_accuracy": ref, "reference_source": ref_src, "margin_pts": margin_pts,
               "bits_swept": f"{pts[0]['x']:g}..{pts[-1]['x']:g}", "max_bits": pts[-1]["x"],
               "min_bits": None, "min_bits_ci": None, "accuracy": None, "accuracy_lo": None, "accuracy_hi": None,
               "n_seeds": None, "n_test": None}
        if ref is not None:
            thr = ref - margin_pts / 100.0
            xs = [p["x"] for p in pts]
            row["threshold"] = thr
            row["min_bits"] = min_bits(xs, [p["mean"] >= thr - 1e-12 for p in pts])
            row["min_bits_ci"] = min_bits(xs, [p["lo"] >= thr - 1e-12 for p in pts])
            at = next((p for p in pts if p["x"] == row["min_bits"]), pts[-1])
            row.update(accuracy=at["mean"], accuracy_lo=at["lo"], accuracy_hi=at["hi"], n_seeds=at["n_seeds"],
                       n_test=at["n_test"], at_bits=at["x"])
        rows.append(row)
    rows.sort(key=lambda r: (r["task"], r["abstract"], r["reference"], r["design"]))
    return rows


def gate_answers(records: list[dict[str, Any]], target: float = DEFAULT_INFIDELITY_TARGET) -> list[dict[str, Any]]:
    """Per series and gate metric (single-qubit 1 - F, CZ 1 - F, RB error per Clifford): minimum bits
    with the seed-mean error below ``target`` (and with the upper end of its seed interval below)."""
    rows = []
    for kind, field, what, pref in GATE_ERROR_METRICS:
        recs = [r for r in records if r["kind"] == kind and _num(r.get(field))]
        if not recs:
            continue
        x = x_field(recs, pref)
        vary = _task_vary(recs)
        sfq = {r["profile"] for r in recs if r.get("control") == "sfq"}  # bits = the SFQ table's control word
        for (label, k, task), pts in series_points(recs, field, x=x).items():
            xs = [p["x"] for p in pts]
            mb = min_bits(xs, [p["mean"] < target for p in pts])
            at = next((p for p in pts if p["x"] == mb), pts[-1])
            rows.append({"design": label, "profile": pts[0]["profile"], "gate": what, "kind": kind,
                         "task": task_label(task, k, vary.get(k, [])),
                         "axis": "flux DAC bits" if x == "flux_bits" else
                         "SFQ control-word bits" if pts[0]["profile"] in sfq else "XY DAC bits",
                         "target": target, "bits_swept": f"{xs[0]:g}..{xs[-1]:g}",
                         "min_bits": mb, "min_bits_ci": min_bits(xs, [p["hi"] < target for p in pts]),
                         "error": at["mean"], "error_lo": at["lo"], "error_hi": at["hi"], "at_bits": at["x"],
                         "n_seeds": at["n_seeds"], "reference": pts[0]["reference"]})
    return rows


def accuracy_ranking(qpoints: list[dict[str, Any]], answers: list[dict[str, Any]],
                     margin_pts: float = DEFAULT_ACCURACY_MARGIN_PTS) -> list[dict[str, Any]]:
    """Designs (QNN accuracy points of :func:`~cryoctl.report.data.quality_points`, references excluded)
    by accuracy per wall-plug mW, best first; ``meets_margin`` against the float reference of the series."""
    refs = {}
    for a in answers:
        if not a["abstract"] and a["reference_accuracy"] is not None:
            refs[(a["profile"], a["task_json"])] = a["reference_accuracy"]
    vary: dict[str, list[str]] = defaultdict(list)
    docs = defaultdict(list)
    for p in qpoints:
        docs[p["kind"]].append(json.loads(p["task"]))
    for kind, ds in docs.items():
        keys = {k for d in ds for k in d} - _NOT_IN_LABEL
        vary[kind] = sorted(k for k in keys if len({json.dumps(d.get(k)) for d in ds}) > 1)
    rows = []
    for p in qpoints:
        if p["reference"]:
            continue
        tl = task_label(p["task"], p["kind"], vary[p["kind"]])
        ref = refs.get((p["profile"], p["task"]))
        wall_mw, stage_mw = p["wall_plug_per_qubit_w"] * 1e3, p["power_per_qubit_w"] * 1e3
        rows.append({**p, "task_label": tl,
                     "accuracy_per_wall_mw": p["quality"] / wall_mw if wall_mw > 0 else None,
                     "accuracy_per_stage_mw": p["quality"] / stage_mw if stage_mw > 0 else None,
                     "reference_accuracy": ref,
                     "meets_margin": None if ref is None else bool(p["quality"] >= ref - margin_pts / 100.0 - 1e-12)})
    rows.sort(key=lambda r: (-(r["accuracy_per_wall_mw"] or 0.0), r["label"], r["bits"]))
    for i, r in enumerate(rows):
        r["rank"] = i + 1
    return rows
