"""`cryoctl cz PROFILE...`: the realized flux CZ of every coupled pair vs flux-DAC resolution.

For every profile and every flux-DAC resolution N in ``--bits`` the profile is re-resolved with
``flux.dac.bits=N`` (:func:`cryoctl.gates.cz.flux_bits_overrides`; ``--set`` overrides kept), and for each
coupled pair the CZ is calibrated through the quantized flux DAC (lab-style amplitude x duration scan,
:func:`cryoctl.gates.cz.calibrate_cz`) and realized as played: flux-DAC noise/jitter averaged over
``--draws`` shots, T1/T2 when the profile has them (:func:`cryoctl.gates.cz.realize_cz_point`). One row
per (profile, N, pair): conditional-phase error, leakage, 1 - F, gate time and the flux code step in MHz
of the fluxed qubit at the calibrated amplitude.

Resolution floor. Per profile and N, the mean over pairs of 1 - F; its floor is the lowest value over the
sweep, and the floor "sets in" at the smallest N from which every higher swept N stays within
``FLOOR_TOLERANCE`` (x 1.25) of it: below that N the flux DAC's resolution limits the CZ, above it noise,
line distortion, decoherence and the pulse shape do.

A PNG per profile (OUT/<profile>_cz.png): phase error, leakage and 1 - F vs bits (log axes, every pair and
the mean, the floor marked), the code step vs bits, and the calibration chevron (leakage and conditional
phase vs amplitude code and duration around the calibrated point of the first pair, at the highest swept
resolution). With several profiles also OUT/cz_floor.png: mean 1 - F vs flux bits of every profile.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from cryoctl.cli import app
from cryoctl.cli.common import JsonOpt, SetOpt, console, err_console, parse_bits, print_json, profile_from_cli, save_figure
from cryoctl.conventions import ENGINE_NAMES
from cryoctl.errors import CryoctlError
from cryoctl.gates.cz import CzPair, cz_chevron, flux_bits_overrides, realize_cz_point
from cryoctl.profile import HardwareProfile, profile_hash, shipped_profiles

#: a sweep whose projected time exceeds this (after the first pair) gets an estimate on stderr
NOTE_SECONDS = 10.0
#: the floor sets in where the mean 1 - F stays within this factor of its lowest value
FLOOR_TOLERANCE = 1.25


def _flux_profiles() -> list[str]:
    names = []
    for path in shipped_profiles():
        try:
            if profile_from_cli(path.stem, []).flux is not None:
                names.append(path.stem)
        except CryoctlError:
            continue
    return names


def check_cz_profile(profile: HardwareProfile, ref: str) -> None:
    """CryoctlError naming the field when ``profile`` cannot make a flux CZ (no flux section, no couplings)."""
    if profile.flux is None:
        shipped = ", ".join(_flux_profiles()) or "none"
        raise CryoctlError(f"profile {ref!r} has no flux section (flux DAC, tunable qubits); a CZ needs one "
                           f"(shipped profiles with one: {shipped})", field="flux")
    if not profile.couplings:
        raise CryoctlError(f"profile {ref!r} has no couplings; a CZ needs a coupled pair "
                           "(e.g. --set 'couplings=[{qubits: [0, 1], j_mhz: 10.0}]')", field="couplings")


def parse_pairs(pairs: list[str] | None, profile: HardwareProfile) -> list[tuple[int, int]]:
    """``["0,1", "2-3"]`` -> [(0, 1), (2, 3)] (each must be a coupling); None -> every coupling."""
    coupled = [tuple(c.qubits) for c in profile.couplings]
    if not pairs:
        return coupled
    out = []
    for text in pairs:
        m = re.fullmatch(r"\s*(\d+)\s*[,-]\s*(\d+)\s*", text)
        if not m:
            raise CryoctlError(f"malformed pair {text!r}: expected two qubit indices like 0,1", field="--pair")
        a, b = int(m[1]), int(m[2])
        match = [c for c in coupled if set(c) == {a, b}]
        if not match:
            raise CryoctlError(f"qubits {a} and {b} are not coupled (couplings: {[list(c) for c in coupled]})",
                               field="--pair")
        out.append(match[0])
    return out


def floor_onset(bits: list[int], infidelity: list[float], tolerance: float = FLOOR_TOLERANCE) -> tuple[int | None, float]:
    """(N, floor): floor = min of ``infidelity`` over the sweep; N = the smallest swept resolution from which
    every value (at N and above) is within ``tolerance`` x floor (module docstring); None when only the
    highest swept resolution is (still falling: no floor within the sweep)."""
    order = np.argsort(bits)
    b, f = np.asarray(bits)[order], np.asarray(infidelity, dtype=float)[order]
    floor = float(np.min(f))
    within = f <= tolerance * floor
    onset = len(b) - 1
    while onset > 0 and within[onset - 1]:
        onset -= 1
    return (None if onset == len(b) - 1 else int(b[onset])), floor


def cz_sweep(
    refs: list[str],
    overrides: list[str] | None,
    bits: list[int] | None,
    engine: str = "fast",
    noise_draws: int = 8,
    seed: int = 0,
    pairs: list[str] | None = None,
    chevron: bool = True,
    progress=None,
) -> dict[str, Any]:
    """Rows per (profile, flux bits, pair), the floor per profile, and the chevron data (``"_chevron"``).

    ``bits``: flux-DAC resolutions (None: each profile's own). ``progress(profile, bits, pair, done, total,
    seconds)`` is called after every realized pair (``seconds`` that pair's wall time)."""
    if engine not in ENGINE_NAMES:
        raise CryoctlError(f"unknown engine {engine!r}; expected one of {list(ENGINE_NAMES)}", field="--engine")
    if noise_draws < 0:
        raise CryoctlError(f"expected --draws >= 0, got {noise_draws}", field="--draws")
    plan = []
    for ref in refs:
        base = profile_from_cli(ref, overrides)
        check_cz_profile(base, ref)
        plist = parse_pairs(pairs, base)
        blist = bits if bits is not None else [base.flux.dac.bits]
        profs = [(n, profile_from_cli(ref, [*(overrides or []), *flux_bits_overrides(base, n)])) for n in blist]
        plan.append((ref, base, plist, profs))
    total = sum(len(plist) * len(profs) for _, _, plist, profs in plan)
    done = 0
    out = []
    for ref, base, plist, profs in plan:
        rows, chev = [], None
        for n, prof in profs:
            for pair in plist:
                t0 = time.perf_counter()
                point = realize_cz_point(prof, pair, engine=engine, noise_draws=noise_draws, seed=seed)
                row = point.summary()
                row["pair"] = f"{pair[0]}-{pair[1]}"
                row["seconds"] = time.perf_counter() - t0
                rows.append(row)
                if chevron and n == max(b for b, _ in profs) and pair == plist[0]:
                    scan = cz_chevron(CzPair.from_profile(prof, pair), point.calibration, engine=engine)
                    chev = {
                        "bits": n, "pair": row["pair"], "amplitude_codes": scan.amplitude_codes[0],
                        "durations_ns": scan.durations / prof.flux.dac.sample_rate_gsps,
                        "leakage": scan.metrics.leakage, "phase_error": scan.metrics.phase_error,
                        "calibrated": (point.calibration.amplitude_code,
                                       point.calibration.n_samples / prof.flux.dac.sample_rate_gsps),
                    }
                done += 1
                if progress is not None:
                    progress(ref, n, pair, done, total, row["seconds"])
        swept = sorted({r["flux_bits"] for r in rows})
        mean_inf = [float(np.mean([r["infidelity"] for r in rows if r["flux_bits"] == n])) for n in swept]
        onset, floor = floor_onset(swept, mean_inf)
        out.append({
            "profile": base.name,
            "profile_hash": profile_hash(base),
            "engine": engine,
            "noise_draws": noise_draws,
            "seed": seed,
            "flux_dac": {"bits": base.flux.dac.bits, "sample_rate_gsps": base.flux.dac.sample_rate_gsps,
                         "full_scale_phi0": base.flux.full_scale_phi0, "cz_shape": base.flux.cz_shape},
            "pairs": [f"{a}-{b}" for a, b in plist],
            "mean_infidelity_by_bits": dict(zip(swept, mean_inf)),
            "floor_infidelity": floor,
            "floor_bits": onset,
            "rows": rows,
            "_chevron": chev,
        })
    return {"profiles": out}


def _by_pair(rows: list[dict], key: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out: dict[str, tuple[list, list]] = {}
    for r in rows:
        out.setdefault(r["pair"], ([], []))
        out[r["pair"]][0].append(r["flux_bits"])
        out[r["pair"]][1].append(r[key])
    return {k: (np.array(b), np.array(v, dtype=float)) for k, (b, v) in out.items()}


def plot_profile(res: dict[str, Any], path: Path) -> Path:
    """Six panels: |phase error|, leakage, 1 - F vs flux bits; code step vs bits; the chevron (leakage,
    |phase error|) of the first pair at the highest swept resolution."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    rows = res["rows"]
    fig, axes = plt.subplots(2, 3, figsize=(18, 10), constrained_layout=True)
    fd = res["flux_dac"]
    fig.suptitle(f"{res['profile']}: realized flux CZ vs flux-DAC bits ({fd['sample_rate_gsps']:g} GS/s, "
                 f"{fd['cz_shape']} pulse, +-{fd['full_scale_phi0']:g} Phi_0 full scale, engine {res['engine']}, "
                 f"{res['noise_draws']} noise draws)")
    panels = [
        (axes[0, 0], "cond_phase_error_rad", True, "|conditional phase - pi| (rad)", "Conditional-phase error"),
        (axes[0, 1], "leakage", False, "L1", "Leakage out of the computational block"),
        (axes[0, 2], "infidelity", False, "1 - F (two-qubit average)", "Gate infidelity as played"),
        (axes[1, 0], "mhz_per_code", False, "MHz per code", "Flux code step of the fluxed qubit at the CZ point"),
    ]
    means = {}
    for ax, key, absolute, ylabel, title in panels:
        for pair, (b, v) in _by_pair(rows, key).items():
            v = np.abs(v) if absolute else v
            ax.semilogy(b, np.maximum(v, 1e-12), "o-", lw=1.0, ms=4, alpha=0.75, label=f"pair {pair}")
        swept = sorted({r["flux_bits"] for r in rows})
        vals = [[abs(r[key]) if absolute else r[key] for r in rows if r["flux_bits"] == n] for n in swept]
        means[key] = (swept, [float(np.mean(v)) for v in vals])
        ax.semilogy(swept, np.maximum(means[key][1], 1e-12), "k-", marker="s", ms=4, lw=2.2, label="mean over pairs")
        ax.set(title=title, xlabel="flux DAC bits", ylabel=ylabel)
    ax = axes[0, 2]
    coh = [float(np.mean([r["coherent_infidelity"] for r in rows if r["flux_bits"] == n])) for n in means["infidelity"][0]]
    ax.semilogy(means["infidelity"][0], np.maximum(coh, 1e-12), "k--", marker="x", lw=1.4,
                label="mean, calibrated point (noiseless, no T1/T2)")
    ax.axhline(res["floor_infidelity"], color="tab:red", ls=":", lw=1.2,
               label=f"floor {res['floor_infidelity']:.2e}")
    if res.get("floor_bits") is not None:
        ax.axvline(res["floor_bits"], color="tab:red", ls="--", lw=1.2,
                   label=f"floor sets in at {res['floor_bits']} bits")
    for ax, *_ in panels:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
        ax.xaxis.get_major_locator().set_params(integer=True)
    chev = res.get("_chevron")
    for ax, key, title in ((axes[1, 1], "leakage", "leakage L1"), (axes[1, 2], "phase_error", "|conditional phase - pi| (rad)")):
        if chev is None:
            ax.axis("off")
            continue
        z = np.abs(np.asarray(chev[key], dtype=float))
        mesh = ax.pcolormesh(chev["amplitude_codes"], chev["durations_ns"], np.maximum(z, 1e-8), shading="nearest",
                             norm=LogNorm(vmin=max(float(z.min()), 1e-8), vmax=max(float(z.max()), 1e-7)), cmap="viridis")
        fig.colorbar(mesh, ax=ax, label=title)
        ax.plot(*chev["calibrated"], "r*", ms=14, label="calibrated CZ")
        ax.set(title=f"Chevron, pair {chev['pair']} at {chev['bits']} bits: {title}",
               xlabel="flux amplitude code", ylabel="pulse duration (ns)")
        ax.legend(fontsize=8, loc="upper right")
    save_figure(fig, path)
    return path


def plot_floors(results: list[dict[str, Any]], path: Path) -> Path:
    """Mean 1 - F vs flux bits of every profile, each with its floor onset marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6), constrained_layout=True)
    for res in results:
        bits = sorted(int(b) for b in res["mean_infidelity_by_bits"])
        vals = [res["mean_infidelity_by_bits"][b] for b in bits]
        (line,) = ax.semilogy(bits, vals, "o-", label=f"{res['profile']} (floor {res['floor_infidelity']:.1e}"
                              + (f" from {res['floor_bits']} bits)" if res.get("floor_bits") is not None else ")"))
        if res.get("floor_bits") is not None:
            ax.axvline(res["floor_bits"], color=line.get_color(), ls="--", lw=1.0)
    ax.set(title="Realized flux CZ: mean 1 - F over pairs vs flux-DAC bits (shipped noise, INL, line, T1/T2)",
           xlabel="flux DAC bits", ylabel="1 - F")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9)
    save_figure(fig, path)
    return path


def _table(results: list[dict[str, Any]]) -> Table:
    t = Table(title="Realized flux CZ per pair vs flux-DAC bits")
    t.caption = ("phase err: |cond. phase - pi|; 1-F: as played (noise draws, T1/T2); 1-F cal: the calibrated "
                 "point, noiseless and closed; step: MHz per flux code at the CZ point")
    for col in ("profile", "bits", "pair", "code", "gate ns", "phase err", "leak", "1-F", "1-F cal", "step MHz"):
        t.add_column(col, justify="right", no_wrap=True)
    for res in results:
        for r in res["rows"]:
            t.add_row(res["profile"], str(r["flux_bits"]), r["pair"], str(r["amplitude_code"]), f"{r['gate_time_ns']:.1f}",
                      f"{abs(r['cond_phase_error_rad']):.1e}", f"{r['leakage']:.1e}", f"{r['infidelity']:.1e}",
                      f"{r['coherent_infidelity']:.1e}", f"{r['mhz_per_code']:.3g}")
    return t


@app.command("cz")
def cz(
    profiles: Annotated[list[str], typer.Argument(help="Profile YAML path(s) or shipped name(s) with a flux section.")],
    bits: Annotated[
        str | None, typer.Option("--bits", "-b", help="Flux-DAC resolution(s): a range like 6..16 or one N (default: the profile's).")
    ] = None,
    pair: Annotated[list[str] | None, typer.Option("--pair", "-p", help="Coupled pair like 0,1 (repeatable; default: all).")] = None,
    engine: Annotated[str, typer.Option("--engine", "-e", help="Physics engine: fast | qutip | dynamics.")] = "fast",
    draws: Annotated[int, typer.Option("--draws", help="Flux-DAC noise draws averaged per gate (0: noiseless).")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the noise draws.")] = 0,
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the PNGs.")] = Path("out"),
    json_: JsonOpt = False,
) -> None:
    """Flux CZ of every coupled pair vs flux-DAC bits: conditional-phase error, leakage, 1 - F, gate time and
    code step; the resolution floor per profile; writes OUT/<profile>_cz.png (and OUT/cz_floor.png for
    several profiles)."""
    bit_list = parse_bits(bits) if bits is not None else None
    with Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=True,
        disable=json_ or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("calibrating", total=None)
        noted = False

        def step(ref, n, p, done, total, seconds):
            nonlocal noted
            bar.update(task, completed=done, total=total, description=f"{ref} {n}-bit pair {p[0]}-{p[1]}")
            left = (total - done) * seconds
            if not noted and done == 1 and left > NOTE_SECONDS:
                noted = True
                err_console.print(f"cz: {total} calibrated pairs, ~{seconds:.1f} s each: about {left:.0f} s left",
                                  highlight=False, markup=False)

        res = cz_sweep(profiles, set_, bit_list, engine, draws, seed, pair, progress=step)
    results = res["profiles"]
    pngs = {}
    for r in results:
        stem = re.sub(r"[^\w.-]+", "_", r["profile"])
        pngs[r["profile"]] = str(plot_profile(r, Path(out) / f"{stem}_cz.png").resolve())
    if len(results) > 1:
        pngs["floors"] = str(plot_floors(results, Path(out) / "cz_floor.png").resolve())
    for r in results:
        chev = r.pop("_chevron")
        r["chevron"] = None if chev is None else {"bits": chev["bits"], "pair": chev["pair"]}
    res["png"] = pngs
    if json_:
        print_json(res)
        return
    console.print(_table(results))
    for r in results:
        if r["floor_bits"] is not None:
            console.print(f"{r['profile']}: 1 - F floor {r['floor_infidelity']:.2e} (mean over pairs), "
                          f"reached from {r['floor_bits']} flux bits")
        elif len(r["mean_infidelity_by_bits"]) > 1:
            console.print(f"{r['profile']}: no floor within the sweep (lowest mean 1 - F "
                          f"{r['floor_infidelity']:.2e} at the highest resolution)")
    for name, png in pngs.items():
        console.print(f"plot: {png}")
