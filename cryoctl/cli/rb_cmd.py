"""`cryoctl rb PROFILE`: single-qubit Clifford randomized benchmarking on the emulated hardware vs DAC bits.

For every resolution N in ``--bits`` the profile is re-resolved with ``dac.bits=N`` (its ``--set``
overrides kept), its realized-gate table is built or read from the cache (as ``cryoctl gates`` does,
memory checked first), the 24 Cliffords are compiled into the controller's native pulses and phase
words on ``--qubit``, and RB sequences are run and fitted (:mod:`cryoctl.circuit.rb`). Every
resolution plays the SAME random sequences (one Generator seeded with ``--seed`` per row: common random
numbers, so differences between rows are differences of the hardware, not of the draw).

One row per N: error per Clifford r +- its 1-sigma fit error, the mean infidelity 1 - F_avg of the
realized Clifford set next to it (equal for gate-independent noise), leakage per Clifford from the
leakage-RB fit and the set's mean leakage. A PNG shows the survival decay curves with their fits and
r vs bits.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from cryoctl.circuit.rb import DEFAULT_LENGTHS, DEFAULT_SEQUENCES, check_lengths, table_rb
from cryoctl.cli import app
from cryoctl.cli.common import JsonOpt, SetOpt, console, parse_bits, print_json, profile_from_cli, save_figure
from cryoctl.cli.gates_cmd import sweep_plans
from cryoctl.errors import CryoctlError
from cryoctl.gates import load_or_build
from cryoctl.gates.build import DEFAULT_NOISE_DRAWS
from cryoctl.profile import profile_hash


def parse_lengths(text: str | None) -> list[int]:
    """``"1,2,4,8"`` -> [1, 2, 4, 8] (sorted, distinct; at least 4); None -> the default lengths."""
    if text is None:
        return list(DEFAULT_LENGTHS)
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise CryoctlError(f"malformed lengths {text!r}: expected comma-separated positive integers like "
                           "1,2,4,8,16", field="--lengths")
    return [int(p) for p in parts]


def rb_sweep(
    ref: str,
    overrides: list[str] | None,
    bits: list[int],
    qubit: int = 0,
    lengths: list[int] | None = None,
    n_sequences: int = DEFAULT_SEQUENCES,
    seed: int = 0,
    engine: str = "fast",
    n_noise_draws: int = DEFAULT_NOISE_DRAWS,
) -> dict[str, Any]:
    """RB per resolution (module docstring): {profile, ..., rows: [RBResult.to_dict() + bits, ...]}."""
    lengths = list(DEFAULT_LENGTHS) if lengths is None else lengths
    try:
        check_lengths(lengths, n_sequences)
    except CryoctlError as exc:  # name the option the user typed
        raise CryoctlError(str(exc).split(": ", 1)[-1], field=f"--{exc.field}") from None
    base = profile_from_cli(ref, overrides)
    if isinstance(qubit, bool) or not 0 <= qubit < base.qubits.count:
        raise CryoctlError(f"qubit {qubit} out of range [0, {base.qubits.count - 1}]", field="--qubit")
    rows = []
    for n, prof, _plan in sweep_plans(ref, overrides, bits, engine, n_noise_draws):
        table = load_or_build(prof, engine, seed, n_noise_draws=n_noise_draws)
        res = table_rb(table, qubit, lengths, n_sequences, rng=np.random.default_rng(seed))
        rows.append({"bits": n, "profile_hash": profile_hash(prof), "kind": table.kind, **res.to_dict()})
    return {
        "profile": base.name, "profile_hash": profile_hash(base), "qubit": qubit, "engine": engine, "seed": seed,
        "n_sequences": n_sequences, "lengths": sorted(set(lengths)), "rows": rows,
    }


def plot_rb(res: dict[str, Any], path: Path) -> Path:
    """Two panels: survival P(m) with error bars and fitted A p^m + B per resolution; r vs bits beside the
    realized Clifford set's mean infidelity and the leakage per Clifford."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    rows = res["rows"]
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.5), constrained_layout=True)
    fig.suptitle(f"{res['profile']}: single-qubit Clifford RB on qubit {res['qubit']} "
                 f"({res['n_sequences']} sequences per length, seed {res['seed']})")
    ax = axes[0]
    colors = plt.cm.viridis(np.linspace(0.0, 0.9, len(rows)))
    for r, color in zip(rows, colors):
        m = np.asarray(r["lengths"], dtype=float)
        ax.errorbar(m, r["survival_mean"], yerr=r["survival_sem"], fmt="o", ms=4, color=color, capsize=2)
        mm = np.geomspace(m.min(), m.max(), 200)
        f = r["fit"]
        ax.plot(mm, f["A"] * f["p"] ** mm + f["B"], color=color, lw=1.2,
                label=f"{r['bits']} bit: r = {r['epc']:.2e} ± {r['epc_err']:.1e}")
    ax.set_xscale("log")
    ax.set(title="Survival of |0> (leaked population does not survive)", xlabel="Cliffords m",
           ylabel="P(m), mean over sequences")
    ax.legend(fontsize=8)
    ax = axes[1]
    b = np.array([r["bits"] for r in rows])
    floor = 1e-12
    ax.errorbar(b, [max(r["epc"], floor) for r in rows], yerr=[r["epc_err"] for r in rows], fmt="o-", capsize=3,
                label="RB error per Clifford r (fit, 1 sigma)")
    ax.semilogy(b, [max(r["clifford_infidelity"], floor) for r in rows], "s--",
                label="1 - F_avg, mean over the realized Clifford set")
    leak = [r["leakage_per_clifford"] for r in rows]
    if any(v > 0 for v in leak):
        ax.semilogy(b, [max(v, floor) for v in leak], "^:", label="leakage per Clifford (leakage RB fit)")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set(title="Error per Clifford vs DAC bits", xlabel="DAC bits", ylabel="per Clifford")
    ax.legend(fontsize=9)
    for a in axes:
        a.grid(alpha=0.3, which="both")
    save_figure(fig, path)
    return path


def _table(res: dict[str, Any]) -> Table:
    t = Table(title=f"Randomized benchmarking: {res['profile']}, qubit {res['qubit']} "
                    f"({res['n_sequences']} sequences x {len(res['lengths'])} lengths up to {max(res['lengths'])})")
    t.caption = ("r: error per Clifford (RB fit, ± 1 sigma); 1-F Cliff: mean infidelity of the 24 realized Cliffords "
                 "(= r for gate-independent noise); leak/Cliff: leakage-RB fit (± 1 sigma) and set mean")
    for col in ("bits", "r (EPC)", "± err", "1-F Cliff", "leak/Cliff", "± err", "leak set", "x90 code"):
        t.add_column(col, justify="right", no_wrap=True)
    for r in res["rows"]:
        t.add_row(
            str(r["bits"]), f"{r['epc']:.3e}", f"{r['epc_err']:.1e}", f"{r['clifford_infidelity']:.3e}",
            f"{r['leakage_per_clifford']:.2e}", f"{r['leakage_per_clifford_err']:.1e}",
            f"{r['clifford_leakage']:.2e}", str(r["native_words"].get("x90", "")),
        )
    return t


@app.command("rb")
def rb(
    profile: Annotated[str, typer.Argument(help="Profile YAML path or shipped profile name.")],
    bits: Annotated[
        str | None, typer.Option("--bits", "-b", help="DAC resolution(s): a range like 2..10 or one N (default: the profile's).")
    ] = None,
    qubit: Annotated[int, typer.Option("--qubit", "-q", help="Qubit to benchmark.")] = 0,
    lengths: Annotated[
        str | None, typer.Option("--lengths", help="Sequence lengths (Cliffords), comma-separated "
                                 f"(default: {','.join(map(str, DEFAULT_LENGTHS))}).")
    ] = None,
    sequences: Annotated[int, typer.Option("--sequences", "-n", help="Random sequences per length.")] = DEFAULT_SEQUENCES,
    seed: Annotated[int, typer.Option(help="Seed of the random sequences (and of the DAC noise draws).")] = 0,
    engine: Annotated[str, typer.Option("--engine", "-e", help="Physics engine: fast | qutip | dynamics.")] = "fast",
    draws: Annotated[int, typer.Option("--draws", help="Noise draws per code (noisy DACs).")] = DEFAULT_NOISE_DRAWS,
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the PNG.")] = Path("out"),
    json_: JsonOpt = False,
) -> None:
    """Clifford RB vs DAC bits: error per Clifford (± fit error), leakage per Clifford, and the realized
    Clifford set's mean infidelity; writes OUT/<profile>_rb.png."""
    base = profile_from_cli(profile, set_)
    bit_list = parse_bits(bits, base.dac.bits)
    if draws < 1:
        raise CryoctlError(f"expected at least 1 noise draw, got {draws}", field="--draws")
    res = rb_sweep(profile, set_, bit_list, qubit, parse_lengths(lengths), sequences, seed, engine, draws)
    stem = re.sub(r"[^\w.-]+", "_", res["profile"])
    res["png"] = str(plot_rb(res, Path(out) / f"{stem}_rb.png").resolve())
    if json_:
        print_json(res)
    else:
        console.print(_table(res))
        console.print(f"plot: {res['png']}")
