"""Calibration through the emulated DAC, as in a lab: Rabi amplitude scan and DRAG scan, per channel.

Rabi scan (per qubit and axis; x is played by the qubit's I DAC, y by its Q DAC). The controller
plays the pulse at amplitude codes c = 1, 2, ... and measures the realized rotation theta(c) about the
drive axis (:func:`cryoctl.gates.metrics.realized_angle`, i.e. process tomography of each scan
point). The pi code is the *integer* code whose realized rotation is closest to pi on the first
Rabi lobe:

    pi_code = argmin_c | theta(c) - pi |,       angle_per_code = pi / pi_code.

No sub-code interpolation: with an N-bit DAC the pi rotation is only reachable to within about half
an LSB step, and that systematic error is kept (``pi_error``). For large N the scan is two-stage
(every s-th code, s = 2^(N-1) // 256, then every code within +-s of the best coarse point); both
stages only ever evaluate integer codes, so the result equals the exhaustive scan whenever theta(c)
is monotonic on the first lobe. The scan uses the static DAC transfer (INL/DNL, gain, offset, hold,
filter) and the closed-system propagator: dynamic noise averages out of a repeated lab scan and T1/T2
barely move the peak.

DRAG scan (``pulse.shape == "drag"`` and ``pulse.drag_beta`` null). At the pi code from a Rabi scan
without DRAG, beta is scanned (coarse grid on [-1, 2] in steps of 0.1, then +-0.1 around the best
point in steps of 0.004) and the beta maximizing the average gate fidelity of the pi pulse against
R_axis(pi) is kept (an idealised stand-in for the lab's AllXY / phase-error sequences, which
minimize the same coherent error). The Rabi scan is then repeated with that beta. A given
``pulse.drag_beta`` is used as is; ``shape == "gaussian"`` means beta = 0.

Results are cached on disk by profile hash and engine (:mod:`cryoctl.gates.cache`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from cryoctl.gates.cache import CODE_VERSION, atomic_write, cache_path
from cryoctl.gates.metrics import average_gate_fidelity, realized_angle
from cryoctl.gates.realize import get_engine, realize
from cryoctl.profile import profile_hash
from cryoctl.profile.models import HardwareProfile
from cryoctl.pulse import AXES, Drive, wrap_angle

_COARSE_POINTS = 256
_BETA_COARSE = np.round(np.arange(-1.0, 2.0 + 1e-9, 0.1), 10)
_BETA_FINE_HALF_WIDTH, _BETA_FINE_STEP = 0.1, 0.004


@dataclass(frozen=True)
class Calibration:
    """Per-channel calibration: ``pi_codes[q, a]``, ``drag_beta[q, a]``, realized angle at the pi code."""

    profile_hash: str
    engine: str
    pi_codes: np.ndarray
    drag_beta: np.ndarray
    pi_angle: np.ndarray
    from_cache: bool = field(default=False, compare=False)

    @property
    def pi_error(self) -> np.ndarray:
        """Systematic error of the calibrated pi pulse, realized - pi (rad), per qubit and axis."""
        return wrap_angle(self.pi_angle - np.sign(self.pi_codes) * np.pi)

    @property
    def angle_per_code(self) -> np.ndarray:
        return np.pi / self.pi_codes

    def to_json(self) -> str:
        return json.dumps(
            {
                "profile_hash": self.profile_hash,
                "engine": self.engine,
                "code_version": CODE_VERSION,
                "pi_codes": self.pi_codes.tolist(),
                "drag_beta": self.drag_beta.tolist(),
                "pi_angle": self.pi_angle.tolist(),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> "Calibration":
        d = json.loads(text)
        pi_codes = np.asarray(d["pi_codes"], dtype=np.int64)
        beta = np.asarray(d["drag_beta"], dtype=float)
        angle = np.asarray(d["pi_angle"], dtype=float)
        if pi_codes.ndim != 2 or beta.shape != pi_codes.shape or angle.shape != pi_codes.shape:
            raise ValueError("inconsistent calibration arrays")
        return cls(d["profile_hash"], d["engine"], pi_codes, beta, angle, from_cache=True)


def rabi_scan(drive: Drive, axis: str, beta: float = 0.0, engine=None) -> tuple[int, float]:
    """(pi_code, realized angle at pi_code) for one channel: integer codes only (module docstring)."""
    engine = engine or get_engine("fast")
    sign, top = (1, drive.code_max) if drive.code_max >= 1 else (-1, -drive.code_min)
    target = sign * np.pi
    step = max(1, top // _COARSE_POINTS)
    coarse = sign * np.unique(np.append(np.arange(step, top + 1, step), top))
    theta = realized_angle(realize(drive, coarse, axis, beta, engine=engine), "unitary", axis)
    # unwrap from code 0 (angle 0) along the scan so that the first lobe is selected
    theta = np.unwrap(np.concatenate([[0.0], theta]))[1:]
    i = int(np.argmin(np.abs(theta - target)))
    best, best_theta = int(coarse[i]), float(theta[i])
    if step > 1:
        lo, hi = max(1, abs(best) - step), min(top, abs(best) + step)
        fine = sign * np.arange(lo, hi + 1)
        theta = realized_angle(realize(drive, fine, axis, beta, engine=engine), "unitary", axis)
        dist = np.abs(wrap_angle(theta - target))
        i = int(np.argmin(dist))
        best, best_theta = int(fine[i]), float(target + wrap_angle(theta[i] - target))
    return best, best_theta


def drag_scan(drive: Drive, axis: str, code: int, engine=None) -> float:
    """beta maximizing the pi-pulse fidelity at amplitude ``code`` (coarse then fine grid, vectorised)."""
    engine = engine or get_engine("fast")
    prof = drive.profile
    qb = prof.qubits
    target = np.sign(code) * np.pi

    def fidelities(betas: np.ndarray) -> np.ndarray:
        w_i, w_q = np.broadcast_arrays(*drive.omegas(np.array([code]), axis, betas))  # one row per beta
        u = engine.propagate(w_i, w_q, drive.dt_sim_ns, qb.levels, qb.anharmonicity_ghz, qb.detuning_ghz)
        return average_gate_fidelity(u, "unitary", axis, target)

    def pick(betas: np.ndarray) -> float:
        # ties (e.g. a coarse sampled-mode DAC that rounds the whole DRAG quadrature to code 0) go to
        # the smallest |beta|: no DRAG unless it measurably helps
        f = fidelities(betas)
        tied = betas[f >= f.max() - 1e-14]
        return float(tied[np.argmin(np.abs(tied))])

    best = pick(_BETA_COARSE)
    n = int(round(2 * _BETA_FINE_HALF_WIDTH / _BETA_FINE_STEP))
    return pick(best - _BETA_FINE_HALF_WIDTH + _BETA_FINE_STEP * np.arange(n + 1))


def _run(profile: HardwareProfile, engine_name: str) -> Calibration:
    engine = get_engine(engine_name)
    nq = profile.qubits.count
    pi_codes = np.zeros((nq, len(AXES)), dtype=np.int64)
    betas = np.zeros((nq, len(AXES)))
    angles = np.zeros((nq, len(AXES)))
    scan_drag = profile.pulse.shape == "drag" and profile.pulse.drag_beta is None
    fixed_beta = profile.pulse.drag_beta if profile.pulse.shape == "drag" and not scan_drag else 0.0
    for q in range(nq):  # per channel: each has its own DAC mismatch; every scan is one batched call
        drive = Drive(profile, q)
        for a, axis in enumerate(AXES):
            beta = fixed_beta
            if scan_drag:
                code0, _ = rabi_scan(drive, axis, 0.0, engine)
                beta = drag_scan(drive, axis, code0, engine)
            pi_codes[q, a], angles[q, a] = rabi_scan(drive, axis, beta, engine)
            betas[q, a] = beta
    return Calibration(profile_hash(profile), engine_name, pi_codes, betas, angles)


def calibrate(
    profile: HardwareProfile, engine: str = "fast", *, cache_dir=None, use_cache: bool = True
) -> Calibration:
    """Calibrate every channel of ``profile`` (Rabi + DRAG scans), reusing the on-disk cache."""
    get_engine(engine)  # validate the name before touching the cache
    if not use_cache:
        return _run(profile, engine)
    path = cache_path(cache_dir, f"calibration-{profile_hash(profile)}-{engine}-{CODE_VERSION}.json")
    try:
        cal = Calibration.from_json(path.read_text())
        if cal.profile_hash == profile_hash(profile) and cal.pi_codes.shape[0] == profile.qubits.count:
            return cal
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing or corrupt: recompute
    cal = _run(profile, engine)
    atomic_write(path, lambda fh: fh.write(cal.to_json().encode()))
    return cal
