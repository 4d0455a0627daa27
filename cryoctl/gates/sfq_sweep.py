"""SFQ gate sweeps: resonant trains and optimized Y(pi/2) bitstreams vs length, clock and timing jitter.

The numbers behind ``cryoctl sfq`` and the study task ``sfq`` (physics: :mod:`cryoctl.physics.sfq`, gates:
:mod:`cryoctl.gates.sfq`). For one qubit of an SFQ profile (its f_01, anharmonicity, levels and tip angle
dtheta, all fixed) and a clock f_clk = m f_01 for each m in ``clocks_per_qubit``:

- resonant trains of k = 1 .. k_pi = round(pi / dtheta) pulses (one per qubit period, (k - 1) m + 1 ticks; past
  the driver's memory too, flagged ``fits_memory``): error
  against their own nominal rotation, 1 - F(U_k, R_y(k dtheta)), and leakage L_k (the angle quantizer's gate
  quality vs length; leakage from the abrupt start and end of the train, :mod:`cryoctl.gates.sfq`);
- the resonant Y(pi/2) train (k = round(pi / (2 dtheta)) pulses) and optimized Y(pi/2) bitstreams of
  L = (k + e) m ticks for e in ``extra_periods`` (local search from the resonant train,
  :func:`~cryoctl.gates.sfq.optimize_y90`, one explicit Generator per search): 1 - F and leakage;
- timing jitter: the best optimized bitstream of the clock played with independent N(0, sigma_t^2) delays per
  pulse, the channel averaged over ``jitter_draws`` draws (:func:`~cryoctl.gates.sfq.jitter_channel`), 1 - F
  for each sigma_t in ``jitter_ps``. For small sigma_t the added error grows as sigma_t^2 (a Gaussian average
  of phase errors), which the sweep shows.

Fidelity: F = [Tr(M M') + |Tr M|^2] / 6 on the qubit block, M = R' U_qb (leakage included; for channels the
same average gate fidelity from the qubit-block superoperator, :func:`cryoctl.gates.metrics.average_gate_fidelity`).
Seeds: the search of e extra periods at clock m draws from ``default_rng([seed, m, e, 0])``, the jitter of
clock m from ``default_rng([seed, m, 1])``, so any subset of the sweep reproduces the full sweep's numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.gates.metrics import average_gate_fidelity, leakage, rotation
from cryoctl.gates.sfq import (
    SfqQubit,
    jitter_channel,
    optimize_y90,
    qubit_fidelity,
    resonant_gates,
    resonant_y90,
    y90_length,
)
from cryoctl.physics.sfq import KickPrecess
from cryoctl.profile.models import HardwareProfile
from cryoctl.pulse.sfq import pack

DEFAULT_CLOCKS = (2, 4, 8)
DEFAULT_EXTRA_PERIODS = (0, 2, 4, 8)
DEFAULT_JITTER_PS = (0.0, 0.5, 1.0, 2.0, 4.0)


def _qubit_leakage(u) -> np.ndarray:
    return 1.0 - 0.5 * np.sum(np.abs(np.asarray(u)[..., :2, :2]) ** 2, axis=(-1, -2))


def at_clock(sq: SfqQubit, m: int) -> SfqQubit:
    """The same qubit (f_01, levels, anharmonicity, tip angle) driven by a clock f_clk = m f_01."""
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 2 <= m <= 64:
        raise CryoctlError(f"expected a clock of 2..64 ticks per qubit period, got {m!r}", field="clocks")
    clock = int(m) * sq.qubit_ghz
    kp = KickPrecess(sq.kp.model, 1.0 / clock, sq.tip_angle)
    return dataclasses.replace(sq, kp=kp, clock_ghz=clock)


def resonant_curve(sq: SfqQubit) -> dict[str, Any]:
    """Resonant trains k = 1 .. round(pi / dtheta): ticks, 1 - F against R_y(k dtheta), leakage (module docstring)."""
    k_pi = max(1, int(round(np.pi / sq.tip_angle)))
    # (k_pi, d, d): train k in a slot of k_pi m ticks, idle after it; computed past the driver's memory too
    # (``fits_memory`` says which trains it can replay)
    u = resonant_gates(dataclasses.replace(sq, memory_bits=1 << 40), k_pi)[1:]
    k = np.arange(1, k_pi + 1)
    target = rotation("y", k * sq.tip_angle)
    m = np.swapaxes(np.conj(target), -1, -2) @ u[..., :2, :2]
    tr = m[..., 0, 0] + m[..., 1, 1]
    fid = (np.sum(np.abs(m) ** 2, axis=(-1, -2)) + np.abs(tr) ** 2) / 6.0
    return {"pulses": k.tolist(), "ticks": (k * sq.ticks_per_period).tolist(), "angle_rad": (k * sq.tip_angle).tolist(),
            "infidelity": (1.0 - fid).tolist(), "leakage": _qubit_leakage(u).tolist(),
            "fits_memory": ((k - 1) * sq.ticks_per_period + 1 <= sq.memory_bits).tolist()}


def sfq_sweep(profile: HardwareProfile, qubit: int = 0, clocks_per_qubit: Sequence[int] = DEFAULT_CLOCKS,
              extra_periods: Sequence[int] = DEFAULT_EXTRA_PERIODS, jitter_ps: Sequence[float] = DEFAULT_JITTER_PS,
              jitter_draws: int = 64, seed: int = 0, rounds: int = 300, tol: float = 1e-6,
              progress: Callable[[int, int, str], None] | None = None) -> dict[str, Any]:
    """The sweep of the module docstring -> JSON-ready dict: profile numbers and one entry per clock with
    ``resonant`` (train curve), ``resonant_y90``, ``y90`` (one row per length: ticks, infidelity, leakage,
    evaluations, packed bitstream hex), ``best`` (the best row, with its bits as 0/1) and ``jitter`` (rows of
    sigma_t and 1 - F, leakage). ``progress(done, total, label)`` after each optimization."""
    if profile.sfq is None:
        raise CryoctlError("the profile has no sfq section (SFQ control)", field="sfq")
    if isinstance(qubit, bool) or not isinstance(qubit, (int, np.integer)) or not 0 <= qubit < profile.qubits.count:
        raise CryoctlError(f"qubit {qubit!r} out of range [0, {profile.qubits.count - 1}]", field="qubit")
    clocks = [int(m) for m in clocks_per_qubit]
    extras = [int(e) for e in extra_periods]
    if not clocks or len(set(clocks)) != len(clocks):
        raise CryoctlError(f"expected distinct clock multiples, got {list(clocks_per_qubit)}", field="clocks")
    if not extras or min(extras) < 0 or len(set(extras)) != len(extras):
        raise CryoctlError(f"expected distinct non-negative extra periods, got {list(extra_periods)}",
                           field="extra_periods")
    sigmas = [float(s) for s in jitter_ps]
    if any(not np.isfinite(s) or s < 0 for s in sigmas):
        raise CryoctlError(f"expected non-negative jitter values in ps, got {list(jitter_ps)}", field="jitter_ps")
    if isinstance(jitter_draws, bool) or not isinstance(jitter_draws, (int, np.integer)) or jitter_draws < 1:
        raise CryoctlError(f"expected at least 1 jitter draw, got {jitter_draws!r}", field="jitter_draws")
    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or rounds < 0:
        raise CryoctlError(f"expected non-negative optimizer rounds, got {rounds!r}", field="rounds")
    base = SfqQubit.from_profile(profile, qubit)
    qubits = [at_clock(base, m) for m in clocks]
    for sq in qubits:  # every requested bitstream must fit the memory before any search starts
        if (n := y90_length(sq, max(extras))) > sq.memory_bits:
            raise CryoctlError(f"a Y(pi/2) slot of {n} ticks at clock {sq.ticks_per_period} x f_01 does not fit the "
                               f"{sq.memory_bits}-bit memory: use fewer extra periods or a slower clock",
                               field="sfq.memory_bits")
    target = rotation("y", np.pi / 2)
    total, done = len(clocks) * len(extras), 0
    out_clocks = []
    for m, sq in zip(clocks, qubits):
        res_bits = resonant_y90(sq)
        u_res = sq.kp.gate(res_bits)
        rows, best = [], None
        for e in extras:
            r = optimize_y90(sq, np.random.default_rng([seed, m, e, 0]), extra_periods=e, max_rounds=int(rounds),
                             tol=tol)
            row = {"extra_periods": e, "ticks": int(r.bits.size), "duration_ns": r.bits.size / sq.clock_ghz,
                   "pulses": int(r.bits.sum()), "infidelity": r.infidelity, "leakage": r.leakage,
                   "evaluations": r.evaluations, "bits_hex": pack(r.bits).tobytes().hex()}
            rows.append(row)
            if best is None or r.infidelity < best[1].infidelity:
                best = (row, r)
            done += 1
            if progress is not None:
                progress(done, total, f"clock {m} x f_01, {row['ticks']} ticks")
        rng = np.random.default_rng([seed, m, 1])
        jit = []
        for s in sigmas:
            if s == 0:
                u = sq.kp.gate(best[1].bits)
                jit.append({"jitter_ps": s, "infidelity": float(1 - qubit_fidelity(u, target)),
                            "leakage": float(_qubit_leakage(u))})
                continue
            ch = jitter_channel(dataclasses.replace(sq, jitter_rms_ps=s), best[1].bits[None], rng, int(jitter_draws))[0]
            jit.append({"jitter_ps": s, "infidelity": float(1 - average_gate_fidelity(ch, "channel", "y", np.pi / 2)),
                        "leakage": float(leakage(ch, "channel"))})
        out_clocks.append({
            "clock_per_qubit": m, "clock_ghz": sq.clock_ghz,
            "resonant": resonant_curve(sq),
            "resonant_y90": {"pulses": int(res_bits.sum()), "ticks": int(res_bits.size),
                             "infidelity": float(1 - qubit_fidelity(u_res, target)), "leakage": float(_qubit_leakage(u_res))},
            "y90": rows,
            "best": {**best[0], "bits": best[1].bits.astype(int).tolist()},
            "jitter": jit,
        })
    return {
        "profile": profile.name, "qubit": int(qubit), "qubit_ghz": base.qubit_ghz, "levels": base.kp.levels,
        "anharmonicity_ghz": float((base.kp.energies[2] - 2 * base.kp.energies[1]) / (2 * np.pi))
        if base.kp.levels > 2 else 0.0,
        "tip_angle_rad": base.tip_angle, "profile_jitter_ps": base.jitter_rms_ps, "memory_bits": base.memory_bits,
        "seed": int(seed), "rounds": int(rounds), "jitter_draws": int(jitter_draws), "clocks": out_clocks,
    }
