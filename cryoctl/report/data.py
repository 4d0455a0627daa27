"""Result tables for reports: rows of a study store flattened into one record per point.

Every record carries the point's identity (study, profile, overrides, seed, task kind and parameters),
the DAC fields that explain it (bits, architecture, rate, mismatch sigma) and the scalar results of
its task. Power and area are joined in from :func:`cryoctl.cost.cost_report` of the point's own
resolved profile (stored with the point), so a QNN or gate point can be placed on the power/area
axes even if the study ran no ``cost`` task.

Pareto front (cost to minimise, quality to maximise): a point is on the front if no other point has
cost <= and quality >= with at least one strict (see :func:`pareto_front`). Reference profiles
(``ideal``, a perfect DAC) are drawn as reference lines, never as designs on a front. SFQ-controlled
profiles are designs like the DAC ones, on the same fronts: their power is the SFQ driver's
(:func:`cryoctl.cost.cost_report` of an SFQ profile), ``bits`` the width of their gate table's control word,
``control`` = "sfq"; they have no area model, so they are on no area front.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from cryoctl.cost import cost_report
from cryoctl.profile import HardwareProfile
from cryoctl.report.stats import WALL_PLUG_W_PER_W_4K, accuracy_interval, seed_interval, wall_plug_factor


def accuracy_records(records: list[dict[str, Any]], hardware_only: bool = False) -> list[dict[str, Any]]:
    """Records that carry a numeric ``result.accuracy`` (QNN inference/training points).

    ``hardware_only`` keeps the points run on the profile's emulated hardware: the abstract b-bit
    quantizer (``provider: ideal``) does not depend on the profile, so its accuracy must not be
    credited to a profile's power, area or summary row.
    """
    return [r for r in records if isinstance(r.get("result.accuracy"), (int, float))
            and not isinstance(r.get("result.accuracy"), bool)
            and not (hardware_only and r.get("task.provider") == "ideal")]


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> dotted keys; keeps scalars (numbers, strings, bools, None), drops lists."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(obj, (int, float, str, bool)) or obj is None:
        out[prefix[:-1]] = obj
    return out


def _cost_of(profile_doc: dict[str, Any], cache: dict[str, dict[str, Any]], phash: str) -> dict[str, Any]:
    if phash not in cache:
        cache[phash] = cost_report(HardwareProfile.model_validate(profile_doc))
    return cache[phash]


def point_records(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat record per finished point (see module docstring)."""
    cost_cache: dict[str, dict[str, Any]] = {}
    records = []
    for r in rows:
        if r["status"] != "done" or r["spec"].get("profile") is None:
            continue
        spec, prof = r["spec"], r["spec"]["profile"]
        dac = prof["dac"]
        cost = _cost_of(prof, cost_cache, spec["profile_hash"])
        task = {k: v for k, v in spec["task"].items() if k != "kind"}
        rec = {
            "key": r["key"],
            "study": r["study"],
            "kind": r["kind"],
            "profile": r["profile"],
            "seed": r["seed"],
            "overrides": json.dumps(spec["overrides"], sort_keys=True),
            "task": json.dumps(task, sort_keys=True),
            "profile_hash": spec["profile_hash"],
            # an SFQ design (cost_report's control "sfq"): its control word's width, the driver and its clock
            "control": cost.get("control", "dac"),
            "bits": cost["bits"] if cost.get("control") == "sfq" else dac["bits"],
            "architecture": f"sfq-{cost['family']}" if cost.get("control") == "sfq" else dac["architecture"],
            "sample_rate_gsps": cost["clock_ghz"] if cost.get("control") == "sfq" else dac["sample_rate_gsps"],
            "unit_mismatch_sigma": dac["unit_mismatch_sigma"],
            "temperature_k": prof["cost"]["temperature_k"],
            "amplitude_mode": prof.get("pulse", {}).get("amplitude_mode"),
            # the flux DAC's resolution (two-qubit CZ points are swept over it), None without a flux line
            "flux_bits": ((prof.get("flux") or {}).get("dac") or {}).get("bits"),
            "power_per_qubit_w": cost["power_per_qubit_w"],
            "area_per_qubit_mm2": cost["area_per_qubit_mm2"],
            "qubits_that_fit": cost["qubits_that_fit"],
            "elapsed_s": r["elapsed_s"],
        }
        for k, v in task.items():
            if isinstance(v, (int, float, str, bool)) or v is None:
                rec[f"task.{k}"] = v
        for k, v in flatten(r["result"] or {}).items():
            rec.setdefault(f"result.{k}", v)
        records.append(rec)
    # Legends name only the overrides that differ between points (a `set:` applied to all is noise).
    ovs = [json.loads(r["overrides"]) for r in records]
    keys = {k for o in ovs for k in o}
    varying = {k for k in keys if len({json.dumps(o.get(k, "<unset>")) for o in ovs}) > 1}
    # A key zipped with dac.bits (one value per resolution) adds nothing to a curve over bits.
    for k in sorted(varying - {"dac.bits"}):
        per_bits: dict[int, set[str]] = defaultdict(set)
        for rec, o in zip(records, ovs):
            per_bits[rec["bits"]].add(json.dumps(o.get(k, "<unset>")))
        if all(len(v) == 1 for v in per_bits.values()):
            varying.discard(k)
    for rec, o in zip(records, ovs):
        rec["label_overrides"] = json.dumps({k: v for k, v in o.items() if k in varying}, sort_keys=True)
    # ... and the task parameters that differ between points of the same kind (dataset has its own panel).
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        by_kind[rec["kind"]].append(rec)
    for recs in by_kind.values():
        tasks = [json.loads(r["task"]) for r in recs]
        tkeys = {k for t in tasks for k in t if k != "dataset"}
        tvary = sorted(k for k in tkeys if len({json.dumps(t.get(k)) for t in tasks}) > 1)
        for rec, t in zip(recs, tasks):
            rec["label_task"] = ", ".join(f"{k}={t[k]}" for k in tvary if t.get(k) is not None)
    return records


def short_key(key: str) -> str:
    """Legend name of an override key: its last part (``dac.bits`` -> ``bits``), kept apart from the XY
    DAC's for the flux line (``flux.dac.bits`` -> ``flux_bits``)."""
    parts = key.split(".")
    return ("flux_" if parts[0] == "flux" and len(parts) > 1 else "") + parts[-1]


def series_label(rec: dict[str, Any], exclude: tuple[str, ...] = ("dac.bits",)) -> str:
    """Legend label of a curve: profile plus the overrides that are not on the x axis."""
    ov = {k: v for k, v in json.loads(rec.get("label_overrides", rec["overrides"])).items() if k not in exclude}
    extra = ", ".join(f"{short_key(k)}={v}" for k, v in ov.items())
    label = rec["profile"] + (f" ({extra})" if extra else "")
    return label + (f" · {rec['label_task']}" if rec.get("label_task") else "")


def curves(records: list[dict[str, Any]], y: str, group: tuple[str, ...] = ()) -> dict[tuple, dict[str, np.ndarray]]:
    """Mean and std over seeds of ``y`` vs bits, one curve per (group fields..., series label).

    Returns {(group values..., label): {"bits", "mean", "std", "n"}}.
    """
    acc: dict[tuple, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for rec in records:
        v = rec.get(y)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            continue
        key = tuple(rec.get(g) for g in group) + (series_label(rec),)
        acc[key][int(rec["bits"])].append(float(v))
    out = {}
    for key, by_bits in sorted(acc.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        bits = np.array(sorted(by_bits))
        vals = [np.asarray(by_bits[b]) for b in bits]
        out[key] = {
            "bits": bits,
            "mean": np.array([v.mean() for v in vals]),
            "std": np.array([v.std() for v in vals]),
            "n": np.array([v.size for v in vals]),
        }
    return out


def pareto_front(cost: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated points (minimise ``cost``, maximise ``quality``).

    Point i is dominated iff some j has (c_j < c_i and q_j >= q_i) or (c_j == c_i and q_j > q_i), so
    it is on the front iff q_i beats the best quality at every strictly lower cost and is the best
    at its own cost (exact duplicates are all on the front).
    """
    cost, quality = np.asarray(cost, dtype=float), np.asarray(quality, dtype=float)
    if cost.size == 0:
        return np.zeros(0, dtype=bool)
    levels, inv = np.unique(cost, return_inverse=True)  # sorted distinct costs
    best_at = np.full(levels.size, -np.inf)
    np.maximum.at(best_at, inv, quality)
    best_below = np.concatenate([[-np.inf], np.maximum.accumulate(best_at)[:-1]])
    return (quality > best_below[inv]) & (quality == best_at[inv])


_NOT_IN_LABEL = {"dataset", "ansatz", "provider", "engine", "n_noise_draws", "model_sha"}
#: Profiles that are references (a perfect DAC), drawn as a reference line and never as a design on a front.
REFERENCE_PROFILES = frozenset({"ideal"})


def is_reference(rec: dict[str, Any]) -> bool:
    return rec.get("profile") in REFERENCE_PROFILES


def _n_test(rs: list[dict[str, Any]]) -> int | None:
    n = {int(r["result.n_test"]) for r in rs if isinstance(r.get("result.n_test"), (int, float))
         and not isinstance(r.get("result.n_test"), bool)}
    return min(n) if n else None


def quality_points(records: list[dict[str, Any]], wall_plug_w_per_w: float = WALL_PLUG_W_PER_W_4K,
                   ) -> tuple[str, list[dict[str, Any]]]:
    """The designs to place on the power/area-vs-quality plots and the quality measure's name.

    Accuracy of QNN points on the profile's hardware (mean over seeds per resolved profile and task,
    with the interval of :func:`cryoctl.report.stats.accuracy_interval`) if any exist, else the mean
    realized-gate fidelity of gate points (seed t-interval); ("", []) if neither.

    Power is per qubit at the profile's stage (``power_per_qubit_w``) and at the wall
    (``wall_plug_per_qubit_w`` = stage power x :func:`wall_plug_factor`). Fronts (``pareto_power`` on
    wall-plug power, ``pareto_stage_power`` on the stage figure, ``pareto_area``) are computed over the
    designs only: points of a reference profile (``ideal``) carry ``reference: True`` and are on no front.
    """
    for field, name in (("result.accuracy", "accuracy"), ("result.fidelity_mean", "gate fidelity (mean over codes)")):
        sel = accuracy_records(records, hardware_only=True) if field == "result.accuracy" else [
            r for r in records if r["kind"] == "gates" and isinstance(r.get(field), (int, float))]
        if not sel:
            continue
        groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
        for r in sel:
            groups[(r["profile_hash"], r["profile"], r["kind"], r["task"])].append(r)
        # design label: profile (+ varied overrides other than bits, which has its own column), where it ran,
        # dataset/model and the task parameters that differ between the plotted tasks (not engine internals)
        tdocs = {g[3]: json.loads(g[3]) for g in groups}
        tvary = sorted(k for k in {k for d in tdocs.values() for k in d} - _NOT_IN_LABEL
                       if len({json.dumps(d.get(k)) for d in tdocs.values()}) > 1)
        pts = []
        for (_, prof, kind, task), rs in groups.items():
            first, t = rs[0], tdocs[task]
            what = [str(t[k]) for k in ("dataset", "ansatz") if t.get(k) is not None]
            what += [f"{k}={t[k]}" for k in tvary if t.get(k) is not None]
            where = " (emulated hardware)" if t.get("provider") == "hardware" else ""
            vals = [float(r[field]) for r in rs]
            if field == "result.accuracy":
                ci = accuracy_interval(vals, _n_test(rs))
            else:
                m, lo, hi = seed_interval(vals)
                ci = {"mean": m, "lo": lo, "hi": hi, "n_test": None}
            factor = wall_plug_factor(first["temperature_k"], wall_plug_w_per_w)
            pts.append({
                "profile": prof,
                "label": series_label({**first, "label_task": ""}) + where + (f" · {', '.join(what)}" if what else ""),
                "kind": kind, "task": task, "control": first.get("control", "dac"),
                "bits": first["bits"], "temperature_k": first["temperature_k"],
                "power_per_qubit_w": first["power_per_qubit_w"],
                "wall_plug_factor": factor, "wall_plug_per_qubit_w": first["power_per_qubit_w"] * factor,
                "area_per_qubit_mm2": first["area_per_qubit_mm2"],
                "quality": ci["mean"], "quality_lo": ci["lo"], "quality_hi": ci["hi"], "n_test": ci["n_test"],
                "seeds": len(rs), "reference": is_reference(first),
            })
        pts.sort(key=lambda p: (p["wall_plug_per_qubit_w"], -p["quality"], p["label"]))
        design = np.array([not p["reference"] for p in pts])
        q = np.array([p["quality"] for p in pts])
        for axis, key in (("power", "wall_plug_per_qubit_w"), ("stage_power", "power_per_qubit_w"),
                          ("area", "area_per_qubit_mm2")):
            # a design without the figure (an SFQ driver has no area model: None) is on no front of that axis
            x = np.array([np.nan if p[key] is None else p[key] for p in pts], dtype=float)
            has = design & np.isfinite(x)
            mask = np.zeros(len(pts), dtype=bool)
            mask[has] = pareto_front(x[has], q[has])
            for p, m in zip(pts, mask):
                p[f"pareto_{axis}"] = bool(m)
        return name, pts
    return "", []


def profile_table(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Side-by-side summary of every distinct resolved profile in the store."""
    by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by[(r["profile"], r["overrides"])].append(r)
    out = []
    for (prof, ov), rs in sorted(by.items(), key=lambda kv: (kv[0][0], kv[1][0]["bits"], kv[0][1])):
        first = rs[0]
        acc_recs = accuracy_records(rs, hardware_only=True)
        acc = [r["result.accuracy"] for r in acc_recs]
        ci = accuracy_interval(acc, _n_test(acc_recs)) if acc else {"lo": None, "hi": None}
        fid = [r["result.fidelity_mean"] for r in rs if r["kind"] == "gates" and isinstance(r.get("result.fidelity_mean"), (int, float))]
        out.append({
            "profile": prof, "overrides": ov,
            "varying": ", ".join(f"{short_key(k)}={v}" for k, v in json.loads(first["label_overrides"]).items()
                                 if k != "dac.bits"),
            "bits": first["bits"], "architecture": first["architecture"],
            "sample_rate_gsps": first["sample_rate_gsps"], "unit_mismatch_sigma": first["unit_mismatch_sigma"],
            "temperature_k": first["temperature_k"], "amplitude_mode": first.get("amplitude_mode"),
            "power_per_qubit_w": first["power_per_qubit_w"],
            "area_per_qubit_mm2": first["area_per_qubit_mm2"], "qubits_that_fit": first["qubits_that_fit"],
            "accuracy_mean": float(np.mean(acc)) if acc else None,
            "accuracy_lo": ci["lo"], "accuracy_hi": ci["hi"],
            "gate_fidelity_mean": float(np.mean(fid)) if fid else None,
            "points": len(rs),
        })
    return out


def load_records(store_path: str | Path, keys: set[str] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(records of finished points, rows of errored points) from a store, optionally only ``keys``."""
    from cryoctl.study import ResultStore

    with ResultStore(store_path, create=False) as st:
        rows = st.rows(keys=keys)
    errors = [{"key": r["key"], "study": r["study"], "kind": r["kind"], "profile": r["profile"], "seed": r["seed"],
               "overrides": json.dumps(r["spec"].get("overrides", {}), sort_keys=True),
               "error": (r["error"] or "").splitlines()[0] if r["error"] else "", "attempts": r["attempts"]}
              for r in rows if r["status"] == "error"]
    return point_records(rows), errors
