"""`cryoctl gates PROFILE`: realized single-qubit gate quality vs DAC resolution.

For every resolution N in ``--bits`` the profile is re-resolved with ``dac.bits=N`` (all other fields,
``--set`` overrides included, unchanged), calibrated through its DAC (Rabi + DRAG scans), and its
realized-gate table is built (or read from the on-disk cache). One row per N: fidelity, leakage and
angle error over all codes, axes and qubits, plus the calibrated pi pulse. A PNG shows infidelity
and leakage vs bits and the angle error vs code.

Before anything is built, every resolution's solve plan (:mod:`cryoctl.gates.plan`) is checked
against the memory limit (MemAvailable, or $CRYOCTL_MEMORY_LIMIT_GB): a table that would not fit is
refused with one line naming the memory it needs (exit 2). A table whose build is estimated to take
more than a few seconds (or any table on a slow engine) gets its plan and estimate printed on stderr first.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cryoctl.cli import app
from cryoctl.cli.common import (
    JsonOpt, SetOpt, console, err_console, parse_bits, print_json, profile_from_cli, save_figure,
)
from cryoctl.errors import CryoctlError
from cryoctl.gates import build_gate_table, code_metrics, load_or_build, table_metrics
from cryoctl.gates.build import DEFAULT_NOISE_DRAWS
from cryoctl.gates.plan import SolvePlan, idle_floor_infidelity, measure_unit_costs, solve_plan
from cryoctl.gates.table import AXES
from cryoctl.conventions import ENGINE_NAMES
from cryoctl.profile import HardwareProfile, bits_overrides, profile_hash

#: a table whose estimated build time (measured unit costs) exceeds this gets its plan printed first
NOTE_SECONDS = 5.0


def sweep_plans(
    ref: str, overrides: list[str] | None, bits: list[int], engine: str = "fast",
    n_noise_draws: int = DEFAULT_NOISE_DRAWS,
) -> list[tuple[int, HardwareProfile, SolvePlan]]:
    """(bits, profile, solve plan) per resolution, each plan checked against the memory limit
    (:meth:`SolvePlan.check_memory`) BEFORE anything is built: a table that would not fit is refused
    with one line naming the memory it needs, whatever resolutions come before it."""
    if engine not in ENGINE_NAMES:
        raise CryoctlError(f"unknown engine {engine!r}; expected one of {list(ENGINE_NAMES)}", field="--engine")
    base = profile_from_cli(ref, overrides)
    out = []
    for n in bits:
        prof = profile_from_cli(ref, [*(overrides or []), *bits_overrides(base, n)])
        plan = solve_plan(prof, engine, n_draws=n_noise_draws)
        plan.check_memory()
        out.append((n, prof, plan))
    return out


def gates_sweep(
    ref: str,
    overrides: list[str] | None,
    bits: list[int],
    engine: str = "fast",
    seed: int = 0,
    n_noise_draws: int = DEFAULT_NOISE_DRAWS,
    use_cache: bool = True,
    progress=None,
    notify=None,
) -> dict[str, Any]:
    """Metrics per resolution; per-code angle errors (qubit 0, axis x) under ``"_curves"``.

    Every resolution's solve plan is made and checked against the memory limit first
    (:func:`sweep_plans`). ``notify(plan)`` is called before a table is built (not when it is read from
    the cache). ``progress(bits, done, total)`` is called after each (qubit, axis) of a table being
    built and once with done == total when a resolution is finished (built or read from the cache).
    """
    rows, curves = [], []
    base = profile_from_cli(ref, overrides)
    for n, prof, plan in sweep_plans(ref, overrides, bits, engine, n_noise_draws):
        step = None if progress is None else (lambda done, total, n=n: progress(n, done, total))
        if notify is not None and not (use_cache and _cached(prof, engine, seed, n_noise_draws)):
            notify(plan)
        if use_cache:
            table = load_or_build(prof, engine, seed, n_noise_draws=n_noise_draws, progress=step)
        else:
            table = build_gate_table(prof, engine, seed, n_noise_draws, cache_dir=None, progress=step)
        cal = table.calibration
        row = table_metrics(table)
        row["profile_hash"] = profile_hash(prof)
        row["method"] = plan.method
        row["pi_codes"] = np.asarray(cal.pi_codes).tolist()
        row["pi_error_rad"] = table.meta.get("pi_error")
        row["drag_beta"] = np.asarray(cal.drag_beta).tolist()
        rows.append(row)
        m = code_metrics(table, "x", 0)
        curves.append((n, table.codes, m["linear_map_error"]))
        if progress is not None:
            total = prof.qubits.count * len(AXES)
            progress(n, total, total)
    floor = idle_floor_infidelity(base)
    return {
        "profile": base.name,
        "profile_hash": profile_hash(base),
        "engine": engine,
        "seed": seed,
        "n_noise_draws": n_noise_draws,
        "amplitude_mode": base.pulse.amplitude_mode,
        "pulse_shape": base.pulse.shape,
        "idle_floor_infidelity": None if floor is None else floor[0],
        "idle_floor_t_ns": None if floor is None else floor[1],
        "rows": rows,
        "_curves": curves,
    }


def _cached(profile: HardwareProfile, engine: str, seed: int, n_noise_draws: int) -> bool:
    """Whether the default cache already holds this table (read-only look; no directory is created)."""
    from cryoctl.gates.cache import default_cache_dir, table_file_name

    return (default_cache_dir() / table_file_name(profile, engine, seed, n_noise_draws)).is_file()


def representative_bits(bits: list[int]) -> list[int]:
    """Lowest, middle and highest resolution of a sweep (fewer when the sweep is shorter)."""
    b = sorted(bits)
    return sorted({b[0], b[len(b) // 2], b[-1]})


def angle_axis_scale(curves_mrad: list[np.ndarray]) -> tuple[str, float | None]:
    """("linear", None) when all curves share one scale, else ("symlog", linthresh).

    Symlog once the coarsest curve's peak is > 20x the finest one's: linthresh is the decade just above
    the finest curve's peak, so the fine resolutions stay on a linear scale and the coarse ones on decades.
    """
    peaks = [float(np.abs(c).max()) if c.size else 0.0 for c in curves_mrad]
    lo, hi = min(peaks), max(peaks)
    if hi <= 20.0 * max(lo, 1e-12):
        return "linear", None
    return "symlog", float(10.0 ** np.ceil(np.log10(max(lo, 1e-6))))


def plot_sweep(res: dict[str, Any], path: Path) -> Path:
    """Four panels: infidelity (with T1/T2 idle floor) and leakage vs bits, rms/max angle error vs bits,
    per-code angle error of the lowest/middle/highest resolution."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = res["rows"]
    b = np.array([r["bits"] for r in rows])
    fig, axes = plt.subplots(2, 2, figsize=(14, 9.5), constrained_layout=True)
    fig.suptitle(
        f"{res['profile']}: realized gates vs DAC bits ({res['amplitude_mode']} amplitude, "
        f"{res['pulse_shape']} pulse, engine {res['engine']})"
    )
    ax = axes[0, 0]
    ax.semilogy(b, [1 - r["fidelity_mean"] for r in rows], "o-", label="1 - F, mean over codes")
    ax.semilogy(b, [1 - r["fidelity_min"] for r in rows], "s--", label="1 - F, worst code")
    if all("fidelity_pi" in r for r in rows):
        ax.semilogy(b, [1 - r["fidelity_pi"] for r in rows], "^-", label="1 - F, calibrated pi pulse")
    if res.get("idle_floor_infidelity") is not None:
        ax.axhline(res["idle_floor_infidelity"], color="k", ls=":", lw=1.2,
                   label=f"T1/T2 floor (idle, pulse duration {res['idle_floor_t_ns']:.4g} ns)")
    ax.set(title="Average gate infidelity (qubit block)", xlabel="DAC bits", ylabel="1 - F_avg")
    ax.legend(fontsize=9)
    ax = axes[0, 1]
    ax.semilogy(b, [max(r["leakage_max"], 1e-18) for r in rows], "o-", label="max over codes")
    ax.semilogy(b, [max(r["leakage_mean"], 1e-18) for r in rows], "s--", label="mean over codes")
    ax.set(title="Leakage out of {|0>, |1>}", xlabel="DAC bits", ylabel="population")
    ax.legend(fontsize=9)
    ax = axes[1, 0]
    ax.semilogy(b, [max(r["angle_error_rms"], 1e-12) * 1e3 for r in rows], "o-", label="rms over requests")
    ax.semilogy(b, [max(r["angle_error_max"], 1e-12) * 1e3 for r in rows], "s--", label="max |.| over requests")
    ax.set(title="Angle error realized - requested (uniform requests, all axes, qubits)\n"
           "code = nearest measured angle (the calibration circuits use)",
           xlabel="DAC bits", ylabel="angle error (mrad)")
    ax.legend(fontsize=9)
    ax = axes[1, 1]
    curves = {n: (codes, err) for n, codes, err in res["_curves"]}
    shown = representative_bits(list(curves))
    scale, linthresh = angle_axis_scale([curves[n][1] * 1e3 for n in shown])
    colors = ("tab:red", "tab:green", "tab:blue")
    for n, color in zip(shown, colors):
        codes, err = curves[n]
        ax.plot(codes / 2.0 ** (n - 1), err * 1e3, color=color, lw=1.6 if codes.size <= 64 else 0.8,
                label=f"{n} bit", drawstyle="steps-mid" if codes.size <= 64 else "default")
    ax.axhline(0.0, color="k", lw=0.6)
    if scale == "symlog":
        ax.set_yscale("symlog", linthresh=linthresh)
        ax.axhspan(-linthresh, linthresh, color="0.9", zorder=0)
        ylabel = f"realized - nominal (mrad; symlog, linear within ±{linthresh:g})"
    else:
        ylabel = "realized - nominal (mrad)"
    ax.set(title="Angle error per code (qubit 0, X), lowest/middle/highest bits\n"
           "nominal = code x pi / pi_code", xlabel="code / 2^(N-1)  (±1 = full scale)", ylabel=ylabel)
    ax.legend(fontsize=9)
    for a in axes.flat:
        a.grid(alpha=0.3)
    save_figure(fig, path)
    return path


def compact_codes(codes) -> str:
    """Calibrated pi codes of all channels in a few characters: "28", "28-29", else "~median"."""
    c = sorted({int(x) for x in np.asarray(codes).reshape(-1)})
    if len(c) == 1:
        return str(c[0])
    text = f"{c[0]}-{c[-1]}"
    return text if len(text) <= 9 else f"~{int(np.median(c))}"


def _mrad(x: float) -> str:
    """Angle (rad) in mrad, at most 7 characters (|x| <= pi)."""
    v = x * 1e3
    return f"{v:+.1f}" if abs(v) >= 10 else f"{v:+.2f}"


def _table(res: dict[str, Any]) -> Table:
    kinds = sorted({r["kind"] for r in res["rows"]})
    t = Table(title=f"Realized gates: {res['profile']} ({'/'.join(kinds)}, engine {res['engine']})")
    t.caption = ("1-F: avg gate infidelity, mean/worst code, calibrated pi; pi err, rms err: "
                 "angle error in mrad")
    for col in ("bits", "pi code", "pi err", "1-F avg", "1-F max", "1-F pi", "leak", "rms err"):
        t.add_column(col, justify="right", no_wrap=True)
    for r in res["rows"]:
        err = np.asarray(r["pi_error_rad"], dtype=float)
        t.add_row(
            str(r["bits"]),
            compact_codes(r["pi_codes"]),
            _mrad(float(np.mean(err))),
            f"{1 - r['fidelity_mean']:.1e}",
            f"{1 - r['fidelity_min']:.1e}",
            f"{1 - r.get('fidelity_pi', float('nan')):.1e}",
            f"{r['leakage_max']:.1e}",
            _mrad(r["angle_error_rms"]).lstrip("+"),
        )
    return t


def plan_note(plan: SolvePlan, measure: bool = True) -> str:
    """One line for stderr before a long build: the plan (:meth:`SolvePlan.describe`), its time
    estimated from unit costs measured on this machine (a ~0.1 s probe) when ``measure``."""
    if measure:
        plan = plan.with_unit_costs(measure_unit_costs())
    note = f"building {plan.describe()}"
    if plan.engine != "fast":
        note += "; --engine fast is the exact batched engine"
    return note


@app.command("gates")
def gates(
    profile: Annotated[str, typer.Argument(help="Profile YAML path or shipped profile name.")],
    bits: Annotated[
        str | None, typer.Option("--bits", "-b", help="DAC resolution(s): a range like 2..12 or one N (default: the profile's).")
    ] = None,
    engine: Annotated[str, typer.Option("--engine", "-e", help="Physics engine: fast | qutip | dynamics.")] = "fast",
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the PNG.")] = Path("out"),
    seed: Annotated[int, typer.Option(help="Seed of the DAC noise draws.")] = 0,
    draws: Annotated[int, typer.Option("--draws", help="Noise draws per code (noisy DACs).")] = DEFAULT_NOISE_DRAWS,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Rebuild instead of using the on-disk cache.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Gate fidelity, leakage and angle error vs DAC bits (dac.bits overridden per row); writes
    OUT/<profile>_gates.png. Tables are cached in $CRYOCTL_CACHE (default ~/.cache/cryoctl)."""
    base = profile_from_cli(profile, set_)
    bit_list = parse_bits(bits, base.dac.bits)
    if draws < 1:
        raise CryoctlError(f"expected at least 1 noise draw, got {draws}", field="--draws")

    def notify(plan: SolvePlan) -> None:  # before a table is built: its plan, if the build is long
        timed = plan.with_unit_costs(measure_unit_costs()) if plan.engine == "fast" else plan
        if plan.engine != "fast" or timed.seconds > NOTE_SECONDS:
            err_console.print(plan_note(timed, measure=False), highlight=False, markup=False)

    with Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=err_console, transient=True, disable=json_ or not err_console.is_terminal,
    ) as bar:
        per_table = base.qubits.count * len(AXES)
        sweep = bar.add_task("bit widths", total=len(bit_list))
        table = bar.add_task(f"{bit_list[0]}-bit table", total=per_table)
        finished: set[int] = set()

        def step(n: int, done: int, total: int) -> None:
            if done < total:  # (qubit, axis) number `done` of this table was just built
                q, a = divmod(done, len(AXES))
                what = f"qubit {q} axis {AXES[a]}" if q < base.qubits.count else "done"
                bar.update(table, completed=done, total=total, description=f"{n}-bit table: {what}")
            elif n not in finished:
                finished.add(n)
                bar.update(table, completed=total, total=total, description=f"{n}-bit table done")
                bar.update(sweep, advance=1, description=f"bit widths ({n} done)")
                if len(finished) < len(bit_list):
                    bar.reset(table, total=total, description=f"{bit_list[len(finished)]}-bit table")

        res = gates_sweep(profile, set_, bit_list, engine, seed, draws, use_cache=not no_cache, progress=step,
                          notify=notify)
    stem = re.sub(r"[^\w.-]+", "_", res["profile"])
    res["png"] = str(plot_sweep(res, Path(out) / f"{stem}_gates.png").resolve())
    res.pop("_curves")
    res["cz"] = cz_rows(base, engine, seed)
    if json_:
        print_json(res)
    else:
        console.print(_table(res))
        if res["cz"]:
            console.print(_cz_table(res["cz"], base))
        console.print(f"plot: {res['png']}")


def cz_rows(profile: HardwareProfile, engine: str, seed: int) -> list[dict[str, Any]]:
    """The realized CZ of every coupled pair at the profile's own flux-DAC resolution (empty without a
    flux section): the two-qubit row of the gate summary (``cryoctl cz`` sweeps the flux bits)."""
    if profile.flux is None or not profile.couplings:
        return []
    from cryoctl.gates.cz import realize_cz_point

    return [realize_cz_point(profile, tuple(c.qubits), engine=engine, seed=seed).summary() for c in profile.couplings]


def _cz_table(rows: list[dict[str, Any]], profile: HardwareProfile) -> Table:
    t = Table(title=f"Two-qubit gates: CZ through the {profile.flux.dac.bits}-bit flux DAC", title_justify="left")
    for col in ("pair", "gate ns", "1 - F", "leakage", "cond. phase err mrad", "MHz/code"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(f"{r['qubits'][0]}-{r['qubits'][1]}", f"{r['gate_time_ns']:.0f}", f"{r['infidelity']:.2e}",
                  f"{r['leakage']:.2e}", _mrad(r["cond_phase_error_rad"]), f"{r['mhz_per_code']:.2f}")
    return t
