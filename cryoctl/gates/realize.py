"""Realized operations: amplitude codes -> pulse through the emulated DAC -> propagator or channel.

For a batch of amplitude codes on one qubit and axis, the drive chain (:class:`cryoctl.pulse.Drive`)
produces the Rabi rates on the simulation grid and a physics engine turns them into

- unitaries U (..., d, d) when the gate is deterministic: no DAC noise/jitter and no T1/T2;
- otherwise the noise-averaged channel (Monte Carlo over n DAC noise draws, each a full pulse)

      S = (1/n) sum_r S_r,      S_r = kron(U_r, U_r^*)   (closed system)
                                 S_r = engine.channel(...) (T1/T2, exact ZOH Lindblad)

  as row-major superoperators (..., d^2, d^2): vec(rho) = rho.reshape(-1).

Noise *and* T1/T2. Running every noise draw through the Lindblad propagator costs n draws x K
superoperator exponentials per code. By default (``exact=False``) the channel is factorized as

    S ~= E_noise S_dec,    E_noise = (1/n) sum_r kron(V_r, V_r^*),   V_r = U_r U_0^dag,

where S_dec is the Lindblad channel of the static (noise-free) pulse, U_0 its closed-system
propagator and U_r the closed-system propagator of noise draw r. It is exact when either the noise
or the decoherence vanishes; the neglected cross term is of order (noise infidelity) x (T/T1, T/T2),
e.g. ~1e-6 x 1e-3 for the shipped cryo-CMOS profiles (checked against ``exact=True`` in the tests).

Batches are processed in chunks of codes whose size depends only on the problem shape (never on
the machine), so the random draws, and hence the results, are bit-identical for the same inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.profile.models import HardwareProfile
from cryoctl.pulse import Drive

ENGINES = ("fast", "qutip", "dynamics")
# sample-matrices (d x d) per propagate call; bounds working memory at ~ 2^18 * d^2 * 16 B per array
_SAMPLES_PER_CALL = 1 << 18


def get_engine(name: str) -> Any:
    """The physics engine ``name`` (fast | qutip | dynamics), see :mod:`cryoctl.physics.engines`."""
    from cryoctl.physics import get_engine as physics_get_engine

    if not isinstance(name, str) or name not in ENGINES:
        raise CryoctlError(f"unknown engine {name!r}; expected one of {list(ENGINES)}", field="engine")
    return physics_get_engine(name)


def has_decoherence(profile: HardwareProfile) -> bool:
    return profile.qubits.t1_us is not None or profile.qubits.t2_us is not None


def table_kind(profile: HardwareProfile) -> str:
    """"unitary" for a deterministic closed-system gate, else "channel"."""
    spec = profile.dac
    dynamic = spec.noise_v_per_sqrt_hz > 0.0 or spec.jitter_rms_ps > 0.0
    return "channel" if dynamic or has_decoherence(profile) else "unitary"


def unitary_superop(u: np.ndarray) -> np.ndarray:
    """Row-major superoperator of a unitary: S[(i d + j), (k d + l)] = U[i, k] U[j, l]^*."""
    d = u.shape[-1]
    s = np.einsum("...ik,...jl->...ijkl", u, np.conj(u))
    return s.reshape(*u.shape[:-2], d * d, d * d)


def _chunk(n_draws: int, n_sim_samples: int) -> int:
    return max(1, _SAMPLES_PER_CALL // (n_draws * n_sim_samples))


def realize(
    drive: Drive,
    codes: np.ndarray,
    axis: str,
    beta: float = 0.0,
    *,
    engine: Any = None,
    kind: str = "unitary",
    rng: np.random.Generator | None = None,
    n_draws: int = 1,
    exact: bool = False,
) -> np.ndarray:
    """Realized operation for amplitude codes (n,) on ``drive``'s qubit about ``axis``.

    ``kind="unitary"``: the static (noise-free) pulse, closed system -> (n, d, d).
    ``kind="channel"``: average over ``n_draws`` noise draws from ``rng`` (when the DAC is dynamic)
    and T1/T2 from the profile -> (n, d^2, d^2). With both noise and T1/T2, ``exact=False``
    factorizes (see module docstring); ``exact=True`` runs every noise draw through the Lindblad engine.
    """
    engine = engine or get_engine("fast")
    prof = drive.profile
    qb = prof.qubits
    codes = np.asarray(codes).reshape(-1)
    d = qb.levels
    args = (qb.levels, qb.anharmonicity_ghz, qb.detuning_ghz)
    k_sim = drive.n_samples * prof.dac.oversampling
    if kind == "unitary":
        out = np.empty((codes.size, d, d), dtype=complex)
        step = _chunk(1, k_sim)
        for start in range(0, codes.size, step):  # memory-sized chunks, each one batched call
            sl = slice(start, start + step)
            w_i, w_q = drive.omegas(codes[sl], axis, beta)
            out[sl] = engine.propagate(w_i, w_q, drive.dt_sim_ns, *args)
        return out
    if kind != "channel":
        raise CryoctlError(f"unknown kind {kind!r}; expected 'unitary' or 'channel'", field="kind")
    dynamic = drive.dynamic()
    if dynamic and rng is None:
        raise CryoctlError("a noisy DAC needs a numpy.random.Generator for its noise draws", field="rng")
    draws = n_draws if dynamic else 1
    if draws < 1:
        raise CryoctlError(f"expected n_noise_draws >= 1, got {n_draws}", field="n_noise_draws")
    decoherent = has_decoherence(prof)
    factorized = decoherent and dynamic and not exact
    out = np.empty((codes.size, d * d, d * d), dtype=complex)
    step = _chunk(draws, k_sim)
    for start in range(0, codes.size, step):  # memory-sized chunks, each one batched call
        sl = slice(start, start + step)
        batch = np.broadcast_to(codes[sl], (draws, codes[sl].size))
        w_i, w_q = drive.omegas(batch, axis, beta, rng if dynamic else None)
        if factorized:
            w0_i, w0_q = drive.omegas(codes[sl], axis, beta)
            s_dec = engine.channel(w0_i, w0_q, drive.dt_sim_ns, *args, qb.t1_us, qb.t2_us)
            u0 = engine.propagate(w0_i, w0_q, drive.dt_sim_ns, *args)
            u = engine.propagate(w_i, w_q, drive.dt_sim_ns, *args)
            err = unitary_superop(u @ np.conj(np.swapaxes(u0, -1, -2))).mean(axis=0)
            out[sl] = err @ s_dec
            continue
        if decoherent:
            s = engine.channel(w_i, w_q, drive.dt_sim_ns, *args, qb.t1_us, qb.t2_us)
        else:
            s = unitary_superop(engine.propagate(w_i, w_q, drive.dt_sim_ns, *args))
        out[sl] = s.mean(axis=0)
    return out
