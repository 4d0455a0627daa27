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
from cryoctl.gates.realize import ENGINES
from cryoctl.profile import bits_overrides, profile_hash

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
    """Metrics per resolution; per-code angle errors (qubit 0, axis x) under ``"_curves"``."""
    if engine not in ENGINES:
        raise CryoctlError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}", field="--engine")
    rows, curves = [], []
    base = profile_from_cli(ref, overrides)
    for n in bits:
        prof = profile_from_cli(ref, [*(overrides or []), *bits_overrides(base, n)])
        if use_cache:
            table = load_or_build(prof, engine, seed, n_noise_draws=n_noise_draws)
        else:
            table = build_gate_table(prof, engine, seed, n_noise_draws, cache_dir=None)
        row = table_metrics(table)
        row["profile_hash"] = profile_hash(prof)
        row["pi_codes"] = np.asarray(table.pi_codes).tolist()
        row["pi_error_rad"] = table.meta.get("pi_error")
        row["drag_beta"] = np.asarray(table.drag_beta).tolist()
        rows.append(row)
        m = code_metrics(table, "x", 0)
        curves.append((n, table.codes, m["angle_error"]))
        if progress is not None:
            progress(n)
    return {
        "profile": base.name,
        "profile_hash": profile_hash(base),
        "engine": engine,
        "seed": seed,
        "n_noise_draws": n_noise_draws,
        "amplitude_mode": base.pulse.amplitude_mode,
        "pulse_shape": base.pulse.shape,
        "rows": rows,
        "_curves": curves,
    }


def plot_sweep(res: dict[str, Any], path: Path) -> Path:
    """Three panels: infidelity vs bits, leakage vs bits, angle error vs (normalised) code."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = res["rows"]
    b = np.array([r["bits"] for r in rows])
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), constrained_layout=True)
    fig.suptitle(
        f"{res['profile']}: realized gates vs DAC bits ({res['amplitude_mode']} amplitude, "
        f"{res['pulse_shape']} pulse, engine {res['engine']})"
    )
    ax = axes[0]
    ax.semilogy(b, [1 - r["fidelity_mean"] for r in rows], "o-", label="1 - F, mean over codes")
    ax.semilogy(b, [1 - r["fidelity_min"] for r in rows], "s--", label="1 - F, worst code")
    if all("fidelity_pi" in r for r in rows):
        ax.semilogy(b, [1 - r["fidelity_pi"] for r in rows], "^-", label="1 - F, calibrated pi pulse")
    ax.set(title="Average gate infidelity (qubit block)", xlabel="DAC bits", ylabel="1 - F_avg")
    ax.legend(fontsize=9)
    ax = axes[1]
    ax.semilogy(b, [max(r["leakage_max"], 1e-18) for r in rows], "o-", label="max over codes")
    ax.semilogy(b, [max(r["leakage_mean"], 1e-18) for r in rows], "s--", label="mean over codes")
    ax.set(title="Leakage out of {|0>, |1>}", xlabel="DAC bits", ylabel="population")
    ax.legend(fontsize=9)
    ax = axes[2]
    for n, codes, err in res["_curves"]:
        x = codes / 2.0 ** (n - 1)
        ax.plot(x, err * 1e3, lw=0.9, label=f"{n} bit", drawstyle="steps-mid" if codes.size <= 64 else "default")
    ax.set_yscale("symlog", linthresh=1.0)  # coarse DACs err by radians, fine ones by micro-radians
    ax.set(title="Angle error vs code (qubit 0, X)", xlabel="code / 2^(N-1)", ylabel="realized - nominal (mrad, symlog)")
    if len(res["_curves"]) <= 12:
        ax.legend(fontsize=8, ncol=2)
    for a in axes:
        a.grid(alpha=0.3)
    save_figure(fig, path)
    return path


def _table(res: dict[str, Any]) -> Table:
    kinds = sorted({r["kind"] for r in res["rows"]})
    t = Table(title=f"Realized gates: {res['profile']} ({'/'.join(kinds)}, engine {res['engine']})")
    t.caption = "1-F: average gate infidelity (mean/worst code, calibrated pi); pi err, angle rms in mrad"
    for col in ("bits", "pi code", "pi err", "1-F mean", "1-F worst", "1-F pi", "leak max", "angle rms"):
        t.add_column(col, justify="right", no_wrap=True)
    for r in res["rows"]:
        codes = sorted({c for row in r["pi_codes"] for c in row})
        err = np.asarray(r["pi_error_rad"], dtype=float)
        t.add_row(
            str(r["bits"]),
            ",".join(map(str, codes[:2])) + ("+" if len(codes) > 2 else ""),
            f"{np.mean(err) * 1e3:+.1f}",
            f"{1 - r['fidelity_mean']:.1e}",
            f"{1 - r['fidelity_min']:.1e}",
            f"{1 - r.get('fidelity_pi', float('nan')):.1e}",
            f"{r['leakage_max']:.1e}",
            f"{r['angle_error_rms'] * 1e3:.2f}",
        )
    return t


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
    with Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=err_console, transient=True, disable=json_ or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("building gate tables", total=len(bit_list))

        def step(n: int) -> None:
            bar.update(task, advance=1, description=f"built {n}-bit table")

        res = gates_sweep(profile, set_, bit_list, engine, seed, draws, use_cache=not no_cache, progress=step)
    stem = re.sub(r"[^\w.-]+", "_", res["profile"])
    res["png"] = str(plot_sweep(res, Path(out) / f"{stem}_gates.png").resolve())
    res.pop("_curves")
    if json_:
        print_json(res)
    else:
        console.print(_table(res))
        console.print(f"plot: {res['png']}")
