"""I/Q drive of one qubit: amplitude codes -> DAC codes per channel -> volts -> Rabi rates (rad/ns).

Channels. Qubit q is driven by two DACs of the chip, I on channel 2q and Q on channel 2q + 1, each
with its own static mismatch. A rotation about x puts the main envelope on I and the DRAG quadrature
on Q; a rotation about y is the same pulse with the drive phase advanced by pi/2,
Omega_I + i Omega_Q -> i (Omega_I + i Omega_Q), i.e.

    x:  (Omega_I, Omega_Q) = A ( g,  q),        y:  (Omega_I, Omega_Q) = A (-q, g),

with g the lifted Gaussian and q = -beta g'/alpha its DRAG quadrature (:mod:`cryoctl.pulse.envelope`).
So RY is played by the Q DAC: a different channel with a different transfer error than RX.

Amplitude modes (``pulse.amplitude_mode``), for an amplitude code c and an envelope e_k:

- ``scaled``: a stored high-resolution envelope times the static DAC output of the one code,
  v_k = V(c) e_k;
- ``sampled``: every sample is itself a DAC code, v_k = V(round(c e_k)), so the shape is quantized
  and every sample sees the INL. Codes beyond the DAC range saturate at code_min/code_max.

Dynamic errors (white noise per DAC, clock jitter common to the I/Q pair because both DACs run on one
clock; :func:`cryoctl.dac.dynamic.perturb_pair`) act on the sample sequences v_k, then the zero-order
hold (and reconstruction filter) maps them to the simulation grid dt_sim = dt / oversampling
(:meth:`cryoctl.dac.Dac.hold`).

Signals. An engine takes a :class:`~cryoctl.physics.model.SystemModel` and a dict channel -> samples;
:meth:`Drive.signals` is the one map from volts to that dict, {"xy_i": G hold(v_I), "xy_q": G hold(v_Q)}
(Rabi rates in rad/ns on the simulation grid), or, with ``hold=False``, one value per DAC sample
(the step of length T_s that a sample is when no reconstruction filter mixes neighbouring samples).

With a reconstruction filter the pulse window is extended by idle samples so that the filter's
tail is part of the gate (:func:`filter_tail_samples`).

Drive gain. Volts become Rabi rates Omega = G v. G (rad/ns per V) is fixed by the line attenuation:
the ideal continuous pi amplitude, for which the two-level pulse area is pi,

    G * V_pi * dt * sum_k e_k = pi,     V_pi = pi_amplitude_fraction * full_scale_v,

sits at ``pi_amplitude_fraction`` of full scale. Which *code* then makes a pi pulse on the real,
quantized, multi-level hardware is the job of calibration (:mod:`cryoctl.gates.calibration`).
"""

from __future__ import annotations

import numpy as np

from cryoctl.conventions import DRIVE_AXES, check_axis
from cryoctl.dac.dynamic import perturb_pair
from cryoctl.dac.model import Dac
from cryoctl.errors import CryoctlError
from cryoctl.profile.models import HardwareProfile
from cryoctl.pulse.envelope import drag_quadrature, lifted_gaussian, lifted_gaussian_derivative

AXES = DRIVE_AXES  # re-exported name of conventions.DRIVE_AXES


def drive_gain(profile: HardwareProfile) -> float:
    """G = pi / (V_pi dt sum_k e_k) in rad/ns per volt (see module docstring)."""
    p, dac = profile.pulse, profile.dac
    env = lifted_gaussian(p.duration_ns, p.sigma_ns, dac.dt_ns)
    v_pi = p.pi_amplitude_fraction * dac.full_scale_v
    return float(np.pi / (v_pi * dac.dt_ns * env.sum()))


def filter_tail_samples(profile: HardwareProfile) -> int:
    """Idle samples appended after the pulse so the reconstruction filter's tail is simulated.

    A low-pass of order n and cutoff f_c delays and smears the pulse by a few n / (2 pi f_c); the
    window is extended by ceil(n / (f_c dt)) samples (~ 2 pi times that) of idle output (envelope 0,
    i.e. code 0), so the filtered pulse area is kept (DC gain 1). One idle sample is also put in
    front, so the filter starts from the idle output rather than from the first pulse sample.
    0 without a filter.
    """
    f = profile.dac.reconstruction_filter
    if f is None:
        return 0
    return int(np.ceil(f.order / (f.cutoff_ghz * profile.dac.dt_ns)))


class Drive:
    """The I/Q drive chain of one qubit: envelopes, its two DAC channels and the drive gain."""

    def __init__(self, profile: HardwareProfile, qubit: int = 0):
        if not 0 <= qubit < profile.qubits.count:
            raise CryoctlError(f"qubit {qubit} out of range [0, {profile.qubits.count - 1}]", field="qubit")
        self.profile = profile
        self.qubit = int(qubit)
        p, spec = profile.pulse, profile.dac
        self.dac_i = Dac(spec, 2 * qubit)
        self.dac_q = Dac(spec, 2 * qubit + 1)
        self.mode = p.amplitude_mode
        tail = filter_tail_samples(profile)
        lead = np.zeros(1 if tail else 0)  # the filter's history is the idle output, not the first sample
        pad = np.zeros(tail)
        self.envelope = np.concatenate([lead, lifted_gaussian(p.duration_ns, p.sigma_ns, spec.dt_ns), pad])
        self.derivative = np.concatenate(
            [lead, lifted_gaussian_derivative(p.duration_ns, p.sigma_ns, spec.dt_ns), pad]
        )
        self.gain = drive_gain(profile)
        self.dt_sim_ns = spec.dt_ns / spec.oversampling
        self.code_min, self.code_max = spec.code_min, spec.code_max

    @property
    def n_samples(self) -> int:
        return self.envelope.size

    def envelopes(self, axis: str, beta: float) -> tuple[np.ndarray, np.ndarray]:
        """(I, Q) envelopes (K,) for a rotation about ``axis`` with DRAG coefficient ``beta``."""
        q = drag_quadrature(self.derivative, beta, self.profile.transmon(self.qubit).anharmonicity_ghz)
        return (self.envelope, q) if check_axis(axis) == 0 else (-q, self.envelope)

    def channel_codes(self, codes: np.ndarray, axis: str, beta: float) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample DAC codes (..., K) of the I and Q channels (``sampled`` mode: round(c e_k), clipped)."""
        c = self.dac_i.check_codes(codes)[..., None].astype(float)
        env_i, env_q = self.envelopes(axis, beta)
        lo, hi = self.code_min, self.code_max
        return (
            np.clip(np.rint(c * env_i), lo, hi).astype(np.int64),
            np.clip(np.rint(c * env_q), lo, hi).astype(np.int64),
        )

    def static_volts(self, codes: np.ndarray, axis: str, beta: float) -> tuple[np.ndarray, np.ndarray]:
        """Static (noise-free) DAC output per sample (..., K) on I and Q for amplitude codes (...)."""
        if self.mode == "sampled":
            ci, cq = self.channel_codes(codes, axis, beta)
            return self.dac_i.static(ci), self.dac_q.static(cq)
        env_i, env_q = self.envelopes(axis, beta)
        return self.dac_i.static(codes)[..., None] * env_i, self.dac_q.static(codes)[..., None] * env_q

    def volts(
        self, codes: np.ndarray, axis: str, beta: float, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """DAC output per sample (..., K) on I and Q: the static transfer, plus with ``rng`` one draw of
        the dynamic errors of the pair (independent white noise, common clock jitter)."""
        v_i, v_q = self.static_volts(codes, axis, beta)
        if rng is not None:
            v_i, v_q = perturb_pair(self.profile.dac, v_i, v_q, rng)
        return v_i, v_q

    def signals(self, volts_i: np.ndarray, volts_q: np.ndarray, *, hold: bool = True) -> dict[str, np.ndarray]:
        """Engine signals {"xy_i": Omega_I, "xy_q": Omega_Q} (rad/ns) of DAC output volts (..., K).

        ``hold=True``: zero-order hold (and filter) onto the simulation grid, (..., K * oversampling),
        to be propagated with ``dt_sim_ns``. ``hold=False``: Omega = G v per DAC sample, (..., K), to be
        propagated with ``dac.dt_ns`` (exact without a reconstruction filter, whose absence makes the
        ``oversampling`` sub-samples of a sample identical).
        """
        if hold:
            return {"xy_i": self.gain * self.dac_i.hold(volts_i), "xy_q": self.gain * self.dac_q.hold(volts_q)}
        if self.profile.dac.reconstruction_filter is not None:
            raise CryoctlError("per-sample signals need independent samples; a reconstruction filter mixes "
                               "them (use hold=True)", field="dac.reconstruction_filter")
        return {"xy_i": self.gain * np.asarray(volts_i, dtype=float),
                "xy_q": self.gain * np.asarray(volts_q, dtype=float)}

    def omegas(
        self, codes: np.ndarray, axis: str, beta: float, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rabi rates (rad/ns) on the simulation grid, (..., K * oversampling) per channel.

        With ``rng`` one draw of the dynamic DAC errors (:meth:`volts`); without, the static transfer.
        """
        sig = self.signals(*self.volts(codes, axis, beta, rng))
        return sig["xy_i"], sig["xy_q"]
