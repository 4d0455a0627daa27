"""Flux pulses: codes on the flux DAC -> volts -> flux line -> Phi(t) -> frequency-shift signal.

Tunable transmon (asymmetric SQUID, asymmetry d, Phi in units of Phi_0, alpha < 0 in GHz)::

    f_01(Phi) = (f_max - alpha) [cos^2(pi Phi) + d^2 sin^2(pi Phi)]^(1/4) + alpha

and its inverse on the principal branch Phi in [0, 1/2] (:func:`flux_for_frequency`)::

    sin^2(pi Phi) = (1 - r^4) / (1 - d^2),   r = (f - alpha) / (f_max - alpha).

Flux DAC. Codes are the DAC's signed words; ``Dac(flux.dac, channel=qubit)`` gives volts (static
transfer with mismatch, optional noise/jitter, hold, reconstruction filter). The fast flux adds to the DC
bias: Phi(t) = Phi_idle + (full_scale_phi0 / full_scale_v) (y(t) - y_0), where y is the flux-line
output and y_0 the line's output for code 0 (the idle point is measured with the DAC at code 0, so its
offset is part of the idle bias). The engine signal of the fluxed qubit is its frequency shift
2 pi [f_01(Phi(t)) - f_01(Phi_idle)] in rad/ns (operator n_q of
:meth:`cryoctl.physics.SystemModel.coupled_transmons`).

Flux line. A cascade of first-order sections, each discretised exactly for a zero-order-hold input and
averaged over the sample (what a ZOH engine needs). For a low-pass of time constant tau driven by a
held input x_k, with p = exp(-dt/tau) and c = (tau/dt)(1 - p), the state l_{k+1} = p l_k + (1 - p) x_k
and the sample average l_bar_k = x_k + c (l_k - x_k), i.e.

    H_lp(z) = [(1 - c) + (c - p) z^-1] / (1 - p z^-1)              (DC gain 1),
    H_hp(z) = 1 - H_lp(z) = c (1 - z^-1) / (1 - p z^-1)             (DC gain 0).

- bias tee (high-pass, tau_bt):      H_bt = H_hp(tau_bt);
- settling tail (step 1 + A e^-t/tau): H_A = 1 + A H_hp(tau) = [(1 + A c) - (p + A c) z^-1] / (1 - p z^-1);
- bandwidth f_3dB (first-order):      H_bw = H_lp(1 / (2 pi f_3dB)).

Several tails are in parallel (step response 1 + sum_k A_k e^{-t/tau_k}): their sum is one rational
filter, 1 + sum_k A_k H_hp(tau_k). The line starts at rest (zero input before the pulse relative to
code 0). Cascading sample-averaged sections treats each section's averaged output as held for the
next one: exact for a single section, O(dt/tau) relative for the slow ones (tails, bias tee).

Predistortion. The controller filters the codes with the inverse of the tails (and of the bias tee)
before the DAC, with fixed-point coefficients (``coefficient_bits`` fractional bits: every b and a
coefficient rounded to the grid 2^-B), and rounds the result back to integer codes. The inverse of the
parallel tails is 1 / (1 + sum_k A_k H_hp(tau_k)) (a rational filter with denominator = the tails'
numerator; stable for |A| < 1/2, its poles lie in (0, 1)); the inverse bias tee is
(1 - p z^-1) / (c (1 - z^-1)), an accumulator (DC gain infinite, as in hardware: a unipolar pulse needs
a growing correction, a net-zero pulse does not). The bandwidth is not inverted (labs absorb it in the
calibration).

CZ pulse codes (:func:`cz_envelope`, :func:`cz_codes`). ``unipolar``: a flat top with cosine rise and fall
over r samples, sample k of the rise at 0.5 (1 - cos(pi (k + 1/2) / r)); ``net_zero`` (sudden net-zero,
Negirneac et al. 2021): the same envelope with its second half negated, the sign flipping in one sample
(an odd middle sample is 0, a one-sample return to the idle point), so its sum is zero; since f_01 is
even in Phi about a sweet spot, both halves detune the qubit equally. Each sample's code is
round(amplitude_code * envelope_k) (every sample is itself a DAC word); the pulse is followed by
zeros up to the gate slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import signal

from cryoctl.dac.model import Dac
from cryoctl.errors import CryoctlError
from cryoctl.profile.models import FluxLineSpec, FluxPredistortion, FluxSpec, TunableTransmonSpec

TWO_PI = 2.0 * np.pi
CZ_SHAPES = ("unipolar", "net_zero")


# --- transmon tuning curve ------------------------------------------------------------------------------------


def transmon_frequency(phi, f_max_ghz: float, asymmetry: float, anharmonicity_ghz: float) -> np.ndarray:
    """f_01(Phi) in GHz (module docstring), any array shape of Phi (units of Phi_0)."""
    phi = np.asarray(phi, dtype=float)
    d2 = float(asymmetry) ** 2
    s = np.cos(np.pi * phi) ** 2 + d2 * np.sin(np.pi * phi) ** 2
    return (f_max_ghz - anharmonicity_ghz) * s**0.25 + anharmonicity_ghz


def frequency_slope(phi, f_max_ghz: float, asymmetry: float, anharmonicity_ghz: float) -> np.ndarray:
    """df_01/dPhi in GHz per Phi_0: (f_max - alpha) (1/4) s^(-3/4) ds/dPhi, ds/dPhi = -pi (1 - d^2) sin(2 pi Phi)."""
    phi = np.asarray(phi, dtype=float)
    d2 = float(asymmetry) ** 2
    s = np.cos(np.pi * phi) ** 2 + d2 * np.sin(np.pi * phi) ** 2
    return (f_max_ghz - anharmonicity_ghz) * 0.25 * s**-0.75 * (-np.pi * (1 - d2) * np.sin(TWO_PI * phi))


def flux_for_frequency(f_ghz, f_max_ghz: float, asymmetry: float, anharmonicity_ghz: float) -> np.ndarray:
    """Phi in [0, 1/2] with f_01(Phi) = f (module docstring); CryoctlError if f is outside the tuning range."""
    f = np.asarray(f_ghz, dtype=float)
    d2 = float(asymmetry) ** 2
    f_min = transmon_frequency(0.5, f_max_ghz, asymmetry, anharmonicity_ghz)
    if np.any(f > f_max_ghz + 1e-12) or np.any(f < f_min - 1e-12) or d2 >= 1.0:
        raise CryoctlError(
            f"frequency {f} GHz is outside the tuning range [{f_min:.6g}, {f_max_ghz:.6g}] GHz", field="flux.qubits"
        )
    r4 = ((f - anharmonicity_ghz) / (f_max_ghz - anharmonicity_ghz)) ** 4
    s2 = np.clip((1.0 - r4) / (1.0 - d2), 0.0, 1.0)
    return np.arcsin(np.sqrt(s2)) / np.pi


# --- CZ pulse envelopes and codes ------------------------------------------------------------------------------


def cz_envelope(n_samples: int, rise_samples: int, shape: str = "unipolar") -> np.ndarray:
    """Envelope (n_samples,) in [-1, 1] of a CZ flux pulse (module docstring)."""
    if shape not in CZ_SHAPES:
        raise CryoctlError(f"unknown CZ shape {shape!r}; expected one of {list(CZ_SHAPES)}", field="flux.cz_shape")
    n, r = int(n_samples), int(rise_samples)
    if n < 1 or r < 0:
        raise CryoctlError(f"expected n_samples >= 1 and rise_samples >= 0, got {n}, {r}", field="n_samples")
    if shape == "net_zero":
        if n < 2:
            raise CryoctlError(f"a net-zero pulse needs n_samples >= 2, got {n}", field="n_samples")
        e = cz_envelope(n, r, "unipolar")
        half = n // 2
        e[n - half :] *= -1.0
        if n % 2:
            e[half] = 0.0
        return e
    if 2 * r > n:
        raise CryoctlError(f"rise ({r} samples) x 2 exceeds the pulse ({n} samples)", field="n_samples")
    e = np.ones(n)
    if r:
        ramp = 0.5 * (1.0 - np.cos(np.pi * (np.arange(r) + 0.5) / r))
        e[:r] = ramp
        e[n - r :] = ramp[::-1]
    return e


def cz_codes(amplitude_codes, n_samples, rise_samples: int, slot_samples: int, shape: str = "unipolar") -> np.ndarray:
    """Flux-DAC words of CZ pulses: round(amplitude_code * envelope_k), zero-padded to ``slot_samples``.

    ``amplitude_codes`` and ``n_samples`` broadcast together (e.g. (n_dur, 1) x (n_dur, n_amp)); the
    result has shape (*broadcast, slot_samples), int64. Range checks happen in the DAC.
    """
    a = np.asarray(amplitude_codes)
    n = np.asarray(n_samples)
    a, n = np.broadcast_arrays(a, n)
    if np.any(n > slot_samples):
        raise CryoctlError(f"pulse of {int(n.max())} samples does not fit the slot of {slot_samples}", field="n_samples")
    envelopes = np.zeros((*n.shape, slot_samples))
    for value in np.unique(n):  # a handful of durations; every amplitude is vectorised
        e = cz_envelope(int(value), rise_samples, shape)
        envelopes[n == value, : len(e)] = e
    return np.rint(a[..., None] * envelopes).astype(np.int64)


# --- flux line -------------------------------------------------------------------------------------------------


def _lowpass_coeffs(tau_ns: float, dt_ns: float) -> tuple[float, float]:
    p = float(np.exp(-dt_ns / tau_ns))
    c = float(-(tau_ns / dt_ns) * np.expm1(-dt_ns / tau_ns))
    return p, c


def _polymul(a, b):
    return np.convolve(np.asarray(a, float), np.asarray(b, float))


def _polyadd(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    n = max(len(a), len(b))
    return np.pad(a, (0, n - len(a))) + np.pad(b, (0, n - len(b)))


@dataclass(frozen=True)
class FluxLine:
    """The flux-line transfer function on the sample grid ``dt_ns`` (module docstring), as a list of
    (b, a) sections in z^-1; plus the predistortion that inverts the tails and the bias tee."""

    spec: FluxLineSpec
    dt_ns: float

    @cached_property
    def tail_section(self) -> tuple[np.ndarray, np.ndarray] | None:
        """1 + sum_k A_k H_hp(tau_k) as one rational (b, a)."""
        if not self.spec.tails:
            return None
        b, a = np.array([1.0]), np.array([1.0])
        for t in self.spec.tails:
            p, c = _lowpass_coeffs(t.tau_ns, self.dt_ns)
            bk, ak = t.amplitude * c * np.array([1.0, -1.0]), np.array([1.0, -p])
            b, a = _polyadd(_polymul(b, ak), _polymul(bk, a)), _polymul(a, ak)
        return b, a

    @cached_property
    def bias_tee_section(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.spec.bias_tee_tau_ns is None:
            return None
        p, c = _lowpass_coeffs(self.spec.bias_tee_tau_ns, self.dt_ns)
        return c * np.array([1.0, -1.0]), np.array([1.0, -p])

    @cached_property
    def bandwidth_section(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.spec.bandwidth_ghz is None:
            return None
        p, c = _lowpass_coeffs(1.0 / (TWO_PI * self.spec.bandwidth_ghz), self.dt_ns)
        return np.array([1.0 - c, c - p]), np.array([1.0, -p])

    @property
    def sections(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [s for s in (self.bias_tee_section, self.tail_section, self.bandwidth_section) if s is not None]

    @property
    def is_ideal(self) -> bool:
        return not self.sections

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Line output (..., K) for the input (..., K) (zero state before sample 0).

        The parallel tails are filtered as parallel first-order sections (better conditioned than their
        combined rational form, which the predistortion inverts)."""
        y = np.asarray(x, dtype=float)
        if self.bias_tee_section is not None:
            y = signal.lfilter(*self.bias_tee_section, y, axis=-1)
        if self.spec.tails:
            hp = [(t.amplitude, _lowpass_coeffs(t.tau_ns, self.dt_ns)) for t in self.spec.tails]
            y = y + sum(amp * signal.lfilter(c * np.array([1.0, -1.0]), [1.0, -p], y, axis=-1) for amp, (p, c) in hp)
        if self.bandwidth_section is not None:
            y = signal.lfilter(*self.bandwidth_section, y, axis=-1)
        return y

    def inverse_sections(self, predistortion: FluxPredistortion) -> list[tuple[np.ndarray, np.ndarray]]:
        """Inverse filters (b, a) with coefficients rounded to 2^-coefficient_bits (a[0] = 1 kept exact)."""
        inv = []
        if self.tail_section is not None:
            b, a = self.tail_section
            inv.append((a / b[0], b / b[0]))
        if predistortion.bias_tee and self.bias_tee_section is not None:
            b, a = self.bias_tee_section
            inv.append((a / b[0], b / b[0]))
        q = 2.0 ** int(predistortion.coefficient_bits)
        return [(np.round(b * q) / q, np.concatenate([[1.0], np.round(a[1:] * q) / q])) for b, a in inv]

    def predistort(self, x: np.ndarray, predistortion: FluxPredistortion) -> np.ndarray:
        """x (..., K) through the quantized inverse filters (float arithmetic, fixed-point coefficients)."""
        y = np.asarray(x, dtype=float)
        for b, a in self.inverse_sections(predistortion):
            y = signal.lfilter(b, a, y, axis=-1)
        return y


# --- the flux drive of one qubit -------------------------------------------------------------------------------


class FluxDrive:
    """Codes on one qubit's flux DAC -> the engine signal (frequency shift, rad/ns) of that qubit.

    ``codes`` (..., K) are DAC words (vectorised over leading axes); :meth:`predistorted_codes` applies the
    controller's digital inverse filter when ``flux.predistortion`` is set (:meth:`signal` does it). The
    DAC converter index is the qubit index (one flux DAC per tunable qubit on the flux chip).
    """

    def __init__(self, flux: FluxSpec, qubit: int, anharmonicity_ghz: float):
        if not isinstance(flux, FluxSpec):
            raise CryoctlError(f"expected a FluxSpec (profile.flux), got {type(flux).__name__}", field="flux")
        self.spec = flux
        self.qubit = int(qubit)
        self.tunable: TunableTransmonSpec = flux.tunable(self.qubit)
        self.alpha_ghz = float(anharmonicity_ghz)
        if self.tunable.f_max_ghz + self.alpha_ghz <= 0:
            raise CryoctlError("f_max_ghz must exceed |anharmonicity|", field="flux.qubits.f_max_ghz")
        self.dac = Dac(flux.dac, channel=self.qubit)
        self.dt_ns = flux.dac.dt_ns / flux.dac.oversampling
        self.line = FluxLine(flux.line, self.dt_ns)
        # the digital predistortion runs at the DAC sample rate (before the hold)
        self.predistortion_line = FluxLine(flux.line, flux.dac.dt_ns)
        self.phi_per_volt = flux.full_scale_phi0 / flux.dac.full_scale_v

    # tuning curve of this qubit
    def frequency(self, phi) -> np.ndarray:
        t = self.tunable
        return transmon_frequency(phi, t.f_max_ghz, t.asymmetry, self.alpha_ghz)

    @property
    def idle_frequency_ghz(self) -> float:
        return float(self.frequency(self.tunable.idle_flux_phi0))

    @property
    def phi_per_code(self) -> float:
        """Ideal flux step of one LSB: full_scale_phi0 / 2^(N-1)."""
        return self.spec.full_scale_phi0 / 2 ** (self.spec.dac.bits - 1)

    def code_for_frequency(self, f_ghz: float) -> float:
        """The (real-valued, ideal-DAC) amplitude code whose flat top puts the qubit at f_ghz (positive flux side)."""
        t = self.tunable
        phi = float(flux_for_frequency(f_ghz, t.f_max_ghz, t.asymmetry, self.alpha_ghz))
        target = phi if t.idle_flux_phi0 >= 0 else -phi
        return (target - t.idle_flux_phi0) / self.phi_per_code

    def predistorted_codes(self, codes) -> np.ndarray:
        """The codes the controller actually plays: round(inverse filter(codes)) if predistortion is on."""
        c = self.dac.check_codes(codes)
        pd = self.spec.predistortion
        if pd is None or not self.predistortion_line.inverse_sections(pd):
            return c
        out = np.rint(self.predistortion_line.predistort(c, pd)).astype(np.int64)
        if out.size and (out.min() < self.dac.code_min or out.max() > self.dac.code_max):
            raise CryoctlError(
                f"predistorted flux codes leave the DAC range [{self.dac.code_min}, {self.dac.code_max}] "
                f"(got {out.min()}..{out.max()}); lower the pulse amplitude or raise flux.full_scale_phi0",
                field="flux.predistortion",
            )
        return out

    def flux(self, codes, rng: np.random.Generator | None = None) -> np.ndarray:
        """Phi(t) (..., K * oversampling) in Phi_0 for the codes (after predistortion, DAC and line)."""
        played = self.predistorted_codes(codes)
        volts = self.dac.render(played, rng)
        v0 = self.dac.static(0)
        y = self.line.apply(volts - v0)
        return self.tunable.idle_flux_phi0 + self.phi_per_volt * y

    def signal(self, codes, rng: np.random.Generator | None = None) -> np.ndarray:
        """Frequency shift 2 pi [f_01(Phi(t)) - f_01(Phi_idle)] (rad/ns), shape (..., K * oversampling)."""
        return TWO_PI * (self.frequency(self.flux(codes, rng)) - self.idle_frequency_ghz)
