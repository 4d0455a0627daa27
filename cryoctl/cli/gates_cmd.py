"""`cryoctl gates PROFILE`: realized single-qubit gate quality vs DAC resolution.

For every resolution N in ``--bits`` the profile is re-resolved with ``dac.bits=N`` (all other fields,
``--set`` overrides included, unchanged), calibrated through its DAC (Rabi + DRAG scans), and its
realized-gate table is built (or read from the on-disk cache). One row per N: fidelity, leakage and
angle error over all codes, axes and qubits, plus the calibrated pi pulse. A PNG shows infidelity
and leakage vs bits and the angle error vs code.
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
from cryoctl.cli.common import JsonOpt, SetOpt, console, err_console, print_json, profile_from_cli, save_figure
from cryoctl.errors import CryoctlError
from cryoctl.gates import build_gate_table, code_metrics, load_or_build, table_metrics
from cryoctl.gates.build import DEFAULT_NOISE_DRAWS
from cryoctl.gates.realize import DEFAULT_NODES, ENGINES, noise_method, table_kind
from cryoctl.gates.table import AXES
from cryoctl.physics.lindblad import dephasing_rate
from cryoctl.profile import HardwareProfile, bits_overrides, profile_hash
from cryoctl.pulse import Drive

_BITS_RE = re.compile(r"^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$")
BITS_MIN, BITS_MAX = 1, 24


def parse_bits(text: str | None, default: int) -> list[int]:
    """'2..12' -> [2, ..., 12]; '6' -> [6]; None -> [default]."""
    if text is None:
        return [default]
    m = _BITS_RE.match(str(text))
    if not m:
        raise CryoctlError(f"expected a bit count like 6 or a range like 2..12, got {text!r}", field="--bits")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) is not None else lo
    if not BITS_MIN <= lo <= hi <= BITS_MAX:
        raise CryoctlError(
            f"expected {BITS_MIN} <= first <= last <= {BITS_MAX}, got {text!r}", field="--bits"
        )
    return list(range(lo, hi + 1))


def idle_floor_infidelity(profile: HardwareProfile) -> tuple[float, float] | None:
    """(1 - F_avg, t_ns) of the qubit idling for as long as a gate is played; None without T1/T2.

    Amplitude damping + dephasing over time t on the qubit block: p1 -> p1 e^{-t/T1} and
    rho_01 -> rho_01 e^{-t/T2}, so the row-major superoperator has trace
    Tr S = 1 + e^{-t/T1} + 2 e^{-t/T2}, F_e = Tr S / 4 and F_avg = (2 F_e + 1) / 3:

        F_avg = (3 + e^{-t/T1} + 2 e^{-t/T2}) / 6.

    The coherence rate is 1/T2 = 1/(2 T1) + 1/T_phi with 1/T_phi from
    :func:`cryoctl.physics.lindblad.dephasing_rate` (T2 = 2 T1 when only T1 is set, no T1 decay when
    only T2 is set), exactly as the engines model it. t is the played waveform (pulse + filter tail),
    the time the decoherence acts during one gate.
    """
    qb = profile.qubits
    if qb.t1_us is None and qb.t2_us is None:
        return None
    t_ns = Drive(profile, 0).n_samples * profile.dac.dt_ns
    g1 = 0.0 if qb.t1_us is None else 1.0 / (qb.t1_us * 1e3)
    g2 = 0.5 * g1 + dephasing_rate(qb.t1_us, qb.t2_us)
    f_avg = (3.0 + np.exp(-t_ns * g1) + 2.0 * np.exp(-t_ns * g2)) / 6.0
    return float(1.0 - f_avg), float(t_ns)


def solve_count(profile: HardwareProfile, bits: list[int], n_noise_draws: int) -> dict[str, int]:
    """Engine solves a sweep needs (before caching): codes x axes x qubits x noise draws.

    A deterministic DAC is solved once per code. A noisy one averaged by Monte Carlo (a reconstruction
    filter is present) costs n_noise_draws whole-pulse solves per code; averaged exactly by quadrature
    it costs one single-sample solve per DAC sample and Gauss-Hermite node (per noisy channel), which
    is counted here as DEFAULT_NODES^channels "draws" of the pulse.
    """
    how = noise_method(profile) if table_kind(profile) == "channel" else "none"
    if how == "montecarlo":
        draws = n_noise_draws
    elif how == "quadrature":
        draws = DEFAULT_NODES ** (2 if profile.pulse.shape == "drag" else 1)
    else:
        draws = 1
    codes = int(sum(2**n for n in bits))
    out = {"codes": codes, "axes": len(AXES), "qubits": profile.qubits.count, "draws": draws, "method": how}
    out["solves"] = codes * len(AXES) * profile.qubits.count * draws
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
) -> dict[str, Any]:
    """Metrics per resolution; per-code angle errors (qubit 0, axis x) under ``"_curves"``.

    ``progress(bits, done, total)`` is called after each (qubit, axis) of a table being built and
    once with done == total when a resolution is finished (built or read from the cache).
    """
    if engine not in ENGINES:
        raise CryoctlError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}", field="--engine")
    rows, curves = [], []
    base = profile_from_cli(ref, overrides)
    for n in bits:
        prof = profile_from_cli(ref, [*(overrides or []), *bits_overrides(base, n)])
        step = None if progress is None else (lambda done, total, n=n: progress(n, done, total))
        if use_cache:
            table = load_or_build(prof, engine, seed, n_noise_draws=n_noise_draws, progress=step)
        else:
            table = build_gate_table(prof, engine, seed, n_noise_draws, cache_dir=None, progress=step)
        row = table_metrics(table)
        row["profile_hash"] = profile_hash(prof)
        row["pi_codes"] = np.asarray(table.pi_codes).tolist()
        row["pi_error_rad"] = table.meta.get("pi_error")
        row["drag_beta"] = np.asarray(table.drag_beta).tolist()
        rows.append(row)
        m = code_metrics(table, "x", 0)
        curves.append((n, table.codes, m["angle_error"]))
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
    ax.semilogy(b, [max(r["angle_error_rms"], 1e-12) * 1e3 for r in rows], "o-", label="rms over codes")
    ax.semilogy(b, [max(r["angle_error_max"], 1e-12) * 1e3 for r in rows], "s--", label="max |.| over codes")
    ax.set(title="Angle error realized - nominal (all codes, axes, qubits)\n"
           "nominal = code x pi / pi_code: the angle the calibrated controller believes",
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


def solve_note(profile: HardwareProfile, bits: list[int], n_noise_draws: int, engine: str) -> str:
    """One line for stderr before a slow engine starts: how many solves, and the fast alternative."""
    c = solve_count(profile, bits, n_noise_draws)
    what = {"montecarlo": "noise draws", "quadrature": "quadrature nodes"}.get(c["method"])
    per = f" x {c['draws']} {what}" if what else ""
    return (f"engine {engine}: up to {c['codes']:,} codes x {c['axes']} axes x {c['qubits']} qubits{per} "
            f"= {c['solves']:,} pulse solves (plus calibration; cached tables are reused); "
            "--engine fast is the exact batched engine")


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
    if engine != "fast" and engine in ENGINES:
        err_console.print(solve_note(base, bit_list, draws, engine))
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

        res = gates_sweep(profile, set_, bit_list, engine, seed, draws, use_cache=not no_cache, progress=step)
    stem = re.sub(r"[^\w.-]+", "_", res["profile"])
    res["png"] = str(plot_sweep(res, Path(out) / f"{stem}_gates.png").resolve())
    res.pop("_curves")
    if json_:
        print_json(res)
    else:
        console.print(_table(res))
        console.print(f"plot: {res['png']}")
