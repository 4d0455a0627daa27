"""`cryoctl dac ...`: characterise the DAC of a profile (static linearity, sine test, plots)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from cryoctl.cli import app
from cryoctl.cli.common import JsonOpt, SetOpt, console, print_json, profile_from_cli, save_figure
from cryoctl.dac import Dac, SineTest, dnl, inl, is_monotonic, sine_test
from cryoctl.dac.metrics import N_HARMONICS
from cryoctl.errors import CryoctlError
from cryoctl.profile import HardwareProfile, profile_hash

dac_app = typer.Typer(help="DAC model: static transfer, INL/DNL, noise and spectral metrics.", no_args_is_help=True)
app.add_typer(dac_app, name="dac")

#: Above this many points a curve is drawn as its per-block min/max envelope (keeps PNGs readable).
_MAX_PLOT_POINTS = 4096


def characterize_dac(profile: HardwareProfile, channel: int = 0, seed: int = 0, n_fft: int = 8192) -> dict[str, Any]:
    """Metrics of one DAC channel of the profile's chip; arrays for plotting under ``"_arrays"``.

    The chip has two channels per qubit (qubit q: I = 2q, Q = 2q+1), so ``channel`` must lie in
    0..2*qubits.count-1.
    """
    n_channels = 2 * profile.qubits.count
    if not 0 <= channel < n_channels:
        raise CryoctlError(
            f"channel {channel} out of range: {profile.qubits.count} qubits x 2 (I, Q) = {n_channels} DAC "
            f"channels, expected 0..{n_channels - 1}", field="--channel")
    dac = Dac(profile.dac, channel=channel)
    lv = dac.levels
    d = dnl(lv)
    inl_ep = inl(lv, "endpoint")
    inl_bf = inl(lv, "bestfit")
    sine = sine_test(dac, n_fft=n_fft, rng=np.random.default_rng(seed))
    s = profile.dac
    return {
        "profile": profile.name,
        "profile_hash": profile_hash(profile),
        "channel": channel,
        "seed": seed,
        "bits": s.bits,
        "architecture": s.architecture,
        "unary_msbs": s.n_unary,
        "lsb_v": s.lsb_v,
        "full_scale_v": s.full_scale_v,
        "sample_rate_gsps": s.sample_rate_gsps,
        "unit_mismatch_sigma": s.unit_mismatch_sigma,
        "inl_from_table": s.inl_table_lsb is not None,
        "max_abs_dnl_lsb": float(np.abs(d).max()),
        "max_abs_inl_endpoint_lsb": float(np.abs(inl_ep).max()),
        "max_abs_inl_bestfit_lsb": float(np.abs(inl_bf).max()),
        "monotonic": is_monotonic(lv),
        "noise_sigma_v": dac.noise_sigma_v,
        "sine_test": sine.summary(),
        "snr_db": sine.snr_db,
        "sinad_db": sine.sinad_db,
        "enob": sine.enob,
        "sfdr_db": sine.sfdr_db,
        "_arrays": {"dac": dac, "dnl": d, "inl_endpoint": inl_ep, "inl_bestfit": inl_bf, "sine": sine},
    }


def _envelope(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Per-block (x, min, max) when there are too many points to draw them all, else None."""
    if y.size <= _MAX_PLOT_POINTS:
        return None
    block = int(np.ceil(y.size / _MAX_PLOT_POINTS))
    n = y.size // block * block
    yb = y[:n].reshape(-1, block)
    return x[:n].reshape(-1, block)[:, 0], yb.min(axis=1), yb.max(axis=1)


def _curve(ax, x: np.ndarray, y: np.ndarray, color: str, label: str | None = None) -> None:
    env = _envelope(x, y)
    if env is None:
        ax.plot(x, y, color=color, lw=0.8, label=label, drawstyle="steps-mid" if y.size <= 256 else "default")
    else:
        ax.fill_between(env[0], env[1], env[2], color=color, lw=0.5, alpha=0.8, label=label, step="mid")


def harmonic_orders(cycles: int, n_fft: int, bins) -> dict[int, list[int]]:
    """Which harmonic orders k = 2..N_HARMONICS land in each of ``bins`` after aliasing.

    Harmonic k of a tone in bin ``cycles`` sits at k*cycles mod n_fft, folded into the first Nyquist
    zone: min(b, n_fft - b). Several orders can fold onto one bin; they are listed together.
    """
    k = np.arange(2, N_HARMONICS + 1)
    b = k * cycles % n_fft
    b = np.minimum(b, n_fft - b)
    return {int(x): [int(o) for o in k[b == x]] for x in np.asarray(bins, dtype=int)}


def png_name(profile_name: str, channel: int) -> str:
    """``<profile>_dac.png`` for channel 0, ``<profile>_ch<K>_dac.png`` otherwise (sanitised)."""
    stem = re.sub(r"[^\w.-]+", "_", profile_name)
    return f"{stem}_dac.png" if channel == 0 else f"{stem}_ch{channel}_dac.png"


def plot_characterization(res: dict[str, Any], path: Path) -> Path:
    """Four panels: transfer error vs code, INL, DNL, output spectrum (dBFS)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arr = res["_arrays"]
    dac: Dac = arr["dac"]
    sine: SineTest = arr["sine"]
    codes = dac.codes
    err_lsb = (dac.levels - codes * dac.lsb_v) / dac.lsb_v

    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5))
    # fixed margins: a layout engine would draw the figure twice
    fig.subplots_adjust(left=0.06, right=0.985, bottom=0.065, top=0.9, wspace=0.17, hspace=0.42)
    arch = res["architecture"] + (f" ({res['unary_msbs']} unary MSBs)" if res["architecture"] == "segmented" else "")
    src = "measured INL table" if res["inl_from_table"] else f"sigma_u = {res['unit_mismatch_sigma']:g}"
    fig.suptitle(
        f"{res['profile']}: {res['bits']}-bit {arch} DAC, {src}, channel {res['channel']}, "
        f"{res['sample_rate_gsps']:g} GS/s, LSB = {res['lsb_v'] * 1e3:.4g} mV",
        fontsize=12,
    )

    ax = axes[0, 0]
    _curve(ax, codes, err_lsb, "tab:blue")
    ax.set(title="Transfer error V(code) - code x LSB (incl. gain & offset)", xlabel="code", ylabel="error (LSB)")

    ax = axes[0, 1]
    _curve(ax, codes, arr["inl_endpoint"], "tab:orange", f"endpoint (max |INL| {res['max_abs_inl_endpoint_lsb']:.3g} LSB)")
    _curve(ax, codes, arr["inl_bestfit"], "tab:green", f"best fit (max |INL| {res['max_abs_inl_bestfit_lsb']:.3g} LSB)")
    ax.set(title="INL", xlabel="code", ylabel="INL (LSB)")
    ax.legend(loc="best", fontsize=9)

    ax = axes[1, 0]
    _curve(ax, codes[:-1], arr["dnl"], "tab:purple")
    if arr["dnl"].min() < -0.5:  # only when close: the line would squash small DNL
        ax.axhline(-1.0, color="tab:red", ls="--", lw=0.8, label="DNL = -1 (non-monotonic below)")
        ax.legend(loc="lower right", fontsize=9)
    mono = "monotonic" if res["monotonic"] else "NOT monotonic"
    ax.set(title=f"DNL (max |DNL| {res['max_abs_dnl_lsb']:.3g} LSB, {mono})", xlabel="code (transition k -> k+1)", ylabel="DNL (LSB)")

    ax = axes[1, 1]
    ax.plot(sine.freqs_ghz, sine.spectrum_dbfs, color="tab:gray", lw=0.6)
    ax.plot(sine.freqs_ghz[sine.cycles], sine.spectrum_dbfs[sine.cycles], "o", color="tab:blue", ms=5, label="carrier")
    if sine.harmonic_bins:
        hb = np.asarray(sine.harmonic_bins)
        ax.plot(sine.freqs_ghz[hb], sine.spectrum_dbfs[hb], "x", color="tab:red", ms=6,
                label=f"harmonics 2-{N_HARMONICS} (order, aliased)")
        for b, orders in harmonic_orders(sine.cycles, sine.n_fft, hb).items():
            ax.annotate(",".join(map(str, orders)), (sine.freqs_ghz[b], sine.spectrum_dbfs[b]), xytext=(0, 6),
                        textcoords="offset points", ha="center", va="bottom", fontsize=8, color="tab:red")
    floor = np.percentile(sine.spectrum_dbfs[1:], 1)
    ax.set_ylim(max(floor - 10, -250), 5)
    ax.set(
        title=f"Output spectrum, {sine.n_fft}-pt FFT, f = {sine.frequency_ghz * 1e3:.4g} MHz\n"
        f"SNR {sine.snr_db:.2f} dB, SINAD {sine.sinad_db:.2f} dB, ENOB {sine.enob:.2f}, SFDR {sine.sfdr_db:.1f} dBc",
        xlabel="frequency (GHz)", ylabel="power (dBFS)",
    )
    ax.legend(loc="upper right", fontsize=9)
    for a in axes.flat:
        a.grid(alpha=0.3)

    save_figure(fig, path)
    return path


def _table(res: dict[str, Any]) -> Table:
    t = Table(title=f"DAC characterization: {res['profile']} (channel {res['channel']})")
    t.add_column("metric")
    t.add_column("value", justify="right")
    rows = [
        ("bits", str(res["bits"])),
        ("LSB", f"{res['lsb_v'] * 1e3:.6g} mV"),
        ("architecture", res["architecture"] + (f" ({res['unary_msbs']} unary MSBs)" if res["architecture"] == "segmented" else "")),
        ("max |DNL|", f"{res['max_abs_dnl_lsb']:.4f} LSB"),
        ("max |INL| endpoint", f"{res['max_abs_inl_endpoint_lsb']:.4f} LSB"),
        ("max |INL| best fit", f"{res['max_abs_inl_bestfit_lsb']:.4f} LSB"),
        ("monotonic", "yes" if res["monotonic"] else "NO"),
        ("SNR", f"{res['snr_db']:.2f} dB"),
        ("SINAD", f"{res['sinad_db']:.2f} dB"),
        ("ENOB", f"{res['enob']:.3f} bit"),
        ("SFDR", f"{res['sfdr_db']:.2f} dBc"),
        ("plot", str(res["png"])),
    ]
    for k, v in rows:
        t.add_row(k, v)
    return t


@dac_app.command("characterize")
def characterize(
    profile: Annotated[str, typer.Argument(help="Profile YAML path or shipped profile name.")],
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the PNG.")] = Path("out"),
    channel: Annotated[int, typer.Option(help="DAC channel on the chip (qubit q: I = 2q, Q = 2q+1).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the noise/jitter draws in the sine test.")] = 0,
    n_fft: Annotated[int, typer.Option("--n-fft", help="Sine-test record length (samples).")] = 8192,
    json_: JsonOpt = False,
) -> None:
    """Static linearity (INL/DNL, monotonicity) and coherent sine test (SNR, SINAD, ENOB, SFDR) of the
    profile's DAC; writes OUT/<profile>_dac.png (OUT/<profile>_ch<K>_dac.png for --channel K > 0) with transfer error, INL, DNL and spectrum."""
    prof = profile_from_cli(profile, set_)
    res = characterize_dac(prof, channel=channel, seed=seed, n_fft=n_fft)
    res["png"] = str(plot_characterization(res, Path(out) / png_name(prof.name, channel)).resolve())
    res.pop("_arrays")
    if json_:
        print_json(res)
    else:
        console.print(_table(res))
