"""Calibration through the emulated DAC, as in a lab: Rabi and DRAG scans, then the measured angle of
every code. ONE :class:`Calibration` per profile, one entry per channel (qubit q, drive axis
a in conventions.DRIVE_AXES: x on the qubit's I DAC, y on its Q DAC, each with its own mismatch). It
is THE angle <-> code rule: the gate metrics and the circuits both use it.

Rabi scan (per channel). The controller plays the pulse at amplitude codes c = 1, 2, ... and measures
the realized rotation theta(c) about the drive axis (:func:`cryoctl.gates.metrics.realized_angle`,
process tomography of each scan point). The pi code is the *integer* code whose realized rotation is
closest to pi on the first Rabi lobe:

    pi_code = argmin_c | theta(c) - pi |,       step = pi / pi_code   (the nominal grid).

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

Measured angle per code (after the table is built, :func:`measured_angles`). The lab's full Rabi scan:
every code c of every channel, noise-averaged as measured (the table's operation, a channel when the
profile has noise or T1/T2),

    angles[q, a, c - code_min] = wrap(theta_qa(c)) in [-pi, pi).

The controller maps a requested angle theta to the code whose measured angle is nearest on the
circle,

    code_for(theta) = argmin_c | wrap(angles[c] - theta) |       (ties: the lowest code),

not to round(theta / step). Where the linear map is not what the hardware does, that matters: below
5 bits with pi at 0.9 of full scale the top code cannot reach pi (the linear map under-rotates every
gate by 44/17/3 % at 2/3/4 bits), and INL bends theta(c). Codes past the first lobe and negative codes
are candidates too: R(theta) = -R(theta - 2 pi) on the qubit block (a global sign), so the best
reachable code for theta near pi may be a negative one. The realized error of every request is then
at most half the largest gap between adjacent measured angles on the circle, with no systematic sign.
Implementation: per channel the distinct measured angles are sorted once (each keeping its lowest
code); a request is located by binary search and compared with its two circular neighbours, which
contain the nearest point on the circle (O(log 2^N) per request, vectorised over any shape).

An exact reference (:meth:`Calibration.linear`) has angles = wrap(c * step): code c realizes exactly
R(c * step) (the abstract b-bit quantizer: step = 2 pi / 2^b).

Results of the scans are cached on disk by :func:`cryoctl.gates.cache.table_key` and engine
(:mod:`cryoctl.gates.cache`); a cached scan made for another key is never served. The per-code
angles are part of the gate table (they are measured on it) and are stored with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import numpy as np

from cryoctl.conventions import DRIVE_AXES, check_axis, wrap_angle
from cryoctl.errors import CryoctlError
from cryoctl.gates.cache import CODE_VERSION, atomic_write, cache_path, calibration_file_name, table_key
from cryoctl.gates.metrics import average_gate_fidelity, realized_angle
from cryoctl.gates.realize import realize
from cryoctl.physics import SystemModel, get_engine
from cryoctl.profile.models import HardwareProfile
from cryoctl.pulse import Drive

_COARSE_POINTS = 256
_BETA_COARSE = np.round(np.arange(-1.0, 2.0 + 1e-9, 0.1), 10)
_BETA_FINE_HALF_WIDTH, _BETA_FINE_STEP = 0.1, 0.004
#: arrays of a Calibration, in the order they are serialised
_ARRAYS = ("pi_codes", "drag_beta", "pi_angle", "steps", "angles")


@dataclass(frozen=True, eq=False)
class Calibration:
    """Per-channel calibration (module docstring); index [q, a] with a = DRIVE_AXES.index(axis).

    ``pi_codes`` (nq, 2) int, ``drag_beta`` (nq, 2), ``pi_angle`` (nq, 2) the realized angle at the pi
    code, ``steps`` (nq, 2) the nominal grid pi / pi_code (given explicitly only by :meth:`linear`),
    ``angles`` (nq, 2, 2^N) the measured angle of every code (None until measured on a table).
    """

    profile_hash: str  # cryoctl.gates.cache.table_key of the profile it was made for
    engine: str
    pi_codes: np.ndarray
    drag_beta: np.ndarray
    pi_angle: np.ndarray
    angles: np.ndarray | None = None
    steps: np.ndarray | None = None
    from_cache: bool = field(default=False, compare=False)
    _circle: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        pi_codes = np.asarray(self.pi_codes, dtype=np.int64)
        if pi_codes.ndim != 2 or pi_codes.shape[1] != len(DRIVE_AXES):
            raise ValueError(f"pi_codes must have shape (n_qubits, {len(DRIVE_AXES)}), got {pi_codes.shape}")
        if np.any(pi_codes == 0):
            raise ValueError("pi_codes must be non-zero")
        object.__setattr__(self, "pi_codes", pi_codes)
        for name in ("drag_beta", "pi_angle"):
            v = np.asarray(getattr(self, name), dtype=float)
            if v.shape != pi_codes.shape:
                raise ValueError(f"{name} shape {v.shape} does not match pi_codes {pi_codes.shape}")
            object.__setattr__(self, name, v)
        steps = np.pi / pi_codes if self.steps is None else np.asarray(self.steps, dtype=float)
        if steps.shape != pi_codes.shape or not np.all(np.isfinite(steps)) or np.any(steps == 0):
            raise ValueError(f"steps must be finite, non-zero, of shape {pi_codes.shape}")
        object.__setattr__(self, "steps", steps)
        if self.angles is not None:
            a = np.asarray(self.angles, dtype=float)
            n = a.shape[-1] if a.ndim == 3 else 0
            if a.shape[:2] != pi_codes.shape or n < 2 or n & (n - 1):
                raise ValueError(f"angles must have shape (n_qubits, {len(DRIVE_AXES)}, 2^N), got {a.shape}")
            object.__setattr__(self, "angles", wrap_angle(a))

    # --- construction ---------------------------------------------------------------------------------

    @classmethod
    def linear(cls, n_qubits: int, bits: int, step, profile_hash: str = "exact") -> "Calibration":
        """Exact reference: code c realizes R(c * step) on every channel; ``step`` scalar or (n_qubits, 2).

        pi_codes = round(pi / step) (the code nearest to pi), angles = wrap(c * step).
        """
        if bits < 1:
            raise CryoctlError(f"expected bits >= 1, got {bits}", field="bits")
        steps = np.broadcast_to(np.asarray(step, dtype=float), (n_qubits, len(DRIVE_AXES))).copy()
        if not np.all(np.isfinite(steps)) or np.any(steps <= 0):
            raise CryoctlError(f"expected a positive finite angle step, got {step!r}", field="step")
        pi_codes = np.maximum(1, np.round(np.pi / steps)).astype(np.int64)
        codes = np.arange(-(2 ** (bits - 1)), 2 ** (bits - 1))
        return cls(profile_hash, "exact", pi_codes, np.zeros_like(steps), pi_codes * steps,
                   angles=codes * steps[..., None], steps=steps)

    def with_angles(self, angles: np.ndarray) -> "Calibration":
        """This calibration completed with the measured angle of every code, (n_qubits, 2, 2^N)."""
        return replace(self, angles=angles, from_cache=False)

    # --- the angle <-> code rule ------------------------------------------------------------------------

    @property
    def n_qubits(self) -> int:
        return int(self.pi_codes.shape[0])

    @property
    def bits(self) -> int:
        return int(self._measured().shape[-1]).bit_length() - 1

    @property
    def code_min(self) -> int:
        return -(self._measured().shape[-1] // 2)

    @property
    def pi_error(self) -> np.ndarray:
        """Systematic error of the calibrated pi pulse, realized - pi (rad), per qubit and axis."""
        return wrap_angle(self.pi_angle - np.sign(self.pi_codes) * np.pi)

    def _measured(self) -> np.ndarray:
        if self.angles is None:
            raise CryoctlError("this calibration has no measured angle per code (only the Rabi/DRAG scans); "
                               "use the one of a gate table (GateTable.calibration)", field="calibration")
        return self.angles

    def _index(self, axis: str, qubit) -> tuple[int, int]:
        a = check_axis(axis)
        if isinstance(qubit, bool) or not isinstance(qubit, (int, np.integer)) or not 0 <= qubit < self.n_qubits:
            raise CryoctlError(f"qubit {qubit!r} out of range [0, {self.n_qubits - 1}]", field="qubit")
        return int(qubit), a

    def step(self, axis: str, qubit: int) -> float:
        """Nominal angle grid of a channel, pi / pi_code (the step shift rules use), rad per code."""
        q, a = self._index(axis, qubit)
        return float(self.steps[q, a])

    def angle(self, axis: str, qubit: int, codes) -> np.ndarray:
        """Measured rotation angle in [-pi, pi) of ``codes`` (any shape) on one channel."""
        q, a = self._index(axis, qubit)
        table = self._measured()[q, a]
        codes = np.asarray(codes)
        lo, hi = self.code_min, self.code_min + table.size - 1
        if codes.dtype.kind not in "iu" or (codes.size and (codes.min() < lo or codes.max() > hi)):
            raise CryoctlError(f"expected integer codes in [{lo}, {hi}], got {codes.ravel()[:4].tolist()}...",
                               field="code")
        return table[codes - lo]

    def code_for(self, axis: str, qubit: int, theta) -> np.ndarray:
        """Code whose measured angle is nearest to ``theta`` on the circle (module docstring), same shape."""
        q, a = self._index(axis, qubit)
        theta = np.asarray(theta, dtype=float)
        if not np.all(np.isfinite(theta)):
            raise CryoctlError("requested angles must be finite", field="theta")
        u, rep = self._sorted(q, a)
        t = wrap_angle(theta)
        i = np.searchsorted(u, t)  # u[i-1] < t <= u[i]: the two circular neighbours of t
        lo, hi = (i - 1) % u.size, i % u.size
        d_lo, d_hi = np.abs(wrap_angle(u[lo] - t)), np.abs(wrap_angle(u[hi] - t))
        pick = np.where((d_hi < d_lo) | ((d_hi == d_lo) & (rep[hi] < rep[lo])), hi, lo)
        return rep[pick] + self.code_min

    def _sorted(self, q: int, a: int) -> tuple[np.ndarray, np.ndarray]:
        """Distinct measured angles of a channel, ascending, and the lowest code index of each (cached)."""
        if (q, a) not in self._circle:
            ang = self._measured()[q, a]
            order = np.lexsort((np.arange(ang.size), ang))  # by angle, then by code
            u, first = np.unique(ang[order], return_index=True)
            self._circle[(q, a)] = (u, order[first])
        return self._circle[(q, a)]

    # --- serialisation ----------------------------------------------------------------------------------

    def to_arrays(self, prefix: str = "cal_") -> dict[str, np.ndarray]:
        """Every field as numpy arrays (strings as 0-d arrays), for an .npz next to its table."""
        out = {f"{prefix}{name}": getattr(self, name) for name in _ARRAYS if getattr(self, name) is not None}
        out[f"{prefix}profile_hash"] = np.array(self.profile_hash)
        out[f"{prefix}engine"] = np.array(self.engine)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict, prefix: str = "cal_") -> "Calibration":
        """Inverse of :meth:`to_arrays`; ValueError/KeyError on missing or inconsistent arrays."""
        kw = {name: np.asarray(arrays[f"{prefix}{name}"]) for name in _ARRAYS if f"{prefix}{name}" in arrays}
        return cls(str(arrays[f"{prefix}profile_hash"]), str(arrays[f"{prefix}engine"]), **kw)

    def to_json(self) -> str:
        """The scan results (pi codes, DRAG, pi angles) for the calibration cache; angles stay with the table."""
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
        return cls(d["profile_hash"], d["engine"], d["pi_codes"], d["drag_beta"], d["pi_angle"], from_cache=True)


def measured_angles(ops: dict[str, np.ndarray], kind: str) -> np.ndarray:
    """The full Rabi scan of a table: realized angle of every code, (n_qubits, 2, 2^N) (module docstring)."""
    return np.stack([realized_angle(ops[axis], kind, axis) for axis in DRIVE_AXES], axis=1)
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
    model = SystemModel.from_profile(prof, drive.qubit)
    target = np.sign(code) * np.pi

    def fidelities(betas: np.ndarray) -> np.ndarray:
        w_i, w_q = np.broadcast_arrays(*drive.omegas(np.array([code]), axis, betas))  # one row per beta
        u = engine.propagate(model, {"xy_i": w_i, "xy_q": w_q}, drive.dt_sim_ns)
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
    pi_codes = np.zeros((nq, len(DRIVE_AXES)), dtype=np.int64)
    betas = np.zeros((nq, len(DRIVE_AXES)))
    angles = np.zeros((nq, len(DRIVE_AXES)))
    scan_drag = profile.pulse.shape == "drag" and profile.pulse.drag_beta is None
    fixed_beta = profile.pulse.drag_beta if profile.pulse.shape == "drag" and not scan_drag else 0.0
    for q in range(nq):  # per channel: each has its own DAC mismatch; every scan is one batched call
        drive = Drive(profile, q)
        for a, axis in enumerate(DRIVE_AXES):
            beta = fixed_beta
            if scan_drag:
                code0, _ = rabi_scan(drive, axis, 0.0, engine)
                beta = drag_scan(drive, axis, code0, engine)
            pi_codes[q, a], angles[q, a] = rabi_scan(drive, axis, beta, engine)
            betas[q, a] = beta
    return Calibration(table_key(profile), engine_name, pi_codes, betas, angles)


def calibrate(
    profile: HardwareProfile, engine: str = "fast", *, cache_dir=None, use_cache: bool = True
) -> Calibration:
    """Calibrate every channel of ``profile`` (Rabi + DRAG scans), reusing the on-disk cache.

    The result holds the scans only; :func:`cryoctl.gates.build.build_gate_table` completes it with the
    measured angle of every code. A cached entry is served only if it was made for ``table_key(profile)``.
    """
    get_engine(engine)  # validate the name before touching the cache
    if not use_cache:
        return _run(profile, engine)
    path = cache_path(cache_dir, calibration_file_name(profile, engine))
    try:
        cal = Calibration.from_json(path.read_text())
        finite = all(np.all(np.isfinite(v)) for v in (cal.pi_angle, cal.drag_beta))
        if cal.profile_hash == table_key(profile) and cal.pi_codes.shape[0] == profile.qubits.count and finite:
            return cal
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing or corrupt: recompute
    cal = _run(profile, engine)
    atomic_write(path, lambda fh: fh.write(cal.to_json().encode()))
    return cal
