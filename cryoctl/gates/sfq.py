"""SFQ gates: resonant trains, optimized Y(pi/2) bitstreams, compiled rotations, and SFQ gate tables.

Physics: :mod:`cryoctl.physics.sfq` (lab-frame kick-and-precess, exact). Bitstreams: :mod:`cryoctl.pulse.sfq`.
Every gate is taken in the qubit frame at the end of its bitstream (rotating at w_01).

Resonant trains (the SFQ angle quantizer). With f_clk = m f_01 (m integer) and k pulses one qubit period
apart (ticks 0, m, ..., (k-1) m), the free precession over one period is exp(-i H_0 T_q) = diag(1, 1,
exp(-i phi), ...) in the qubit frame, phi = alpha T_q = 2 pi alpha / f_01 (level 2's anharmonic phase per
period; wrapped into [-pi, pi)). For d = 2 the train is exactly R_y(k dtheta): the angle is quantized in
steps of dtheta.

Leakage of a resonant train (d = 3), perturbative estimate (:func:`resonant_leakage_estimate`). Write the
kick as exp[eps (A + B)], eps = dtheta / 2, A = |1><0| - |0><1| (the qubit rotation), B = sqrt(2) (|2><1| -
|1><2|). To first order in B the amplitude reaching |2> at kick j is g c_1(j), g = sqrt(2) eps, with c_1(j)
the |1> amplitude of the unperturbed rotation after j kicks (c_1 = sin(j dtheta / 2) from |0>, cos(j dtheta
/ 2) from |1>); it then precesses with the 1-2 splitting per period. Dressing by the kicks (the Stark shift
of the 1-2 pair) replaces phi by the eigenphase splitting of one period's {1, 2} map diag(1, e^{-i phi})
exp[-i g sigma_y],

    Phi = sign(phi) 2 arccos[cos(phi / 2) cos(g)],

so that, after N pulses,

    c_2 = g sum_{j=0}^{N-1} exp(i Phi j) c_1(j),                                     (geometric sums)
    L = (|c_2(|0>)|^2 + |c_2(|1>)|^2) / 2.

Summed by parts, |c_2|^2 ~ g^2 |c_1(N) e^{i Phi N} - c_1(0)|^2 / (4 sin^2(Phi / 2)): the leakage comes from the
abrupt start and end of the train (no ramp); without the oscillating cross term and averaged over the two
inputs, L ~ dtheta^2 / (8 sin^2(Phi / 2)) = 3e-3 at dtheta = 0.03, f_01 = 5 GHz, alpha / 2 pi = -0.3 GHz (exact:
2.3e-3). The estimate is first order in g / sin(Phi / 2) and agrees with the exact map within 3 % over
alpha / 2 pi = -0.2 .. -0.5 GHz and dtheta = 0.01 .. 0.05 (tests/gates/test_sfq.py).

Optimized Y(pi/2) bitstream (:func:`optimize_bitstream`): local search over which clock ticks carry a pulse,
objective 1 - F (average gate fidelity on the qubit block against R_y(pi/2), Pedersen et al. 2007, including
leakage: F = [Tr(M M') + |Tr M|^2] / 6, M = R' U_qb). Single flips of all L ticks and pair flips within a
window are evaluated at once from prefix and suffix products (U = S_j A_j P_j with P_j = A_{j-1} .. A_0 and
S_j = A_{L-1} .. A_{j+1}: flipping tick j costs S_j A'_j P_j), best improvement first; when no move improves,
a few random ticks are flipped (iterated local search, an explicit Generator) and the best bitstream is kept
(after the genetic searches of Liebermann & Wilhelm, Phys. Rev. Applied 6, 024022 (2016), whose optimized
sequences cut the error of an evenly spaced train by two orders of magnitude in a leaky transmon, and of Li,
McDermott & Vavilov, Phys. Rev. Applied 12, 014044 (2019)). Measured here (d = 3, clock 4 f_01, dtheta = 0.0297):
resonant train 1 - F = 2.7e-3, optimized 1.3e-6 in ~1 s; 1 ps rms jitter adds 3.3e-5.

Compiled rotations (virtual Z between two fixed Y(pi/2) bitstreams, checked in tests):

    R_y(theta) = Z(pi/2) Y90 Z(theta - pi) Y90 Z(pi/2),     R_x(theta) = Y90 Z(theta - pi) Y90 Z(pi),

Z(phi) = :func:`cryoctl.pulse.frame.virtual_z` (phase words of ``pulse.phase_bits``). The second Y90 starts
at L T_clk, a whole number of qubit periods when L is a multiple of m (the optimizer's lengths are), so it is
the same operator in the qubit frame. For an SFQ driver a frame update means re-timing later bitstreams (or
storing phase-shifted copies): the table assumes the controller can do that with ``phase_bits`` resolution.

Tables (:func:`build_sfq_table`): ``resonant``: code k >= 0 = k resonant pulses (R_y(k dtheta)); k < 0 =
the same train conjugated by Z(pi) (R_y(-|k| dtheta)); x = y conjugated by Z(-pi/2) .. Z(pi/2); one slot of
L_max ticks for every code. ``compiled``: code c = rotation by c 2 pi / 2^code_bits (formulas above). With
``jitter_rms_ps > 0`` and ``jitter_draws`` > 0 the table is a channel table: kron(U, U*) averaged over
independent jitter draws (for compiled gates each Y90 has its own draws, so the channel is the composition
of the averaged Y90 channels, exactly). The measured angle of every code completes the table's one
:class:`~cryoctl.gates.calibration.Calibration`, so :class:`~cryoctl.circuit.providers.TableProvider` uses it
unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cryoctl.conventions import DRIVE_AXES, kron_conj, wrap_angle
from cryoctl.errors import CryoctlError
from cryoctl.gates.cache import table_key
from cryoctl.gates.calibration import Calibration, measured_angles
from cryoctl.gates.metrics import rotation
from cryoctl.gates.table import GateTable
from cryoctl.physics.fast import time_ordered_product
from cryoctl.physics.sfq import KickPrecess, sfq_model
from cryoctl.profile.models import HardwareProfile
from cryoctl.pulse.frame import virtual_z
from cryoctl.pulse.sfq import check_memory, jitter_delays, pack, resonant_train

#: tick-operator elements per chunk of batched propagation (bounds memory: ~16 B x 9 x this)
_CHUNK = 1 << 21


# --- one qubit under SFQ control ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SfqQubit:
    """Qubit ``qubit`` of an SFQ profile: its lab-frame kick-and-precess map and the driver's timing."""

    kp: KickPrecess
    qubit_ghz: float
    clock_ghz: float
    jitter_rms_ps: float
    memory_bits: int

    @classmethod
    def from_profile(cls, profile: HardwareProfile, qubit: int = 0) -> "SfqQubit":
        sfq = profile.sfq
        if sfq is None:
            raise CryoctlError("the profile has no sfq section", field="sfq")
        t = profile.transmon(qubit)
        f01 = sfq.qubit_ghz(t.detuning_ghz)
        if f01 <= 0:
            raise CryoctlError(f"qubit {qubit}: f_01 = {f01} GHz is not positive", field="qubits.detuning_ghz")
        kp = KickPrecess(sfq_model(t.levels, f01, t.anharmonicity_ghz), sfq.clock_period_ns, sfq.tip_angle(f01))
        return cls(kp, f01, sfq.clock_ghz, sfq.jitter_rms_ps, sfq.memory_bits)

    @property
    def tip_angle(self) -> float:
        return self.kp.tip_angle

    @property
    def ticks_per_period(self) -> int:
        """m = f_clk / f_01 when it is an integer (CryoctlError otherwise: no resonant train exists)."""
        m = self.clock_ghz / self.qubit_ghz
        if abs(m - round(m)) > 1e-9:
            raise CryoctlError(f"f_clk / f_01 = {m:.6g} is not an integer: resonant trains need the clock at a "
                               "multiple of the qubit frequency", field="sfq.clock_per_qubit")
        return int(round(m))

    @property
    def anharmonic_phase(self) -> float:
        """phi = wrap(alpha T_q): level 2's phase per qubit period in the qubit frame (rad)."""
        e = self.kp.energies
        if e.size < 3:
            return 0.0
        return float(wrap_angle((e[2] - 2 * e[1]) * 2 * np.pi / self.kp.omega01))


# --- fidelity on the qubit block ---------------------------------------------------------------------------


def qubit_fidelity(u, target) -> np.ndarray:
    """F = [Tr(M M') + |Tr M|^2] / 6, M = R' U[:2, :2] (leakage included), for u (..., d, d), R (2, 2)."""
    m = np.conj(np.asarray(target)).T @ np.asarray(u)[..., :2, :2]
    tr = m[..., 0, 0] + m[..., 1, 1]
    return (np.sum(np.abs(m) ** 2, axis=(-1, -2)) + np.abs(tr) ** 2) / 6.0


def resonant_leakage_estimate(tip_angle: float, anharmonic_phase: float, n_pulses: int) -> float:
    """Perturbative leakage of a resonant train of ``n_pulses`` (module docstring), closed-form sums."""
    g = np.sqrt(2.0) * tip_angle / 2
    phi = float(wrap_angle(anharmonic_phase))
    big = np.sign(phi) * 2 * np.arccos(np.cos(phi / 2) * np.cos(g))
    x = tip_angle / 2
    n = int(n_pulses)

    def geo(w):  # sum_{j=0}^{n-1} exp(i w j)
        z = np.exp(1j * w)
        return n if abs(z - 1) < 1e-15 else (1 - z**n) / (1 - z)

    plus, minus = geo(big + x), geo(big - x)
    c_from0 = g * (plus - minus) / 2j  # c_1 = sin(j x)
    c_from1 = g * (plus + minus) / 2  # c_1 = cos(j x)
    return float((abs(c_from0) ** 2 + abs(c_from1) ** 2) / 2)


# --- batched propagation ---------------------------------------------------------------------------------


def bitstream_gates(sq: SfqQubit, bits, delays_ns=None) -> np.ndarray:
    """Qubit-frame gates of bitstreams (B, L) (optionally jitter delays (J, B, L)) -> (B, d, d) / (J, B, d, d),
    chunked over B so that memory stays bounded."""
    bits = np.asarray(bits, dtype=bool)
    b, length = bits.shape[-2], bits.shape[-1]
    lead = () if delays_ns is None else np.shape(delays_ns)[:-2]
    per = max(1, _CHUNK // (length * int(np.prod(lead, dtype=np.int64))))
    parts = []
    for lo in range(0, b, per):
        dl = None if delays_ns is None else delays_ns[..., lo:lo + per, :]
        parts.append(sq.kp.gate(bits[lo:lo + per], dl))
    return np.concatenate(parts, axis=-3)


def jitter_channel(sq: SfqQubit, bits, rng: np.random.Generator, draws: int) -> np.ndarray:
    """Average of kron(U, U*) over ``draws`` independent jitter draws, for bitstreams (B, L) -> (B, d^2, d^2)."""
    bits = np.asarray(bits, dtype=bool)
    delays = jitter_delays(rng, (int(draws), *bits.shape), sq.jitter_rms_ps)
    u = bitstream_gates(sq, bits, delays)
    return kron_conj(u).mean(axis=0)


# --- optimizer -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BitstreamResult:
    """An optimized bitstream and its error: ``infidelity`` = 1 - F (leakage included), ``leakage``."""

    bits: np.ndarray
    infidelity: float
    leakage: float
    evaluations: int
    history: tuple[float, ...] = field(default=(), repr=False)


def _prefix_suffix(ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P[j] = A_{j-1} .. A_0 (P[0] = 1) and S[j] = A_{L-1} .. A_{j+1} (S[L-1] = 1), (L, d, d) each."""
    n, d = ops.shape[0], ops.shape[-1]
    p = np.empty((n + 1, d, d), dtype=complex)
    s = np.empty((n + 1, d, d), dtype=complex)
    p[0] = s[n] = np.eye(d)
    for j in range(n):
        p[j + 1] = ops[j] @ p[j]
    for j in range(n - 1, -1, -1):
        s[j] = s[j + 1] @ ops[j]
    return p[:n], s[1:]


def optimize_bitstream(sq: SfqQubit, target, length: int, rng: np.random.Generator, init=None, *,
                       window: int | None = None, max_rounds: int = 400, kicks: int = 3, tol: float = 0.0,
                       patience: int = 60) -> BitstreamResult:
    """Local search for a bitstream of ``length`` ticks realizing ``target`` (2 x 2) (module docstring).

    Moves: every single flip and every pair flip (i, i + delta), 1 <= delta <= ``window`` (default 2 m or 8),
    evaluated together; the best improving move is taken. When none improves, ``kicks`` random ticks are
    flipped from the best bitstream so far; the search stops after ``max_rounds`` rounds, when 1 - F <=
    ``tol``, or after ``patience`` rounds without a new best.
    """
    if not isinstance(rng, np.random.Generator):
        raise CryoctlError("expected a numpy.random.Generator", field="rng")
    length = int(length)
    bits = np.zeros(length, bool) if init is None else np.array(init, dtype=bool)
    if bits.shape != (length,):
        raise CryoctlError(f"initial bitstream must have {length} ticks, got {bits.shape}", field="init")
    check_memory(bits, sq.memory_bits)
    kp = sq.kp
    target = np.asarray(target, dtype=complex)
    if window is None:
        try:
            window = 2 * sq.ticks_per_period
        except CryoctlError:
            window = 8
    window = max(1, min(int(window), length - 1))
    frame = np.exp(1j * kp.omega01 * np.arange(kp.levels) * kp.duration_ns(length))[:, None]
    f = kp.free(kp.clock_period_ns)
    both = np.stack([f, f @ kp.kick])  # tick operator without / with a pulse

    def cost(u_lab):
        return 1.0 - qubit_fidelity(frame * u_lab, target)

    ops = both[bits.astype(np.intp)]
    cur = float(cost(time_ordered_product(ops)))
    best_bits, best = bits.copy(), cur
    history, evals, stale = [cur], 1, 0
    for _ in range(max_rounds):
        if best <= tol or stale >= patience:
            break
        ops = both[bits.astype(np.intp)]
        flipped = both[(~bits).astype(np.intp)]
        p, s = _prefix_suffix(ops)
        cands = [s @ flipped @ p]  # single flips, (L, d, d)
        idx = [(np.arange(length), np.full(length, -1))]
        z = flipped @ p  # A'_i P_i
        for delta in range(1, window + 1):
            i = np.arange(length - delta)
            j = i + delta
            cands.append(s[j] @ flipped[j] @ z[i])
            idx.append((i, j))
            z = ops[np.minimum(np.arange(length) + delta, length - 1)] @ z  # A_{i+delta} ... A'_i P_i
        u = np.concatenate(cands)
        c = cost(u)
        evals += c.size
        k = int(np.argmin(c))
        if c[k] < cur - 1e-15:
            ii, jj = np.concatenate([a for a, _ in idx]), np.concatenate([b for _, b in idx])
            bits = bits.copy()
            bits[ii[k]] ^= True
            if jj[k] >= 0:
                bits[jj[k]] ^= True
            cur = float(c[k])
            if cur < best - 1e-15:
                best, best_bits, stale = cur, bits.copy(), 0
            else:
                stale += 1
        else:  # local minimum: perturb the best bitstream
            stale += 1
            bits = best_bits.copy()
            bits[rng.choice(length, size=min(kicks, length), replace=False)] ^= True
            cur = float(cost(time_ordered_product(both[bits.astype(np.intp)])))
            evals += 1
        history.append(best)
    u = kp.gate(best_bits)
    leak = 1.0 - 0.5 * float(np.sum(np.abs(u[:2, :2]) ** 2))
    return BitstreamResult(best_bits, float(1.0 - qubit_fidelity(u, target)), leak, evals, tuple(history))


def y90_length(sq: SfqQubit, extra_periods: int = 4) -> int:
    """Ticks of a Y(pi/2) slot: the resonant train's periods plus ``extra_periods``, a multiple of m."""
    m = sq.ticks_per_period
    k = max(1, int(round(np.pi / 2 / sq.tip_angle)))
    return (k + extra_periods) * m


def resonant_y90(sq: SfqQubit, length: int | None = None) -> np.ndarray:
    """The resonant train closest to pi/2 (round(pi / (2 dtheta)) pulses), padded to ``length`` ticks."""
    k = max(1, int(round(np.pi / 2 / sq.tip_angle)))
    return resonant_train(np.array(k), sq.ticks_per_period, length)


def optimize_y90(sq: SfqQubit, rng: np.random.Generator, extra_periods: int = 4, **kwargs) -> BitstreamResult:
    """Optimized Y(pi/2) bitstream of :func:`y90_length` ticks, started from the resonant train."""
    length = y90_length(sq, extra_periods)
    return optimize_bitstream(sq, rotation("y", np.pi / 2), length, rng, init=resonant_y90(sq, length), **kwargs)


# --- compiled rotations ----------------------------------------------------------------------------------


def compile_rotations(u90, axis: str, theta, phase_bits: int | None = None, kind: str = "unitary") -> np.ndarray:
    """R_axis(theta) from one Y90 operation and virtual Z (module docstring) -> (..., D, D).

    ``u90``: the qubit-frame Y90 gate (d, d) (``kind="unitary"``) or its channel (d^2, d^2), row-major
    (``kind="channel"``); the two Y90s are independent realizations of it. Z phases are rounded to
    ``phase_bits`` (None: exact).
    """
    u90 = np.asarray(u90)
    theta = np.asarray(theta, dtype=float)
    if kind not in ("unitary", "channel"):
        raise CryoctlError(f"unknown kind {kind!r}; expected 'unitary' or 'channel'", field="kind")
    levels = int(round(np.sqrt(u90.shape[-1]))) if kind == "channel" else u90.shape[-1]
    a, c = {"y": (np.pi / 2, np.pi / 2), "x": (0.0, np.pi)}.get(axis, (None, None))
    if a is None:
        raise CryoctlError(f"unknown axis {axis!r}; expected one of {list(DRIVE_AXES)}", field="axis")
    za = virtual_z(np.full(theta.shape, a), levels, phase_bits)
    zb = virtual_z(theta - np.pi, levels, phase_bits)
    zc = virtual_z(np.full(theta.shape, c), levels, phase_bits)
    if kind == "channel":
        za, zb, zc = kron_conj(za), kron_conj(zb), kron_conj(zc)
    return za @ u90 @ zb @ u90 @ zc


# --- tables --------------------------------------------------------------------------------------------


def resonant_code_bits(tip_angle: float) -> int:
    """Code width of a resonant table: 2^(N-1) - 1 >= k_pi = round(pi / dtheta) (angles up to pi)."""
    k_pi = max(1, int(round(np.pi / tip_angle)))
    return max(2, k_pi.bit_length() + 1)


def _axis_conjugations(levels: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(left, right) virtual Z that turn R_y(theta) into R_axis(theta) (x: Z(-pi/2) . Z(pi/2); y: identity)."""
    return {"y": (np.eye(levels), np.eye(levels)),
            "x": (virtual_z(np.array(-np.pi / 2), levels), virtual_z(np.array(np.pi / 2), levels))}


def resonant_gates(sq: SfqQubit, k_max: int, delays_ns=None) -> np.ndarray:
    """Qubit-frame gates of the resonant trains k = 0 .. k_max in one slot of k_max m ticks: (..., k_max + 1, d, d).

    Pulse j at tick j m (+ delta_j, ``delays_ns`` (..., k_max)), then free precession to the slot's end:
    U_k = U_free((L - k m) T_clk) Q_{k-1} .. Q_0 with Q_j = U_free(m T_clk) U_k(delta_j), by a cumulative
    product over pulses (the trains are prefixes of each other), batched over leading axes (jitter draws).
    """
    kp, m = sq.kp, sq.ticks_per_period
    k_max = int(k_max)
    slot = max(1, k_max) * m
    check_memory(np.zeros(slot, bool), sq.memory_bits)
    period = kp.free(m * kp.clock_period_ns)
    lead = () if delays_ns is None else np.shape(delays_ns)[:-1]
    kicks = (np.broadcast_to(kp.kick, (k_max, kp.levels, kp.levels)) if delays_ns is None
             else kp.kick_at(np.asarray(delays_ns, dtype=float)[..., :k_max]))
    out = np.empty((*lead, k_max + 1, kp.levels, kp.levels), dtype=complex)
    acc = np.broadcast_to(np.eye(kp.levels, dtype=complex), (*lead, kp.levels, kp.levels))
    out[..., 0, :, :] = acc
    for j in range(k_max):
        acc = period @ (kicks[..., j, :, :] @ acc)
        out[..., j + 1, :, :] = acc
    idle = kp.free((slot - m * np.arange(k_max + 1)) * kp.clock_period_ns)  # (k_max + 1, d, d)
    return kp.to_qubit_frame(idle @ out, slot)


def _resonant_ops(sq: SfqQubit, bits_n: int, rng, draws: int) -> tuple[dict, int]:
    """ops per axis (2^N, D, D) for codes -2^(N-1) .. 2^(N-1) - 1 (module docstring), and the slot in ticks."""
    half = 2 ** (bits_n - 1)  # |code| up to 2^(N-1) (code -2^(N-1))
    d = sq.kp.levels
    if draws:
        delays = jitter_delays(rng, (draws, half), sq.jitter_rms_ps)
        pos = kron_conj(resonant_gates(sq, half, delays)).mean(axis=0)
        conj = kron_conj
    else:
        pos = resonant_gates(sq, half)
        conj = lambda z: z  # noqa: E731
    zpi, zmpi = conj(virtual_z(np.array(np.pi), d)), conj(virtual_z(np.array(-np.pi), d))
    codes = np.arange(-half, half)
    y = np.where((codes < 0)[:, None, None], zpi @ pos[np.abs(codes)] @ zmpi, pos[np.abs(codes)])
    ops = {}
    for axis, (left, right) in _axis_conjugations(d).items():
        ops[axis] = conj(left) @ y @ conj(right)
    return {a: ops[a] for a in DRIVE_AXES}, half * sq.ticks_per_period


def build_sfq_table(profile: HardwareProfile, mode: str | None = None, seed: int = 0, jitter_draws: int = 0,
                    y90_rounds: int = 300, y90_tol: float = 1e-5, y90_bits=None) -> GateTable:
    """SFQ gate table of ``profile`` (module docstring): ``mode`` = profile.sfq.table by default.

    ``jitter_draws`` > 0 with ``sfq.jitter_rms_ps`` > 0: channel table averaged over that many jitter draws
    from ``numpy.random.default_rng([seed, q])`` per qubit (and the optimizer's searches from
    ``default_rng([seed, q, 90])``, stopped at 1 - F <= ``y90_tol`` or after ``y90_rounds``). ``y90_bits``:
    stored Y90 bitstreams to use instead of a search, (L,) for every qubit or (n_qubits, L). ``meta`` records
    the tip angles, slot lengths and (compiled) the Y90 bitstreams as packed hex words with their 1 - F.
    """
    sfq = profile.sfq
    if sfq is None:
        raise CryoctlError("the profile has no sfq section (SFQ control)", field="sfq")
    mode = sfq.table if mode is None else mode
    if mode not in ("resonant", "compiled"):
        raise CryoctlError(f"unknown SFQ table {mode!r}; expected 'resonant' or 'compiled'", field="sfq.table")
    if isinstance(jitter_draws, bool) or not isinstance(jitter_draws, (int, np.integer)) or jitter_draws < 0:
        raise CryoctlError(f"expected jitter_draws >= 0, got {jitter_draws!r}", field="jitter_draws")
    draws = int(jitter_draws) if sfq.jitter_rms_ps > 0 else 0
    kind = "channel" if draws else "unitary"
    nq, d = profile.qubits.count, profile.qubits.levels
    qubits = [SfqQubit.from_profile(profile, q) for q in range(nq)]
    tips = [sq.tip_angle for sq in qubits]
    bits_n = max(resonant_code_bits(t) for t in tips) if mode == "resonant" else sfq.code_bits
    half = 2 ** (bits_n - 1)
    codes = np.arange(-half, half)
    ops = {a: [] for a in DRIVE_AXES}
    meta: dict = {"control": "sfq", "table": mode, "tip_angle_rad": tips, "jitter_draws": draws,
                  "qubit_ghz": [sq.qubit_ghz for sq in qubits]}
    y90_cache: dict = {}
    stored = None
    if y90_bits is not None:
        stored = np.asarray(y90_bits)
        stored = np.broadcast_to(stored, (nq, *stored.shape)) if stored.ndim == 1 else stored
        if stored.ndim != 2 or stored.shape[0] != nq or stored.shape[1] < 1 or not np.isin(stored, (0, 1)).all():
            raise CryoctlError(f"expected 0/1 y90_bits of shape (L,) or ({nq}, L), got {np.shape(y90_bits)}",
                               field="y90_bits")
        stored = stored.astype(bool)
    for q, sq in enumerate(qubits):
        rng = np.random.default_rng([seed, q])
        if mode == "resonant":
            per_axis, slot = _resonant_ops(sq, bits_n, rng, draws)
            meta.setdefault("slot_ticks", []).append(slot)
        else:
            key = (sq.qubit_ghz, sq.tip_angle, tuple(np.diag(sq.kp.model.static)))
            if stored is not None:
                given = check_memory(stored[q], sq.memory_bits)
                u = sq.kp.gate(given)
                leak = 1.0 - 0.5 * float(np.sum(np.abs(u[:2, :2]) ** 2))
                y90_cache[key] = BitstreamResult(given, float(1 - qubit_fidelity(u, rotation("y", np.pi / 2))), leak, 1)
            elif key not in y90_cache:
                y90_cache[key] = optimize_y90(sq, np.random.default_rng([seed, q, 90]), max_rounds=y90_rounds,
                                              tol=y90_tol)
            res = y90_cache[key]
            u90 = jitter_channel(sq, res.bits[None], rng, draws)[0] if draws else sq.kp.gate(res.bits)
            theta = codes * (2 * np.pi / 2**bits_n)
            per_axis = {a: compile_rotations(u90, a, theta, profile.pulse.phase_bits, kind) for a in DRIVE_AXES}
            meta.setdefault("y90_bitstreams", []).append(pack(res.bits).tobytes().hex())
            meta.setdefault("y90_ticks", []).append(int(res.bits.size))
            meta.setdefault("y90_infidelity", []).append(res.infidelity)
            meta.setdefault("slot_ticks", []).append(2 * int(res.bits.size))
        for a in DRIVE_AXES:
            ops[a].append(per_axis[a])
    ops = {a: np.stack(v) for a, v in ops.items()}
    angles = measured_angles(ops, kind)
    if mode == "resonant":
        steps = np.repeat(np.asarray(tips)[:, None], 2, axis=1)
        pi_codes = np.maximum(1, np.round(np.pi / steps)).astype(np.int64)
    else:
        steps = np.full((nq, 2), 2 * np.pi / 2**bits_n)
        pi_codes = np.full((nq, 2), -half, dtype=np.int64)  # -pi: the code of angle pi on the signed grid
    pi_angle = np.take_along_axis(angles, (pi_codes + half)[..., None], axis=-1)[..., 0]
    key = table_key(profile)
    cal = Calibration(key, "sfq", pi_codes, np.zeros((nq, 2)), pi_angle, angles=angles, steps=steps)
    return GateTable(profile_hash=key, bits=bits_n, levels=d, n_qubits=nq, phase_bits=profile.pulse.phase_bits,
                     kind=kind, ops=ops, calibration=cal, meta=meta)
