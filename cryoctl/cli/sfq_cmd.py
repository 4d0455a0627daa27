"""`cryoctl sfq PROFILE`: SFQ gates of one qubit vs bitstream length, clock and timing jitter.

For an SFQ profile (``sfq`` section) and each clock f_clk = k f_01 in ``--clocks`` (the qubit's f_01, tip
angle and anharmonicity fixed): the resonant trains (k pulses, one per qubit period: fidelity against their
own nominal rotation and leakage vs length), the resonant Y(pi/2) train, optimized Y(pi/2) bitstreams of
(round(pi / (2 dtheta)) + e) qubit periods for each e in ``--extra`` (1 - F and leakage vs length), and the
best bitstream of each clock under timing jitter (``--jitter`` rms values, ``--draws`` draws each). The
numbers are :func:`cryoctl.gates.sfq_sweep.sfq_sweep`'s; the optimizations report progress on stderr.

Output: a table per clock (or ``--json``: the whole sweep, the best bitstreams as 0/1 lists and packed hex
memory words), and OUT/<profile>_sfq.png: the best Y(pi/2) bitstream of every clock drawn tick by tick (a
bar where a tick carries a pulse, a dot where it does not) next to the resonant train, 1 - F and leakage vs
bitstream length (resonant trains and optimized Y(pi/2)), and 1 - F vs jitter.
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
from cryoctl.gates.sfq_sweep import DEFAULT_CLOCKS, DEFAULT_EXTRA_PERIODS, DEFAULT_JITTER_PS, sfq_sweep


def parse_list(text: str | None, default, kind: type, option: str) -> list:
    """``"2,4,8"`` -> [2, 4, 8] (ints) or floats for ``kind=float``; None -> ``default``."""
    if text is None:
        return list(default)
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    pattern = r"\d+" if kind is int else r"\d+(\.\d*)?|\.\d+"
    if not parts or not all(re.fullmatch(pattern, p) for p in parts):
        what = "non-negative integers like 2,4,8" if kind is int else "non-negative numbers like 0,0.5,1"
        raise CryoctlError(f"malformed list {text!r}: expected comma-separated {what}", field=option)
    return [kind(p) for p in parts]


def plot_sfq(res: dict[str, Any], path: Path) -> Path:
    """Bitstreams (top row, one strip per clock) and the three curves (bottom row), see module docstring."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clocks = res["clocks"]
    colors = plt.cm.viridis(np.linspace(0.0, 0.85, len(clocks)))
    fig = plt.figure(figsize=(15, 4.2 + 1.1 * len(clocks)), constrained_layout=True)
    grid = fig.add_gridspec(len(clocks) + 3, 3)
    fig.suptitle(f"{res['profile']}: SFQ control of qubit {res['qubit']} (f01 = {res['qubit_ghz']:g} GHz, "
                 f"tip angle {res['tip_angle_rad']:.4g} rad, {res['levels']} levels, seed {res['seed']}); bitstreams: "
                 "a bar = a pulse at that clock tick, a dot = no pulse")
    for i, c in enumerate(clocks):
        ax = fig.add_subplot(grid[i, :])
        bits = np.asarray(c["best"]["bits"], dtype=bool)
        ticks = np.arange(bits.size)
        m = c["clock_per_qubit"]
        res_ticks = np.arange(c["resonant_y90"]["pulses"]) * m
        ax.vlines(ticks[bits], 0.1, 0.9, color=colors[i], lw=1.0)
        ax.plot(ticks[~bits], np.full((~bits).sum(), 0.5), ".", ms=1.5, color="0.6")
        ax.vlines(res_ticks, -0.9, -0.1, color="0.3", lw=1.0)
        ax.set_xlim(-1, max(bits.size, res_ticks[-1] + 1 if res_ticks.size else 1) + 1)
        ax.set_ylim(-1, 1)
        ax.set_yticks([0.5, -0.5], ["optimized", "resonant"], fontsize=8)
        ax.set_title(f"clock {m} x f01 = {c['clock_ghz']:g} GHz: best Y(pi/2) bitstream, {c['best']['ticks']} ticks, "
                     f"{c['best']['pulses']} pulses, 1-F = {c['best']['infidelity']:.2e} (resonant: "
                     f"{c['resonant_y90']['pulses']} pulses, 1-F = {c['resonant_y90']['infidelity']:.2e})", fontsize=9)
        if i == len(clocks) - 1:
            ax.set_xlabel("clock tick")
    ax_f, ax_l, ax_j = (fig.add_subplot(grid[len(clocks):, j]) for j in range(3))
    floor = 1e-12
    for c, col in zip(clocks, colors):
        m, r = c["clock_per_qubit"], c["resonant"]
        lab = f"{m} x f01"
        ax_f.semilogy(r["ticks"], np.maximum(r["infidelity"], floor), "-", color=col, lw=0.9, alpha=0.6,
                      label=f"resonant k pulses vs R_y(k dθ), {lab}")
        ax_l.semilogy(r["ticks"], np.maximum(r["leakage"], floor), "-", color=col, lw=0.9, alpha=0.6,
                      label=f"resonant, {lab}")
        t = [y["ticks"] for y in c["y90"]]
        ax_f.semilogy(t, [max(y["infidelity"], floor) for y in c["y90"]], "o-", color=col, label=f"optimized Y(π/2), {lab}")
        ax_l.semilogy(t, [max(y["leakage"], floor) for y in c["y90"]], "o-", color=col, label=f"optimized Y(π/2), {lab}")
        ax_f.semilogy([c["resonant_y90"]["ticks"]], [c["resonant_y90"]["infidelity"]], "x", color=col, ms=9)
        js = c["jitter"]
        ax_j.semilogy([j["jitter_ps"] for j in js], [max(j["infidelity"], floor) for j in js], "o-", color=col,
                      label=f"best Y(π/2), {lab}")
    if res.get("profile_jitter_ps"):
        ax_j.axvline(res["profile_jitter_ps"], color="0.5", ls=":", label="profile's jitter")
    ax_f.set(title="1 - F vs bitstream length (x: resonant Y(π/2))", xlabel="ticks", ylabel="1 - F (leakage included)")
    ax_l.set(title="Leakage vs bitstream length", xlabel="ticks", ylabel="leakage")
    ax_j.set(title=f"Timing jitter: 1 - F of the best Y(π/2) ({res['jitter_draws']} draws)", xlabel="rms jitter (ps)",
             ylabel="1 - F")
    for a in (ax_f, ax_l, ax_j):
        a.grid(alpha=0.3, which="both")
        a.legend(fontsize=7)
    save_figure(fig, path)
    return path


def _table(res: dict[str, Any], c: dict[str, Any]) -> Table:
    t = Table(title=f"{res['profile']}: clock {c['clock_per_qubit']} x f01 = {c['clock_ghz']:g} GHz, "
                    f"tip angle {res['tip_angle_rad']:.4g} rad")
    t.caption = ("1-F: average gate fidelity on the qubit block vs R_y(π/2), leakage included; resonant: "
                 f"{c['resonant_y90']['pulses']} pulses, 1-F = {c['resonant_y90']['infidelity']:.3e}, leakage "
                 f"{c['resonant_y90']['leakage']:.2e}; jitter (best): "
                 + ", ".join(f"{j['jitter_ps']:g} ps -> {j['infidelity']:.2e}" for j in c["jitter"]))
    for col in ("extra periods", "ticks", "ns", "pulses", "1-F", "leakage", "evaluations"):
        t.add_column(col, justify="right", no_wrap=True)
    for y in c["y90"]:
        t.add_row(str(y["extra_periods"]), str(y["ticks"]), f"{y['duration_ns']:.2f}", str(y["pulses"]),
                  f"{y['infidelity']:.3e}", f"{y['leakage']:.2e}", str(y["evaluations"]))
    return t


@app.command("sfq")
def sfq(
    profile: Annotated[str, typer.Argument(help="SFQ profile YAML path or shipped name (e.g. sfq_ersfq).")],
    clocks: Annotated[str | None, typer.Option(
        "--clocks", help="Clock multiples k (clock = k x f01), comma-separated "
        f"(default {','.join(map(str, DEFAULT_CLOCKS))}).")] = None,
    extra: Annotated[str | None, typer.Option(
        "--extra", help="Y(pi/2) bitstream lengths: extra qubit periods beyond the resonant train "
        f"(default {','.join(map(str, DEFAULT_EXTRA_PERIODS))}).")] = None,
    jitter: Annotated[str | None, typer.Option(
        "--jitter", help=f"rms timing jitter values in ps (default {','.join(f'{j:g}' for j in DEFAULT_JITTER_PS)}).")] = None,
    draws: Annotated[int, typer.Option("--draws", help="Jitter draws per value.")] = 64,
    rounds: Annotated[int, typer.Option("--rounds", help="Optimizer rounds per bitstream (local search).")] = 300,
    qubit: Annotated[int, typer.Option("--qubit", "-q", help="Qubit of the profile.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the optimizer's perturbations and of the jitter draws.")] = 0,
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the PNG.")] = Path("out"),
    json_: JsonOpt = False,
) -> None:
    """SFQ gates vs bitstream length, clock and jitter: resonant trains vs optimized Y(pi/2) bitstreams
    (fidelity, leakage); writes OUT/<profile>_sfq.png with the bitstreams drawn."""
    prof = profile_from_cli(profile, set_)
    if prof.sfq is None:
        raise CryoctlError(f"profile {prof.name!r} has no sfq section: not SFQ-controlled (try sfq_ersfq)",
                           field="sfq")
    ks = parse_list(clocks, DEFAULT_CLOCKS, int, "--clocks")
    extras = parse_list(extra, DEFAULT_EXTRA_PERIODS, int, "--extra")
    sig = parse_list(jitter, DEFAULT_JITTER_PS, float, "--jitter")
    if draws < 1:
        raise CryoctlError(f"expected at least 1 jitter draw, got {draws}", field="--draws")
    if rounds < 0:
        raise CryoctlError(f"expected non-negative rounds, got {rounds}", field="--rounds")
    if seed < 0:
        raise CryoctlError(f"expected a non-negative seed, got {seed}", field="--seed")
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err_console, disable=json_ or not err_console.is_terminal,
                  transient=True) as bar:
        task = bar.add_task("optimizing Y(pi/2) bitstreams", total=len(ks) * len(extras))

        def step(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=f"optimized {label}")

        try:
            res = sfq_sweep(prof, qubit, ks, extras, sig, draws, seed, rounds, progress=step)
        except CryoctlError as exc:  # name the option the user typed
            opt = {"clocks": "--clocks", "extra_periods": "--extra", "jitter_ps": "--jitter", "qubit": "--qubit"}
            if exc.field in opt:
                raise CryoctlError(str(exc).split(": ", 1)[-1], field=opt[exc.field]) from None
            raise
    stem = re.sub(r"[^\w.-]+", "_", res["profile"])
    res["png"] = str(plot_sfq(res, Path(out) / f"{stem}_sfq.png").resolve())
    if json_:
        print_json(res)
    else:
        for c in res["clocks"]:
            console.print(_table(res, c))
        console.print(f"plot: {res['png']}")
