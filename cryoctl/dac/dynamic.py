"""Dynamic DAC errors at the sample level, zero-order hold and reconstruction filter.

White output noise. A noise density n_v (V/sqrt(Hz)) integrated over the first Nyquist band
[0, f_s/2] gives a per-sample standard deviation

    sigma_v = n_v * sqrt(f_s / 2).

The Nyquist band is the one a sampled output carries without aliasing; the image bands the
zero-order hold produces above f_s/2 are the reconstruction filter's job, so they are not counted.

Clock jitter. Sample k's edge (the step from V_{k-1} to V_k) arrives at k T_s + d_k instead of
k T_s, with d_k ~ N(0, jitter_rms^2) independent per sample (and per shot: leading axes). Over the
hold interval the wrong value is held for d_k, so the sample's average output is off by

    eps_k = -(V_k - V_{k-1}) d_k / T_s = -slope_k * d_k,

amplitude error = slope x jitter. Before the first sample the DAC is taken to hold V_0 (no edge,
eps_0 = 0); the same convention sets the reconstruction filter's initial state.

Shared clock. The I and Q DACs of one controller are clocked by one clock, so the edge error d_k is
the SAME draw for both channels of a pair (:func:`perturb_pair`), while their white noises are
independent. Per sample the error vector (eps_I,k, eps_Q,k) is Gaussian with mean 0 and covariance
(:func:`pair_covariance`)

    C_k = [[sigma_v^2 + slope_I,k^2 j^2,  slope_I,k slope_Q,k j^2        ],
           [slope_I,k slope_Q,k j^2,       sigma_v^2 + slope_Q,k^2 j^2    ]],   j = jitter_rms,

independent across samples (and shots). With sigma_v = 0 it has rank one: both channels move along
(slope_I,k, slope_Q,k) with one scalar draw.

Zero-order hold. Each sample is held for T_s; on a grid of ``oversampling`` sub-samples per sample
it is the sample repeated. The optional reconstruction filter is the analog Bessel/Butterworth
low-pass (``cutoff_ghz`` = -3 dB frequency, Bessel normalised with norm="mag") mapped to the
oversampled grid f_s * oversampling by the bilinear transform with the cutoff pre-warped. The
bilinear map sends s = 0 to z = 1, so the DC gain stays exactly 1. The filter starts in its steady
state for the first sample (the DAC held V_0 before), so a constant input passes unchanged.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.profile.models import DacSpec


def noise_sigma_v(spec: DacSpec) -> float:
    """Per-sample rms of the white output noise: noise_v_per_sqrt_hz * sqrt(f_s / 2), f_s in Hz."""
    return spec.noise_v_per_sqrt_hz * math.sqrt(spec.sample_rate_gsps * 1e9 / 2.0)


def _as_waveform(volts: np.ndarray, field: str = "volts") -> np.ndarray:
    v = np.asarray(volts, dtype=float)
    if v.ndim == 0 or v.shape[-1] == 0:
        raise CryoctlError(f"expected an array of samples with shape (..., K), K >= 1; got shape {v.shape}", field=field)
    return v


def perturb(spec: DacSpec, volts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """volts (..., K) of ONE channel + white noise + jitter error (see module docstring); same shape.

    For the I/Q pair of a qubit, whose jitter is common, use :func:`perturb_pair`.

    Draw order (fixed, for bit-identical replays): noise (if n_v > 0), then jitter (if > 0).
    """
    if not isinstance(rng, np.random.Generator):
        raise CryoctlError(f"expected a numpy.random.Generator, got {type(rng).__name__}", field="rng")
    v = _as_waveform(volts)
    out = v.copy()
    sigma = noise_sigma_v(spec)
    if sigma > 0.0:
        out += sigma * rng.standard_normal(v.shape)
    if spec.jitter_rms_ps > 0.0:
        d_ns = (spec.jitter_rms_ps * 1e-3) * rng.standard_normal(v.shape)
        out -= slopes(spec, v) * d_ns
    return out


def slopes(spec: DacSpec, volts: np.ndarray) -> np.ndarray:
    """slope_k = (V_k - V_{k-1}) / T_s in V/ns, with V_{-1} := V_0 (module docstring); (..., K) -> (..., K)."""
    v = _as_waveform(volts)
    return np.diff(v, axis=-1, prepend=v[..., :1]) / spec.dt_ns


def pair_covariance(spec: DacSpec, volts_i: np.ndarray, volts_q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample covariance (C_II, C_IQ, C_QQ) of the errors of an I/Q pair on one clock, in V^2.

    volts (..., K) each (broadcast together) -> three arrays of the broadcast shape (module docstring).
    """
    s_i, s_q = np.broadcast_arrays(slopes(spec, volts_i), slopes(spec, volts_q))
    j2 = (spec.jitter_rms_ps * 1e-3) ** 2
    n2 = noise_sigma_v(spec) ** 2
    return n2 + j2 * s_i**2, j2 * s_i * s_q, n2 + j2 * s_q**2


def perturb_pair(
    spec: DacSpec, volts_i: np.ndarray, volts_q: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(I, Q) volts (..., K) + independent white noise per channel + ONE jitter draw per sample shared by
    both channels (shared clock, module docstring); same shapes (broadcast together).

    Draw order (fixed, for bit-identical replays): noise I, noise Q (if n_v > 0), then jitter (if > 0).
    """
    if not isinstance(rng, np.random.Generator):
        raise CryoctlError(f"expected a numpy.random.Generator, got {type(rng).__name__}", field="rng")
    v_i, v_q = np.broadcast_arrays(_as_waveform(volts_i, "volts_i"), _as_waveform(volts_q, "volts_q"))
    out_i, out_q = v_i.copy(), v_q.copy()
    sigma = noise_sigma_v(spec)
    if sigma > 0.0:
        out_i += sigma * rng.standard_normal(v_i.shape)
        out_q += sigma * rng.standard_normal(v_q.shape)
    if spec.jitter_rms_ps > 0.0:
        d_ns = (spec.jitter_rms_ps * 1e-3) * rng.standard_normal(v_i.shape)
        out_i -= slopes(spec, v_i) * d_ns
        out_q -= slopes(spec, v_q) * d_ns
    return out_i, out_q


def reconstruction_sos(spec: DacSpec) -> np.ndarray | None:
    """Second-order sections of the reconstruction filter on the oversampled grid (None if absent)."""
    f = spec.reconstruction_filter
    if f is None:
        return None
    fs = spec.sample_rate_gsps * spec.oversampling
    if not f.cutoff_ghz < fs / 2:
        raise CryoctlError(
            f"cutoff {f.cutoff_ghz} GHz must be below the Nyquist frequency of the oversampled grid, "
            f"sample_rate_gsps * oversampling / 2 = {fs / 2:g} GHz (raise dac.oversampling)",
            field="dac.reconstruction_filter.cutoff_ghz",
        )
    return _design(f.kind, f.order, f.cutoff_ghz, fs).copy()


@lru_cache(maxsize=64)
def _design(kind: str, order: int, cutoff_ghz: float, fs_ghz: float) -> np.ndarray:
    # Cached: filter design costs more than filtering a short pulse.
    from scipy import signal  # imported here: scipy.signal costs ~1 s, and only filtering needs it

    if kind == "bessel":
        return signal.bessel(order, cutoff_ghz, btype="low", output="sos", fs=fs_ghz, norm="mag")
    return signal.butter(order, cutoff_ghz, btype="low", output="sos", fs=fs_ghz)


def hold(spec: DacSpec, volts: np.ndarray) -> np.ndarray:
    """Zero-order hold (..., K) -> (..., K * oversampling), then the reconstruction filter if any."""
    v = _as_waveform(volts)
    out = np.repeat(v, spec.oversampling, axis=-1)
    sos = reconstruction_sos(spec)
    if sos is None:
        return out
    x0 = out[..., 0]
    from scipy import signal

    zi_unit = signal.sosfilt_zi(sos)  # steady state for a unit-step input, (n_sections, 2)
    zi = zi_unit.reshape(zi_unit.shape[0], *(1,) * x0.ndim, 2) * x0[None, ..., None]
    y, _ = signal.sosfilt(sos, out, axis=-1, zi=zi)
    return y
