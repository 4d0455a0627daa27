"""The seed-study chapters: the three claims of the QNN papers, each with a verdict computed from the data.

A chapter per claim (DESIGN, "The science behind it"), each ending in one line "reproduced / not
reproduced, because ..." computed from the store's points, never written by hand:

(a) **Elbow** (``qnn_infer`` of float-trained models): models trained at infinite precision keep their
    accuracy on 6-bit quantizers; accuracy vs bits has an elbow at 3-5 bits. Per (dataset, ansatz,
    where it ran: abstract quantizer / emulated profile) and bits, the paired per-seed loss
    ``gap = float accuracy - accuracy`` (same seed, same test set) with its Student-t 95 % interval over
    seeds. "Kept at b bits": the interval's lower end is <= the margin (no loss larger than the margin is
    resolved). Elbow: the smallest swept bits from which on the seed-mean gap stays <= the margin.
    Reproduced when, on every pair, the 6-bit accuracy is kept and the elbow lies in 3..5 bits.
(b) **Deadlock** (``qnn_train``, trainer ``round``): training on the code grid stalls when the update is
    below half a step. With Adam |delta| <~ lr, so a code can move only if lr >= step / 2 = pi / 2^b,
    i.e. b >= b* = ceil(log2(pi / lr)). The map: bits x lr x optimizer -> fraction of parameter updates
    that moved a code (last epoch, seed mean) and accuracy. "Stalled": fewer than ``STALL_FRACTION`` of
    the updates moved. Reproduced when, for every Adam learning rate, every swept resolution below b*
    stalls and the largest swept resolution (if >= b* + 2) does not. On an emulated profile the meter
    counts the RX/RY drive-amplitude codes (the b-bit DAC grid); the RZ virtual-Z phase words have their
    own grid (2 pi / 2^phase_bits) and their moved fraction is shown beside it.
(c) **Stochastic training** (``qnn_train``): temperature-controlled updates make training work at 4-10
    bits, matching infinite precision. Reference: the ``float`` trainer at the largest swept bits (step
    2 pi / 2^b, ~1e-4 rad at 16 bits) on the same pair and seed. Per (pair, bits, trainer) the paired
    gap to it; "matches": the gap's lower end <= the margin. Reproduced when, at every swept bits in
    4..10, the best ``stochastic`` temperature matches on every pair. The moonshot line: at 4 bits, the
    best quantized trainer per pair (highest seed mean; a selection among trainers, so optimistic by
    construction), its gap to float, and the worst pair; met when the worst pair's mean gap is <= the
    margin; a table says how close each trainer gets on its own.
    (b) and (c) are computed per where the training ran -- the abstract quantizer and each emulated
    profile -- each with its own verdicts. On an emulated profile the reference is the ``float`` trainer
    on the same emulated hardware at its largest swept bits (its noise, leakage and readout stay, only
    the DAC resolution goes); the moonshot rows there also give the gap to float on exact gates.
(d) **Compilation** (points with both ``compile: native`` and ``zxzxz``): drive time on the critical path
    (2 pulses vs 1 per RX/RY), realized RX/RY infidelity, and the paired accuracy difference.

Accuracies are in points (percent). Every interval is 95 %; the test-set size is printed with it.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cryoctl.report.stats import accuracy_interval, fmt_cell, seed_interval

#: fewer than this fraction of parameter updates moving a code = stalled (gradient deadlock)
STALL_FRACTION = 0.01
#: a "keeps / matches float" verdict needs the data to exclude a loss larger than this (gap interval's upper end, pt);
#: a wider interval leaves the claim undecided (no loss resolved, but none excluded either)
RESOLVE_PTS = 5.0
#: the claims' numbers (DESIGN): kept at 6 bits, elbow 3-5 bits, stochastic works at 4-10 bits, moonshot at 4 bits
KEEP_BITS, ELBOW_RANGE, STOCHASTIC_RANGE, MOONSHOT_BITS = 6, (3, 5), (4, 10), 4
QUANTIZED_TRAINERS_EXCLUDED = ("float",)


# ---------------------------------------------------------------------------------------------- helpers
def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _compile(r: dict[str, Any]) -> str:
    return str(r.get("task.compile") or r.get("result.compile") or "native")


def _where(r: dict[str, Any]) -> str:
    w = "abstract quantizer" if r.get("task.provider") == "ideal" else f"{r['profile']} (emulated)"
    if r.get("task.quantize_inputs") is True:
        w += ", inputs quantized"
    return w


def _pair(r: dict[str, Any]) -> str:
    return f"{r.get('task.dataset')}/{r.get('task.ansatz')}"


def _trainer_label(r: dict[str, Any]) -> str:
    t = str(r.get("task.trainer"))
    if t == "stochastic":
        t += f" T={r.get('task.temperature'):g}"
        if r.get("task.schedule") == "exponential":
            t += " (exp)"
    if r.get("task.init") == "float":  # started from the float model rounded onto the grid (PTQ), then trained
        t += " from float"
    return t


def _n_test(rs: list[dict[str, Any]]) -> int | None:
    n = [int(r["result.n_test"]) for r in rs if _num(r.get("result.n_test"))]
    return min(n) if n else None


def gap_interval(ref: dict[Any, float], other: dict[Any, float]) -> dict[str, Any] | None:
    """Paired gap ref - other over the seeds both have, in points: {"mean", "lo", "hi", "n"} (t interval).

    Rounded to 1e-9 pt: accuracies are whole test samples, so a gap of exactly the margin (3 samples of 300
    = 1 pt) must compare equal to it, not 1 ulp above it."""
    seeds = sorted(set(ref) & set(other), key=str)
    if not seeds:
        return None
    d = [100.0 * (ref[s] - other[s]) for s in seeds]
    m, lo, hi = (round(float(v), 9) for v in seed_interval(d))
    return {"mean": m, "lo": lo, "hi": hi, "n": len(seeds)}


def _by_seed(rs: list[dict[str, Any]], field: str = "result.accuracy") -> dict[Any, float]:
    out: dict[Any, list[float]] = defaultdict(list)
    for r in rs:
        if _num(r.get(field)):
            out[r["seed"]].append(float(r[field]))
    return {s: float(np.mean(v)) for s, v in out.items()}


def _pts(g: dict[str, Any] | None) -> str:
    if g is None:
        return "–"
    return f"{g['mean']:+.1f} pt [{g['lo']:+.1f}, {g['hi']:+.1f}]"


def _acc_s(ci: dict[str, Any] | None) -> str:
    if ci is None:
        return "–"
    return f"{100 * ci['mean']:.1f} % [{100 * ci['lo']:.1f}, {100 * ci['hi']:.1f}]"


def _main_lr(rs: list[dict[str, Any]]) -> tuple[Any, Any]:
    """The (optimizer, lr) most points of the trainer chapter use (the deadlock map sweeps the others)."""
    count: dict[tuple, int] = defaultdict(int)
    for r in rs:
        count[(r.get("task.optimizer"), r.get("task.lr"))] += 1
    return max(count, key=lambda k: (count[k], str(k))) if count else (None, None)


def seed_records(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The QNN points the chapters read: {"infer", "train"} (finished, with a numeric accuracy)."""
    qnn = [r for r in records if r.get("kind") in ("qnn_infer", "qnn_train") and _num(r.get("result.accuracy"))]
    return {"infer": [r for r in qnn if r["kind"] == "qnn_infer"], "train": [r for r in qnn if r["kind"] == "qnn_train"]}


def has_seed_points(records: list[dict[str, Any]]) -> bool:
    """Whether the store holds seed-study points: QNN points with >= 5 seeds of one setting (the chapters'
    minimum for a verdict), and float-trained inference at >= 2 resolutions or training with >= 2 trainers."""
    s = seed_records(records)
    seeds: dict[tuple, set] = defaultdict(set)
    for r in s["infer"] + s["train"]:
        seeds[(r["kind"], r.get("task"), r["bits"])].add(r["seed"])
    if not any(len(v) >= 5 for v in seeds.values()):
        return False
    return (len({r["bits"] for r in s["infer"]}) >= 2
            or len({r.get("task.trainer") for r in s["train"]}) >= 2)


# ---------------------------------------------------------------------------------------------- (a) elbow
def elbow_chapter(records: list[dict[str, Any]], margin_pts: float = 1.0) -> dict[str, Any]:
    recs = [r for r in seed_records(records)["infer"] if _compile(r) == "native"
            and r.get("task.model", "train-float") == "train-float"]
    groups: dict[tuple, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for r in recs:
        groups[(_where(r), _pair(r))][int(r["bits"])].append(r)
    rows, curves = [], []
    for (where, pair), by_bits in sorted(groups.items()):
        pts = []
        for b in sorted(by_bits):
            rs = by_bits[b]
            gap = gap_interval(_by_seed(rs, "result.float_accuracy"), _by_seed(rs))
            acc = list(_by_seed(rs).values())
            fl = list(_by_seed(rs, "result.float_accuracy").values())
            ci = accuracy_interval(acc, _n_test(rs))
            pts.append({"bits": b, "gap": gap, "acc": ci, "float": float(np.mean(fl)) if fl else None,
                        "n_test": _n_test(rs)})
            rows.append({"where": where, "pair": pair, "bits": b, "accuracy": ci["mean"], "accuracy_lo": ci["lo"],
                         "accuracy_hi": ci["hi"], "float_accuracy": pts[-1]["float"],
                         "gap_pts": gap and gap["mean"], "gap_lo": gap and gap["lo"], "gap_hi": gap and gap["hi"],
                         "seeds": len(acc), "n_test": ci["n_test"]})
        ok = [p["gap"] is not None and p["gap"]["mean"] <= margin_pts for p in pts]
        elbow = next((p["bits"] for i, p in enumerate(pts) if all(ok[i:])), None)
        at6 = next((p for p in pts if p["bits"] == KEEP_BITS), None)
        kept6 = None if at6 is None or at6["gap"] is None else at6["gap"]["lo"] <= margin_pts
        below = next((p for p in pts if elbow is not None and p["bits"] == elbow - 1), None)
        resolved = bool(below and below["gap"] and below["gap"]["lo"] > margin_pts)
        curves.append({"where": where, "pair": pair, "points": pts, "elbow": elbow, "kept6": kept6,
                       "at6": at6, "elbow_resolved": resolved,
                       "seeds": max(len(_by_seed(v)) for v in by_bits.values())})
    verdicts = []
    for where in sorted({c["where"] for c in curves}):
        cs = [c for c in curves if c["where"] == where]
        verdicts.append(_elbow_verdict(where, cs, margin_pts))
    return {"curves": curves, "rows": rows, "verdicts": verdicts, "margin_pts": margin_pts}


def _elbow_verdict(where: str, cs: list[dict[str, Any]], margin: float) -> dict[str, Any]:
    lo, hi = ELBOW_RANGE
    seeds = min(c["seeds"] for c in cs)
    n_test = sorted({p["n_test"] for c in cs for p in c["points"] if p["n_test"]})
    tail = f" ({seeds} seeds, test sets of {', '.join(map(str, n_test)) or '?'} samples)"
    if seeds < 5:
        return {"where": where, "reproduced": None,
                "text": f"{where}: undecided, because only {seeds} seed(s) (need >= 5 for a verdict){tail}."}
    missing6 = [c["pair"] for c in cs if c["kept6"] is None]
    lost6 = [c for c in cs if c["kept6"] is False]
    off = [c for c in cs if c["elbow"] is None or not lo <= c["elbow"] <= hi]
    elbows = ", ".join(f"{c['pair']} {c['elbow'] if c['elbow'] is not None else 'none'}" for c in cs)
    if missing6:
        return {"where": where, "reproduced": None,
                "text": f"{where}: undecided, because {KEEP_BITS} bits were not swept on {', '.join(missing6)}{tail}."}
    if lost6:
        w = max(lost6, key=lambda c: c["at6"]["gap"]["mean"])
        return {"where": where, "reproduced": False,
                "text": f"{where}: not reproduced, because at {KEEP_BITS} bits {w['pair']} loses "
                        f"{_pts(w['at6']['gap'])} against float (loss beyond the {margin:g}-pt margin is resolved; "
                        f"{len(lost6)} of {len(cs)} pairs){tail}. Elbows: {elbows}."}
    wide = [c for c in cs if c["at6"]["gap"]["hi"] > RESOLVE_PTS]
    if wide:
        w = max(wide, key=lambda c: c["at6"]["gap"]["hi"])
        return {"where": where, "reproduced": None,
                "text": f"{where}: undecided, because no loss beyond the margin is resolved at {KEEP_BITS} bits but the "
                        f"interval is too wide to exclude one above {RESOLVE_PTS:g} pt ({w['pair']}: "
                        f"{_pts(w['at6']['gap'])}){tail}. Elbows: {elbows}."}
    if off:
        w = off[0]
        at = "not reached" if w["elbow"] is None else f"at {w['elbow']} bits"
        return {"where": where, "reproduced": False,
                "text": f"{where}: not reproduced, because the elbow of {w['pair']} is {at} (claim: {lo}-{hi}); "
                        f"{len(off)} of {len(cs)} pairs outside. {KEEP_BITS}-bit accuracy kept on every "
                        f"pair{tail}. Elbows: {elbows}."}
    return {"where": where, "reproduced": True,
            "text": f"{where}: reproduced: every pair keeps its float accuracy at {KEEP_BITS} bits (no loss beyond "
                    f"{margin:g} pt resolved) and the elbow lies in {lo}-{hi} bits{tail}. Elbows: {elbows}."}


# ---------------------------------------------------------------------------------------------- (b) deadlock
def predicted_stall_bits(lr: float) -> int:
    """b* = ceil(log2(pi / lr)): below it a round-to-nearest Adam step (|delta| <~ lr) cannot reach half a
    step 2 pi / 2^b, so no code moves."""
    return int(math.ceil(math.log2(math.pi / lr) - 1e-12))


def _where_order(where: str) -> tuple:
    """The abstract quantizer first, then the emulated profiles."""
    return (not where.startswith("abstract"), where)


def deadlock_chapter(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The deadlock map and its verdict, per where it ran (abstract quantizer, each emulated profile)."""
    recs = [r for r in seed_records(records)["train"] if r.get("task.trainer") not in QUANTIZED_TRAINERS_EXCLUDED
            and _num(r.get("result.changed_frac")) and _compile(r) == "native"]
    rows, checks, verdicts = [], [], []
    for where in sorted({_where(r) for r in recs}, key=_where_order):
        rs = [r for r in recs if _where(r) == where]
        # on emulated hardware only the RX/RY drive codes live on the b-bit DAC grid (RZ: phase words); the
        # per-grid meter comes from the round / stochastic trainers (the code-space trainers log the total)
        per_grid = [r for r in rs if _num(r.get("result.changed_frac_rxy"))]
        grid = "result.changed_frac"
        if not where.startswith("abstract") and all(r in per_grid for r in rs if r.get("task.trainer") == "round"):
            grid, rs = "result.changed_frac_rxy", per_grid
        w_rows, w_checks = _deadlock_map(rs, grid)
        if not any(r["trainer"] == "round" for r in w_rows):
            continue
        rows += [{"where": where, **r} for r in w_rows]
        checks += [{"where": where, **c} for c in w_checks]
        v = _deadlock_verdict(w_checks, w_rows)
        text = f"{where}: {v['text']}"
        if grid.endswith("_rxy"):
            rz = [r for r in w_rows if r["trainer"] == "round" and r["moved_rz_frac"] is not None]
            text += (" Measured on the RX/RY drive-amplitude codes (the b-bit DAC grid); the RZ virtual-Z phase "
                     "words have their own finer grid and moved " + ", ".join(
                         f"{100 * r['moved_rz_frac']:.1f} % at {r['bits']} bits (lr {r['lr']:g})" for r in rz) + "."
                     if rz else " Measured on the RX/RY drive-amplitude codes (the b-bit DAC grid).")
        verdicts.append({"where": where, "reproduced": v["reproduced"], "text": text, "grid": grid.split(".")[1]})
    if not verdicts:
        verdicts = [{"where": None, **_deadlock_verdict([], [])}]
    return {"rows": rows, "checks": checks, "verdicts": verdicts}


def _deadlock_map(recs: list[dict[str, Any]], field: str = "result.changed_frac"
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Cells (trainer, optimizer, lr, bits) -> moved fraction of ``field`` and accuracy; the law's checks."""
    cells: dict[tuple, list] = defaultdict(list)
    for r in recs:
        cells[(r.get("task.trainer"), r.get("task.optimizer"), r.get("task.lr"), int(r["bits"]))].append(r)
    rows = []
    for (trainer, opt, lr, b), rs in sorted(cells.items(), key=lambda kv: tuple(str(x) for x in kv[0][:2]) + kv[0][2:]):
        mv = [float(r[field]) for r in rs]
        rz = [float(r["result.changed_frac_rz"]) for r in rs if _num(r.get("result.changed_frac_rz"))]
        ci = accuracy_interval(list(_by_seed(rs).values()), _n_test(rs))
        rows.append({"trainer": trainer, "optimizer": opt, "lr": lr, "bits": b, "moved_frac": float(np.mean(mv)),
                     "moved_rz_frac": float(np.mean(rz)) if rz else None,
                     "moved_frac_max": float(np.max(mv)), "accuracy": ci["mean"], "accuracy_lo": ci["lo"],
                     "accuracy_hi": ci["hi"], "points": len(rs), "n_test": ci["n_test"],
                     "stalled": float(np.mean(mv)) < STALL_FRACTION})
    checks = []
    for lr in sorted({r["lr"] for r in rows if r["trainer"] == "round" and r["optimizer"] == "adam"}):
        rr = sorted((r for r in rows if r["trainer"] == "round" and r["optimizer"] == "adam" and r["lr"] == lr),
                    key=lambda r: r["bits"])
        bstar = predicted_stall_bits(lr)
        stalled = [r["bits"] for r in rr if r["stalled"]]
        moving = [r["bits"] for r in rr if not r["stalled"]]
        below_ok = all(r["stalled"] for r in rr if r["bits"] < bstar)
        top = rr[-1]
        top_ok = None if top["bits"] < bstar + 2 else not top["stalled"]
        boundary = next((r["bits"] for i, r in enumerate(rr) if not any(x["stalled"] for x in rr[i:])), None)
        checks.append({"lr": lr, "predicted_bits": bstar, "measured_bits": boundary, "stalled_bits": stalled,
                       "moving_bits": moving, "below_ok": below_ok, "top_ok": top_ok,
                       "n_below": sum(r["bits"] < bstar for r in rr)})
    return rows, checks


def _deadlock_verdict(checks: list[dict[str, Any]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not checks:
        return {"reproduced": None, "text": "undecided, because the store has no round-trainer (Adam) points."}
    seeds = min(r["points"] for r in rows if r["trainer"] == "round")
    def _span(c):
        st = f"stalled at <= {max(c['stalled_bits'])} bits" if c["stalled_bits"] else "never stalled"
        mv = f"moving from {c['measured_bits']} bits" if c["measured_bits"] is not None else "stalled at every swept bits"
        return f"lr {c['lr']:g}: {st}, {mv} (predicted boundary {c['predicted_bits']})"
    desc = "; ".join(_span(c) for c in checks)
    tested = [c for c in checks if c["n_below"] > 0]
    if not tested:
        return {"reproduced": None, "text": f"undecided, because no swept resolution lies below the predicted stall "
                                            f"for any learning rate ({desc})."}
    bad = [c for c in checks if not c["below_ok"]]
    if bad:
        c = bad[0]
        moved = [r for r in rows if r["trainer"] == "round" and r["optimizer"] == "adam" and r["lr"] == c["lr"]
                 and r["bits"] < c["predicted_bits"] and not r["stalled"]][0]
        return {"reproduced": False,
                "text": f"not reproduced, because at lr {c['lr']:g} and {moved['bits']} bits (below the predicted "
                        f"stall at {c['predicted_bits']}) {100 * moved['moved_frac']:.1f} % of the updates still moved a "
                        f"code ({desc}; >= {seeds} points per cell)."}
    stuck = [c for c in checks if c["top_ok"] is False]
    if stuck:
        c = stuck[0]
        return {"reproduced": False,
                "text": f"not reproduced, because at lr {c['lr']:g} the codes stay stalled even at the largest swept "
                        f"resolution, far above the predicted {c['predicted_bits']} bits ({desc})."}
    deepest = max(checks, key=lambda c: c["predicted_bits"])
    return {"reproduced": True,
            "text": f"reproduced: round-to-nearest training stalls (< {100 * STALL_FRACTION:g} % of updates move a code) "
                    f"wherever lr < step/2 predicts it ({desc}); the stall reaches {deepest['predicted_bits']} bits at "
                    f"lr {deepest['lr']:g} (>= {seeds} points per cell)."}


# ---------------------------------------------------------------------------------------------- (c) trainers
def trainer_chapter(records: list[dict[str, Any]], margin_pts: float = 1.0) -> dict[str, Any]:
    """Trainers vs float, the stochastic verdict and the moonshot line, per where it ran (module docstring).

    On an emulated profile the reference is the ``float`` trainer on the SAME emulated hardware at its
    largest swept bits (the hardware's own infinite-precision limit: its noise, leakage and readout stay,
    only the DAC resolution goes), so a gap measures what the DAC resolution costs. The moonshot rows there
    also carry the gap to float on the abstract quantizer (exact gates), where the store has it.
    """
    train = [r for r in seed_records(records)["train"] if _compile(r) == "native"]
    parts = [_trainer_part([r for r in train if _where(r) == w], w, margin_pts)
             for w in sorted({_where(r) for r in train}, key=_where_order)]
    parts = [p for p in parts if p["rows"]]
    abstract = next((p["ref"] for p in parts if p["where"].startswith("abstract")), {})
    infer = [r for r in seed_records(records)["infer"] if _compile(r) == "native" and int(r["bits"]) == MOONSHOT_BITS
             and r.get("task.model", "train-float") == "train-float"]
    for p in parts:
        ptq = _ptq_rows([r for r in infer if _where(r) == p["where"]], p["where"], p["ref"], margin_pts)
        p["moonshot"] = _moonshot(p["rows"] + ptq, p["ref"], margin_pts, p["where"],
                                  None if p["where"].startswith("abstract") else abstract)
    if not parts:
        parts = [{"where": None, "rows": [], "ref": {}, "optimizer": None, "lr": None, "per_trainer": [],
                  "verdict": _stochastic_verdict([], {}, margin_pts), "moonshot": _moonshot([], {}, margin_pts, None)}]
    return {"rows": [r for p in parts for r in p["rows"]],
            "reference": {p["where"]: {pair: {"bits": v["bits"], "epochs": v["epochs"],
                                              **{k: v["ci"][k] for k in ("mean", "lo", "hi", "n_test")}}
                                       for pair, v in p["ref"].items()} for p in parts},
            "settings": [{"where": p["where"], "optimizer": p["optimizer"], "lr": p["lr"]} for p in parts],
            "verdicts": [{"where": p["where"], **p["verdict"]} for p in parts],
            "moonshots": [p["moonshot"] for p in parts],
            "per_trainer": [r for p in parts for r in p["per_trainer"]], "margin_pts": margin_pts}


def _trainer_part(train: list[dict[str, Any]], where: str, margin_pts: float) -> dict[str, Any]:
    opt, lr = _main_lr([r for r in train if r.get("task.trainer") != "round"] or train)
    # the deadlock map's other learning rates are not candidates here (one optimizer setting per trainer)
    train = [r for r in train if (r.get("task.optimizer"), r.get("task.lr")) == (opt, lr)]
    floats: dict[str, list] = defaultdict(list)
    for r in train:
        if r.get("task.trainer") == "float":
            floats[_pair(r)].append(r)
    ref: dict[str, dict[str, Any]] = {}
    for pair, rs in floats.items():
        top = max(int(r["bits"]) for r in rs)
        sel = [r for r in rs if int(r["bits"]) == top]
        ref[pair] = {"bits": top, "epochs": max((r.get("task.epochs") for r in sel), key=lambda e: e or 0),
                     "by_seed": _by_seed(sel), "ci": accuracy_interval(list(_by_seed(sel).values()), _n_test(sel))}
    # the same trainer at several epoch counts (an epoch-matched check beside the main runs): one cell each
    epochs: dict[tuple, set] = defaultdict(set)
    for r in train:
        epochs[(_pair(r), int(r["bits"]), _trainer_label(r))].add(r.get("task.epochs"))
    cells: dict[tuple, list] = defaultdict(list)
    for r in train:
        k = (_pair(r), int(r["bits"]), _trainer_label(r))
        label = k[2] + (f" ({r.get('task.epochs')} ep)" if len(epochs[k]) > 1 and r.get("task.epochs") != min(epochs[k])
                        else "")
        cells[(k[0], k[1], label)].append(r)
    rows = []
    for (pair, b, label), rs in sorted(cells.items()):
        ci = accuracy_interval(list(_by_seed(rs).values()), _n_test(rs))
        gap = gap_interval(ref[pair]["by_seed"], _by_seed(rs)) if pair in ref else None
        rows.append({"where": where, "pair": pair, "bits": b, "trainer": label, "accuracy": ci["mean"],
                     "accuracy_lo": ci["lo"], "accuracy_hi": ci["hi"], "gap_pts": gap and gap["mean"],
                     "gap_lo": gap and gap["lo"], "gap_hi": gap and gap["hi"], "seeds": ci["n_seeds"],
                     "n_test": ci["n_test"], "matches": None if gap is None else gap["lo"] <= margin_pts,
                     "by_seed": _by_seed(rs)})
    verdict = _stochastic_verdict(rows, ref, margin_pts)
    verdict = {**verdict, "text": f"{where}: {verdict['text']}"}
    per_trainer = []
    for t in sorted({r["trainer"] for r in rows}):
        rs = [r for r in rows if r["trainer"] == t and r["matches"] is not None
              and STOCHASTIC_RANGE[0] <= r["bits"] <= STOCHASTIC_RANGE[1]]
        if rs:
            per_trainer.append({"where": where, "trainer": t, "cells": len(rs),
                                "matched": sum(bool(r["matches"]) for r in rs),
                                "mean_gap_pts": float(np.mean([r["gap_pts"] for r in rs])),
                                "worst_gap_pts": float(max(r["gap_pts"] for r in rs))})
    return {"where": where, "rows": rows, "ref": ref, "optimizer": opt, "lr": lr, "verdict": verdict,
            "per_trainer": per_trainer}


def _stochastic_verdict(rows, ref, margin) -> dict[str, Any]:
    lo, hi = STOCHASTIC_RANGE
    if not ref:
        return {"reproduced": None, "text": "undecided, because the store has no float-trainer reference points."}
    best: dict[tuple, dict] = {}
    for r in rows:
        if r["trainer"].startswith("stochastic") and lo <= r["bits"] <= hi and r["gap_pts"] is not None:
            k = (r["pair"], r["bits"])
            if k not in best or r["gap_pts"] < best[k]["gap_pts"]:
                best[k] = r
    if not best:
        return {"reproduced": None, "text": f"undecided, because no stochastic-trainer points at {lo}-{hi} bits."}
    seeds = min(r["seeds"] for r in best.values())
    n_test = sorted({r["n_test"] for r in best.values() if r["n_test"]})
    tail = f"{seeds} seeds, test sets of {', '.join(map(str, n_test)) or '?'} samples"
    if seeds < 5:
        return {"reproduced": None, "text": f"undecided, because only {seeds} seed(s) (need >= 5; {tail})."}
    bits = sorted({k[1] for k in best})
    fails = sorted((r for r in best.values() if not r["matches"]), key=lambda r: -r["gap_pts"])
    if fails:
        w = fails[0]
        return {"reproduced": False,
                "text": f"not reproduced, because at {w['bits']} bits on {w['pair']} the best stochastic setting "
                        f"({w['trainer']}) is {w['gap_pts']:.1f} pt [{w['gap_lo']:.1f}, {w['gap_hi']:.1f}] below float "
                        f"({len(fails)} of {len(best)} pair x bits cells lose more than {margin:g} pt, resolved; "
                        f"swept bits {bits}; {tail})."}
    worst = max(best.values(), key=lambda r: r["gap_hi"])
    if worst["gap_hi"] > RESOLVE_PTS:
        return {"reproduced": None,
                "text": f"undecided, because no loss is resolved at {lo}-{hi} bits ({bits}) but the interval is too wide "
                        f"to exclude one above {RESOLVE_PTS:g} pt ({worst['pair']} at {worst['bits']} bits, "
                        f"{worst['trainer']}: {worst['gap_pts']:+.1f} pt [{worst['gap_lo']:+.1f}, {worst['gap_hi']:+.1f}]; "
                        f"{tail})."}
    return {"reproduced": True,
            "text": f"reproduced: at every swept resolution in {lo}-{hi} bits ({bits}) the best stochastic temperature "
                    f"matches float on every pair (no loss beyond {margin:g} pt resolved; worst: {worst['pair']} at "
                    f"{worst['bits']} bits, {worst['gap_pts']:+.1f} pt [{worst['gap_lo']:+.1f}, {worst['gap_hi']:+.1f}]; "
                    f"{tail})."}


PTQ = "float, then rounded (PTQ)"


def _ptq_rows(infer, where, ref, margin) -> list[dict[str, Any]]:
    """Post-training quantization as a moonshot candidate: the elbow's float-trained models (exact gates)
    rounded once onto the MOONSHOT_BITS grid of ``where`` (``qnn_infer`` points), paired by seed to ``ref``."""
    by_pair: dict[str, list] = defaultdict(list)
    for r in infer:
        by_pair[_pair(r)].append(r)
    rows = []
    for pair, rs in sorted(by_pair.items()):
        ci = accuracy_interval(list(_by_seed(rs).values()), _n_test(rs))
        gap = gap_interval(ref[pair]["by_seed"], _by_seed(rs)) if pair in ref else None
        if gap is None:
            continue
        rows.append({"where": where, "pair": pair, "bits": MOONSHOT_BITS, "trainer": PTQ, "accuracy": ci["mean"],
                     "accuracy_lo": ci["lo"], "accuracy_hi": ci["hi"], "gap_pts": gap["mean"], "gap_lo": gap["lo"],
                     "gap_hi": gap["hi"], "seeds": ci["n_seeds"], "n_test": ci["n_test"],
                     "matches": gap["lo"] <= margin, "by_seed": _by_seed(rs)})
    return rows


def _moonshot(rows, ref, margin, where, abstract_ref: dict | None = None) -> dict[str, Any]:
    """The best quantized trainer per pair at MOONSHOT_BITS vs the float reference of the same ``where``;
    ``rows`` may include post-training quantization (:func:`_ptq_rows`), a legitimate way to a 4-bit model;
    ``abstract_ref``: float on the abstract quantizer, whose gap is carried along (hardware rows).

    When the moonshot is missed, ``why`` says it from the data: on how many pairs the miss is resolved
    (the paired interval's lower end above the margin) or within the seeds' spread, and which trainer
    is closest on its own."""
    at = [r for r in rows if r["bits"] == MOONSHOT_BITS and r["trainer"] != "float" and r["pair"] in ref]
    pairs = sorted({r["pair"] for r in at})
    head = f"{where}: " if where else ""
    if not pairs:
        return {"where": where, "met": None, "pairs": [], "text": f"{head}Moonshot ({MOONSHOT_BITS} bits): no "
                f"quantized-trainer points at {MOONSHOT_BITS} bits with a float reference."}
    per = []
    for p in pairs:
        b = max((r for r in at if r["pair"] == p), key=lambda r: (r["accuracy"], r["trainer"]))
        row = {"where": where, "pair": p, "trainer": b["trainer"], "gap_pts": b["gap_pts"], "gap_lo": b["gap_lo"],
               "gap_hi": b["gap_hi"], "accuracy": b["accuracy"], "float": ref[p]["ci"]["mean"],
               "float_bits": ref[p]["bits"], "seeds": b["seeds"], "n_test": b["n_test"]}
        if abstract_ref and p in abstract_ref:
            g = gap_interval(abstract_ref[p]["by_seed"], b["by_seed"])
            row.update({"abstract_float": abstract_ref[p]["ci"]["mean"], "gap_abstract_pts": g and g["mean"],
                        "gap_abstract_lo": g and g["lo"], "gap_abstract_hi": g and g["hi"]})
        per.append(row)
    # how close each trainer gets on its own (every pair it ran on): mean and worst gap
    trainers = []
    for t in sorted({r["trainer"] for r in at}):
        rs = [r for r in at if r["trainer"] == t]
        w = max(rs, key=lambda r: r["gap_pts"])
        trainers.append({"where": where, "trainer": t, "pairs": len(rs), "of_pairs": len(pairs),
                         "mean_gap_pts": float(np.mean([r["gap_pts"] for r in rs])), "worst_pair": w["pair"],
                         "worst_gap_pts": w["gap_pts"], "worst_gap_lo": w["gap_lo"], "worst_gap_hi": w["gap_hi"],
                         "within_margin": sum(r["gap_pts"] <= margin for r in rs)})
    worst = max(per, key=lambda r: r["gap_pts"])
    seeds = min(r["seeds"] for r in per)
    met = None if seeds < 5 else worst["gap_pts"] <= margin
    state = ("undecided (fewer than 5 seeds)" if met is None else "met" if met else "not met")
    ep = ref[worst["pair"]].get("epochs")
    ref_s = (f"float on the same emulated hardware at {worst['float_bits']} bits" if abstract_ref is not None
             else f"float at {worst['float_bits']} bits") + (f", trained {ep} epochs" if ep else "")
    text = (f"{head}Moonshot ({MOONSHOT_BITS} bits, best trainer per pair vs {ref_s}, mean over {seeds} seeds, "
            f"test sets of {', '.join(str(n) for n in sorted({r['n_test'] for r in per if r['n_test']}))} samples): "
            f"{state}; worst pair {worst['pair']}: {worst['trainer']} {worst['gap_pts']:+.1f} pt [{worst['gap_lo']:+.1f}, "
            f"{worst['gap_hi']:+.1f}] below float ({100 * worst['accuracy']:.1f} % vs {100 * worst['float']:.1f} %); "
            f"every pair: " + "; ".join(f"{r['pair']} {r['trainer']} {r['gap_pts']:+.1f}" for r in per) + ".")
    why = _moonshot_why(per, trainers, margin, at) if met is False else ""
    text += why
    if any("gap_abstract_pts" in r for r in per):
        text += (" Against float on exact gates (abstract quantizer), which also counts the hardware's noise, "
                 "leakage and readout: " + "; ".join(f"{r['pair']} {r['gap_abstract_pts']:+.1f}" for r in per
                                                     if r.get("gap_abstract_pts") is not None) + " pt.")
    return {"where": where, "met": met, "pairs": per, "worst": worst, "trainers": trainers, "text": text,
            "why": why.strip()}


def _moonshot_why(per, trainers, margin, at) -> str:
    missed = [r for r in per if r["gap_pts"] > margin]
    resolved = [r for r in missed if r["gap_lo"] > margin]
    s = (f" Why: {len(missed)} of {len(per)} pairs miss the {margin:g}-pt margin; ")
    if resolved:
        s += (f"resolved on {len(resolved)} (interval above the margin: "
              + ", ".join(f"{r['pair']} [{r['gap_lo']:+.1f}, {r['gap_hi']:+.1f}]" for r in resolved) + ")")
    else:
        s += "none resolved: every miss's interval includes the margin, so more seeds would decide"
    rest = [r for r in missed if r not in resolved]
    if resolved and rest:
        s += f", within the seeds' spread on {len(rest)}"
    full = [t for t in trainers if t["pairs"] == t["of_pairs"]]
    if full:
        b = min(full, key=lambda t: t["worst_gap_pts"])
        s += (f". Closest single trainer on every pair: {b['trainer']} (worst {b['worst_pair']} "
              f"{b['worst_gap_pts']:+.1f} pt, within the margin on {b['within_margin']} of {b['pairs']})")
    longer = [r for r in at if r["trainer"].endswith(" ep)") and r["pair"] in {m["pair"] for m in missed}]
    if longer:  # the epoch-matched check: is the miss the training length or the grid?
        s += ". Trained longer on the missed pairs: " + "; ".join(
            f"{r['pair']} {r['trainer']} {r['gap_pts']:+.1f} pt [{r['gap_lo']:+.1f}, {r['gap_hi']:+.1f}]" for r in longer)
    return s + "."


# ---------------------------------------------------------------------------------------------- (d) compile
def compile_chapter(records: list[dict[str, Any]]) -> dict[str, Any]:
    s = seed_records(records)
    recs = [r for r in s["infer"] + s["train"] if _num(r.get("result.drive_ns"))]
    groups: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in recs:
        what = r["kind"] + (f" {_trainer_label(r)}" if r["kind"] == "qnn_train" else "")
        groups[(_where(r), _pair(r), int(r["bits"]), what)][_compile(r)].append(r)
    rows = []
    for (where, pair, b, what), by in sorted(groups.items()):
        if not {"native", "zxzxz"} <= set(by):
            continue
        nat, zx = by["native"], by["zxzxz"]
        diff = gap_interval(_by_seed(zx), _by_seed(nat))  # zxzxz - native, in points
        for mode, rs in (("native", nat), ("zxzxz", zx)):
            ci = accuracy_interval(list(_by_seed(rs).values()), _n_test(rs))
            rows.append({"where": where, "pair": pair, "bits": b, "task": what, "compile": mode,
                         "drive_ns": float(np.mean([r["result.drive_ns"] for r in rs])),
                         "rotation_infidelity": float(np.mean([r["result.rotation_infidelity"] for r in rs
                                                               if _num(r.get("result.rotation_infidelity"))] or [np.nan])),
                         "accuracy": ci["mean"], "accuracy_lo": ci["lo"], "accuracy_hi": ci["hi"],
                         "seeds": ci["n_seeds"], "n_test": ci["n_test"],
                         "zxzxz_minus_native_pts": None if mode == "native" or diff is None else diff["mean"],
                         "diff_lo": None if mode == "native" or diff is None else diff["lo"],
                         "diff_hi": None if mode == "native" or diff is None else diff["hi"]})
    zx = [r for r in rows if r["compile"] == "zxzxz" and r["zxzxz_minus_native_pts"] is not None]
    if not zx:
        text = "No points with both compilations."
    else:
        better = [r for r in zx if r["diff_lo"] > 0]
        worse = [r for r in zx if r["diff_hi"] < 0]
        text = (f"zxzxz plays 2 pulses per RX/RY (drive time x2); its accuracy is resolved better than native on "
                f"{len(better)} and worse on {len(worse)} of {len(zx)} settings (paired 95 % intervals over seeds); "
                + "; ".join(f"{r['where']} {r['pair']} {r['bits']} bits: {r['zxzxz_minus_native_pts']:+.1f} pt "
                            f"[{r['diff_lo']:+.1f}, {r['diff_hi']:+.1f}]" for r in zx[:6]) + ".")
    return {"rows": rows, "text": text}


# ---------------------------------------------------------------------------------------------- figures
def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, metadata={"Software": None})
    return buf.getvalue()


def _grid(n: int) -> tuple[int, int]:
    cols = min(4, max(1, n))
    return int(math.ceil(n / cols)), cols


def elbow_figure(ch: dict[str, Any]) -> bytes | None:
    pairs = sorted({c["pair"] for c in ch["curves"]})
    if not pairs:
        return None
    rows, cols = _grid(len(pairs))
    fig = Figure(figsize=(3.6 * cols, 2.9 * rows + 0.6))
    wheres = sorted({c["where"] for c in ch["curves"]})
    for i, p in enumerate(pairs):
        ax = fig.add_subplot(rows, cols, i + 1)
        for j, c in enumerate(c for c in ch["curves"] if c["pair"] == p):
            b = np.array([q["bits"] for q in c["points"]])
            m = np.array([100 * q["acc"]["mean"] for q in c["points"]])
            lo = np.array([100 * q["acc"]["lo"] for q in c["points"]])
            hi = np.array([100 * q["acc"]["hi"] for q in c["points"]])
            k = wheres.index(c["where"])
            ax.errorbar(b, m, yerr=[m - lo, hi - m], marker="os^D"[k % 4], ms=4, capsize=2, lw=1.2,
                        label=c["where"], color=f"C{k}")
            fl = [q["float"] for q in c["points"] if q["float"] is not None]
            if fl and j == 0:
                ax.axhline(100 * float(np.mean(fl)), color="k", ls=":", lw=1, label="float model")
        ax.set_title(p, fontsize=9)
        ax.set_xlabel("bits", fontsize=8)
        ax.set_ylabel("test accuracy (%)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    h, lab = fig.axes[0].get_legend_handles_labels()
    fig.legend(h, lab, loc="lower center", ncol=min(4, len(lab)), fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return _png(fig)


def deadlock_figure(ch: dict[str, Any]) -> bytes | None:
    rows = [r for r in ch["rows"] if r["trainer"] == "round"]
    panels = sorted({(r["where"], r["optimizer"]) for r in rows}, key=lambda k: (_where_order(k[0]), k[1]))
    if not panels:
        return None
    nr, nc = _grid(len(panels))
    fig = Figure(figsize=(5.0 * nc, 3.4 * nr))
    for i, (where, o) in enumerate(panels):
        rr = [r for r in rows if r["optimizer"] == o and r["where"] == where]
        bits = sorted({r["bits"] for r in rr})
        lrs = sorted({r["lr"] for r in rr})
        grid = np.full((len(lrs), len(bits)), np.nan)
        for r in rr:
            grid[lrs.index(r["lr"]), bits.index(r["bits"])] = r["moved_frac"]
        ax = fig.add_subplot(nr, nc, i + 1)
        im = ax.imshow(grid, aspect="auto", origin="lower", cmap="viridis", vmin=0, vmax=max(0.05, np.nanmax(grid)))
        ax.set_xticks(range(len(bits)), [str(b) for b in bits], fontsize=7)
        ax.set_yticks(range(len(lrs)), [f"{x:g}" for x in lrs], fontsize=7)
        for (yi, xi), v in np.ndenumerate(grid):
            if np.isfinite(v):
                ax.text(xi, yi, f"{100 * v:.0f}", ha="center", va="center", fontsize=6,
                        color="w" if v < 0.5 * np.nanmax(grid) else "k")
        if o == "adam":
            for yi, lr in enumerate(lrs):  # predicted stall boundary: lr = step / 2
                bs = predicted_stall_bits(lr)
                if bits[0] <= bs <= bits[-1] + 1:
                    x = np.interp(bs, bits, range(len(bits)), right=len(bits)) - 0.5
                    ax.plot([x, x], [yi - 0.5, yi + 0.5], color="r", lw=2)
        ax.set_xlabel("bits", fontsize=8)
        ax.set_ylabel("learning rate", fontsize=8)
        ax.set_title(f"{where}\nround trainer, {o}: % of updates that moved a code", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    return _png(fig)


def trainer_figure(ch: dict[str, Any]) -> bytes | None:
    panels = sorted({(r["where"], r["pair"]) for r in ch["rows"]}, key=lambda k: (_where_order(k[0]), k[1]))
    if not panels:
        return None
    trainers = sorted({r["trainer"] for r in ch["rows"]})
    rows, cols = _grid(len(panels))
    fig = Figure(figsize=(3.6 * cols, 2.9 * rows + 0.9))
    for i, (where, p) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        for k, t in enumerate(trainers):
            rr = sorted((r for r in ch["rows"] if r["pair"] == p and r["trainer"] == t and r["where"] == where),
                        key=lambda r: r["bits"])
            if not rr:
                continue
            b = np.array([r["bits"] for r in rr]) + 0.06 * (k - len(trainers) / 2)
            m = np.array([100 * r["accuracy"] for r in rr])
            ax.errorbar(b, m, yerr=[m - 100 * np.array([r["accuracy_lo"] for r in rr]),
                                    100 * np.array([r["accuracy_hi"] for r in rr]) - m],
                        marker="os^Dv<>PX"[k % 9], ms=3.5, capsize=1.5, lw=1, label=t, color=f"C{k % 10}")
        if p in ch["reference"].get(where, {}):
            ax.axhline(100 * ch["reference"][where][p]["mean"], color="k", ls=":", lw=1, label="float (reference)")
        ax.set_title(f"{p}\n{where}", fontsize=8)
        ax.set_xlabel("bits", fontsize=8)
        ax.set_ylabel("test accuracy (%)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    handles, labels = [], []
    for ax in fig.axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(5, len(labels)), fontsize=7)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return _png(fig)


# ---------------------------------------------------------------------------------------------- HTML
def _esc(v: Any) -> str:
    return html.escape(str(v))


def _table(rows: list[dict[str, Any]], cols: list[tuple[str, str]], tid: str, limit: int = 400) -> str:
    if not rows:
        return f'<p class="nodata" id="nodata-{tid}">No rows.</p>'
    head = "".join(f"<th>{_esc(t)}</th>" for _, t in cols)
    body = "".join("<tr>" + "".join(f"<td>{_esc(fmt_cell(r.get(k)))}</td>" for k, _ in cols) + "</tr>" for r in rows[:limit])
    more = f"<p class='assume'>{len(rows) - limit} more rows in the CSV.</p>" if len(rows) > limit else ""
    return f'<table id="{tid}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'


def _img(png: bytes | None, fid: str, alt: str) -> str:
    if png is None:
        return ""
    return f'<img id="{fid}" alt="{_esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _verdict(tid: str, reproduced: bool | None, text: str) -> str:
    cls = {True: "yes", False: "no", None: "undecided"}[reproduced]
    return f'<p class="verdict verdict-{cls}" id="{tid}"><b>Verdict.</b> {_esc(text)}</p>'


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    cols: list[str] = []
    for r in rows:
        cols.extend(k for k in r if k not in cols and k != "by_seed")
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})


def seed_chapters(records: list[dict[str, Any]], out_dir: str | Path | None = None,
                  margin_pts: float = 1.0) -> tuple[str, dict[str, Any]]:
    """(HTML section, summary) of the four chapters; writes ``seed_*.csv`` and ``plot-seed-*.png`` into
    ``out_dir`` when given. The summary holds every verdict (text and reproduced: True/False/None)."""
    el = elbow_chapter(records, margin_pts)
    dl = deadlock_chapter(records)
    tr = trainer_chapter(records, margin_pts)
    cp = compile_chapter(records)
    figs = {"plot-seed-elbow": elbow_figure(el), "plot-seed-deadlock": deadlock_figure(dl),
            "plot-seed-trainers": trainer_figure(tr)}
    if out_dir is not None:
        out = Path(out_dir)
        for fid, png in figs.items():
            if png is not None:
                (out / f"{fid}.png").write_bytes(png)
            else:
                (out / f"{fid}.png").unlink(missing_ok=True)
        _write_csv(out / "seed_elbow.csv", el["rows"])
        _write_csv(out / "seed_deadlock.csv", dl["rows"])
        _write_csv(out / "seed_trainers.csv", tr["rows"])
        _write_csv(out / "seed_moonshot.csv", [r for m in tr["moonshots"] for r in m["pairs"]])
        _write_csv(out / "seed_compile.csv", cp["rows"])
    elbow_rows = [{**r, "acc_s": _acc_s({"mean": r["accuracy"], "lo": r["accuracy_lo"], "hi": r["accuracy_hi"]}),
                   "gap_s": _pts(None if r["gap_pts"] is None else {"mean": r["gap_pts"], "lo": r["gap_lo"],
                                                                     "hi": r["gap_hi"]})} for r in el["rows"]]
    elbow_sum = [{"where": c["where"], "pair": c["pair"], "elbow": c["elbow"], "kept6": c["kept6"],
                  "resolved": c["elbow_resolved"], "seeds": c["seeds"]} for c in el["curves"]]
    tr_rows = [{**r, "acc_s": _acc_s({"mean": r["accuracy"], "lo": r["accuracy_lo"], "hi": r["accuracy_hi"]}),
                "gap_s": _pts(None if r["gap_pts"] is None else {"mean": r["gap_pts"], "lo": r["gap_lo"],
                                                                  "hi": r["gap_hi"]})} for r in tr["rows"]]
    dl_rows = [{**r, "moved_pct": 100 * r["moved_frac"],
                "moved_rz_pct": None if r["moved_rz_frac"] is None else 100 * r["moved_rz_frac"],
                "acc_s": _acc_s({"mean": r["accuracy"], "lo": r["accuracy_lo"], "hi": r["accuracy_hi"]})}
               for r in dl["rows"]]
    cp_rows = [{**r, "acc_s": _acc_s({"mean": r["accuracy"], "lo": r["accuracy_lo"], "hi": r["accuracy_hi"]}),
                "diff_s": _pts(None if r["zxzxz_minus_native_pts"] is None else
                               {"mean": r["zxzxz_minus_native_pts"], "lo": r["diff_lo"], "hi": r["diff_hi"]})}
               for r in cp["rows"]]
    ref_s = "; ".join(f"{w}: " + ", ".join(f"{p} {100 * v['mean']:.1f} % at {v['bits']} bits"
                                           + (f" ({v['epochs']} epochs)" if v.get("epochs") else "")
                                           for p, v in sorted(refs.items()))
                      for w, refs in tr["reference"].items() if refs)
    set_s = "; ".join(f"{x['where']}: {x['optimizer']}, lr {x['lr']}" for x in tr["settings"])
    moon_html = "".join(
        f"""<p class="verdict verdict-{ {True: 'yes', False: 'no', None: 'undecided'}[m['met']] }" id="moonshot-{i}">"""
        f"<b>Moonshot.</b> {_esc(m['text'])}</p>" for i, m in enumerate(tr["moonshots"]))
    parts = [f"""<section id="seed-study">
<h2>Seed study: the QNN papers' claims, on the abstract quantizer and on emulated hardware</h2>
<p class="assume">Each chapter ends in a verdict computed from the points below (never written by hand). Accuracy
in %, gaps in points (float minus the setting, paired by seed on the same test set) with 95 % Student-t intervals
over seeds; the test-set size is given with every verdict. A difference is claimed only when its interval excludes
the margin ({margin_pts:g} pt).</p>
<h3 id="chapter-elbow">(a) Elbow: float-trained models on b-bit gates</h3>
<p>Claim: models trained at infinite precision keep their accuracy on {KEEP_BITS}-bit quantizers; accuracy vs bits
has an elbow at {ELBOW_RANGE[0]}-{ELBOW_RANGE[1]} bits.</p>
{"".join(_verdict(f"verdict-elbow-{i}", v["reproduced"], v["text"]) for i, v in enumerate(el["verdicts"]))
 or _verdict("verdict-elbow-0", None, "undecided, because the store has no float-trained qnn_infer points.")}
{_img(figs["plot-seed-elbow"], "plot-seed-elbow", "elbow curves")}
<details><summary>Elbow per pair, and every point (seed_elbow.csv)</summary>
{_table(elbow_sum, [("where", "where"), ("pair", "dataset/ansatz"), ("elbow", "elbow (bits, by the mean)"),
                    ("kept6", f"kept at {KEEP_BITS} bits (CI)"), ("resolved", "loss below the elbow resolved"),
                    ("seeds", "seeds")], "seed-elbow-summary")}
{_table(elbow_rows, [("where", "where"), ("pair", "dataset/ansatz"), ("bits", "bits"), ("acc_s", "accuracy [95 % CI]"),
                     ("float_accuracy", "float accuracy"), ("gap_s", "float − accuracy [95 % CI]"), ("seeds", "seeds"),
                     ("n_test", "test samples")], "seed-elbow-table")}
</details>
<h3 id="chapter-deadlock">(b) Gradient deadlock: round-to-nearest training on the code grid</h3>
<p>Claim: training directly on the DAC grid stalls below about 12 bits, because -lr·g is below half a step.
With Adam (|Δ| ≲ lr) the prediction is b* = ⌈log2(π / lr)⌉ (red marks): below b* no code can move. On
emulated hardware the b-bit grid is the drive DAC's (RX/RY amplitude codes); RZ angles are virtual-Z phase words
on their own, finer grid, so they are counted apart.</p>
{"".join(_verdict(f"verdict-deadlock-{i}", v["reproduced"], v["text"]) for i, v in enumerate(dl["verdicts"]))}
{_img(figs["plot-seed-deadlock"], "plot-seed-deadlock", "deadlock map")}
<details><summary>The map: bits x learning rate x optimizer (seed_deadlock.csv)</summary>
{_table(dl_rows, [("where", "where"), ("trainer", "trainer"), ("optimizer", "optimizer"), ("lr", "lr"), ("bits", "bits"),
                  ("moved_pct", "% updates that moved a code (last epoch; hardware: RX/RY drive codes)"),
                  ("moved_rz_pct", "% RZ updates that moved (phase words on hardware)"), ("stalled", "stalled"),
                  ("acc_s", "accuracy [95 % CI]"), ("points", "points"), ("n_test", "test samples")], "seed-deadlock-table")}
</details>
<h3 id="chapter-trainers">(c) Stochastic training vs float, and the new trainers</h3>
<p>Claim: temperature-controlled stochastic updates make training work at {STOCHASTIC_RANGE[0]}-{STOCHASTIC_RANGE[1]}
bits, matching infinite precision. Reference: the float trainer at the largest swept bits ({_esc(ref_s) or '–'});
{_esc(set_s)}. On emulated hardware the reference is the float trainer on the same hardware (its noise, leakage
and readout stay; only the DAC resolution goes), so a gap there is what the DAC resolution costs.</p>
{"".join(_verdict(f"verdict-stochastic-{i}", v["reproduced"], v["text"]) for i, v in enumerate(tr["verdicts"]))}
{moon_html}
{_table([r for m in tr["moonshots"] for r in m.get("trainers", [])],
        [("where", "where"), ("trainer", f"trainer at {MOONSHOT_BITS} bits"), ("pairs", "pairs run"),
         ("within_margin", f"pairs within {margin_pts:g} pt of float (mean)"), ("mean_gap_pts", "mean gap (pt)"),
         ("worst_pair", "worst pair"), ("worst_gap_pts", "worst gap (pt)")], "seed-moonshot-trainers")}
{_img(figs["plot-seed-trainers"], "plot-seed-trainers", "trainers vs bits")}
{_table(tr["per_trainer"], [("where", "where"), ("trainer", "trainer"), ("cells", f"pair x bits cells at {STOCHASTIC_RANGE[0]}-{STOCHASTIC_RANGE[1]} bits"),
                             ("matched", "match float (CI)"), ("mean_gap_pts", "mean gap (pt)"),
                             ("worst_gap_pts", "worst gap (pt)")], "seed-trainer-summary")}
<details><summary>Every trainer, pair and resolution (seed_trainers.csv)</summary>
{_table(tr_rows, [("where", "where"), ("pair", "dataset/ansatz"), ("bits", "bits"), ("trainer", "trainer"), ("acc_s", "accuracy [95 % CI]"),
                  ("gap_s", "float − accuracy [95 % CI]"), ("matches", "matches float"), ("seeds", "seeds"),
                  ("n_test", "test samples")], "seed-trainer-table")}
</details>"""]
    if cp["rows"]:
        parts.append(f"""<h3 id="chapter-compile">(d) Compilation what-if: native amplitude codes vs zxzxz</h3>
<p>native: one pulse per RX/RY, its amplitude code is the angle (resolution: the amplitude DAC). zxzxz:
RX(θ) = RZ(π/2)·SX·RZ(θ−π)·SX·RZ(π/2), RY(θ) = RZ(π)·SX·RZ(θ−π)·SX: two fixed SX pulses, θ in a virtual-Z
phase word (resolution 2π/2^phase_bits); the amplitude DAC only shapes the SX pulse, whose own error is played
twice.</p>
<p class="verdict" id="verdict-compile">{_esc(cp['text'])}</p>
{_table(cp_rows, [("where", "where"), ("pair", "dataset/ansatz"), ("bits", "bits"), ("task", "task"),
                  ("compile", "compile"), ("drive_ns", "drive time (ns, critical path)"),
                  ("rotation_infidelity", "RX/RY 1 − F (mean)"), ("acc_s", "accuracy [95 % CI]"),
                  ("diff_s", "zxzxz − native [95 % CI]"), ("seeds", "seeds"), ("n_test", "test samples")],
         "seed-compile-table")}""")
    parts.append("</section>")
    summary = {
        "elbow": {"verdicts": el["verdicts"], "curves": elbow_sum},
        "deadlock": {"verdicts": dl["verdicts"], "checks": dl["checks"]},
        "trainers": {"verdicts": tr["verdicts"], "per_trainer": tr["per_trainer"], "reference": tr["reference"],
                     "settings": tr["settings"]},
        "moonshot": tr["moonshots"],
        "compile": {"text": cp["text"], "rows": cp["rows"]},
        "plots": {k: v is not None for k, v in figs.items()},
    }
    return "\n".join(parts), summary
