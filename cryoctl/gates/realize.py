"""Realized operations: amplitude codes -> DAC -> pulse -> propagator or noise-averaged channel.

For a batch of amplitude codes on one channel (a qubit's drive about x or y), the drive chain
(:class:`cryoctl.pulse.Drive`) gives the DAC output per sample and the engine signals, and a physics
engine (``propagate(model, signals, dt)`` / ``channel(model, signals, dt)``) turns them into

- unitaries U (..., d, d) when the gate is deterministic: no DAC noise/jitter and no T1/T2;
- otherwise channels averaged over the DAC noise, S = E_noise[S(noise)], as row-major
  superoperators (..., d^2, d^2): vec(rho) = rho.reshape(-1), a unitary acts as kron(U, U^*).

Which realization a table needs is decided once per profile by the solve plan
(:func:`cryoctl.gates.plan.solve_plan`); :func:`realize` runs that one. Each realization is one
function: :func:`realize_pulses` (whole static pulses), :func:`realize_levels` (level look-up),
:func:`realize_quadrature` (per-sample exact average), :func:`realize_montecarlo` (noise draws).

Noise model (:mod:`cryoctl.dac.dynamic`, the only copy). White noise and clock jitter perturb DAC sample
k of the I/Q pair by eps_k = (eps_I,k, eps_Q,k), Gaussian with mean 0 and covariance

    C_k = sigma_n^2 1 + j^2 s_k s_k^T,   s_k = (V_k - V_{k-1}) / T_s  per channel (a 2-vector),

the jitter draw being common to both DACs (one clock). Without a reconstruction filter the
zero-order hold keeps eps_k on sample k only, so sample k's step S_k = S(V_k + eps_k) (its
``oversampling`` identical sub-samples multiply to one step of length T_s) depends on eps_k alone,
and independent factors average separately: the time-ordered product factorises EXACTLY,

    E[S_K ... S_1] = E[S_K] ... E[S_1].

Per-sample quadrature (``quadrature``). With L_k L_k^T = C_k (Cholesky; rank 1 with jitter only:
L_k = j s_k), eps_k = L_k z, z ~ N(0, 1_m), m = rank, and a tensor Gauss-Hermite rule (probabilists'
nodes x_a, weights w_a, n_nodes per dimension):

    E[S_k] = sum_a w_a kron(U_a, U_a^*),   U_a = exp(-i H(G (V_k + L_k x_a)) T_s),

exact for S polynomial of degree <= 2 n_nodes - 1 in eps. S is entire in eps and the per-sample
rotation error G s T_s is ~1e-5 rad for the shipped profiles, so the remainder ~ (G s T_s)^(2 n_nodes)
is far below rounding at n_nodes = 3 (the default; 3 vs 9 is checked in the tests). It takes no random
generator: the table is the limit n_draws -> infinity of the Monte Carlo one. Distinct
(V_k, L_k) of a chunk of codes are solved once.

Level look-up (``levels``, DESIGN.md 'Level look-up'). In ``sampled`` mode every sample is a code pair
(c_I, c_Q), so V_k is one of the converter's levels. The noise-free step, or the noise-averaged
step of a covariance C, is then computed ONCE per distinct level pair of the table and composed per
code with a gather and the pairwise tree product. The average depends on the sample's C_k, whose
jitter part depends on the slope (the previous level), so it is expanded to second order around the
level:

    E[S(V + eps)] = S(V) + 1/2 sum_ab C_ab d_a d_b S(V) + R

(odd orders vanish: eps is centred). Along a direction of variance s^2 the remainder is
E[eps^4] / 24 d^4 S = (s^4 / 8) d^4 S, and each derivative of exp(L(V) T_s) brings at most
||dL/dV|| T_s <= G ||X_d|| T_s <= 2 (d - 1)^(1/2) G T_s, so ||d^4 S|| <= 16 (d - 1)^2 (G T_s)^4. The second
derivatives come from a central stencil at h_c = sqrt(3) s_c,max per noisy channel c (s_c,max the
largest std of that channel over the request), whose error 1/2 s^2 (h^2 / 12) d^4 S = (s^4 / 8) d^4 S is
of the same size, so per sample

    |error| <= (s^4 / 4) ||d^4 S|| <= 4 (d - 1)^2 (G s T_s)^4,     s^2 = tr C_k.

The stencils:

    d_II S = (S(V + h_I e_I) + S(V - h_I e_I) - 2 S(V)) / h_I^2,      (likewise d_QQ S)
    d_IQ S = (S(V + h_I e_I + h_Q e_Q) + S(V - ...) - S(V + h_I e_I - h_Q e_Q) - S(V - h_I e_I + h_Q e_Q)) / (4 h_I h_Q),

(with h^2 = 3 s^2 and a single noisy channel the rule IS the 3-node Gauss-Hermite rule). So each
sample's averaged step is

    E[S_k] = A(V_k) + 1/2 j^2 (s_I,k^2 D_II + 2 s_I,k s_Q,k D_IQ + s_Q,k^2 D_QQ)(V_k),
    A = S + 1/2 sigma_n^2 (D_II + D_QQ),

one gather of A and one fused multiply-add per jitter term. With G s T_s ~ 1e-5 rad the bound is
~1e-20 per sample; the plan takes ``levels`` only where K times it is <= 1e-12
(:data:`cryoctl.gates.plan.EXPANSION_BOUND`) and the quadrature otherwise. The result equals the
per-sample quadrature to ~1e-14 on the shipped profiles (tests and the benchmark).

Real representation. A Hermiticity-preserving superoperator is REAL in an orthonormal Hermitian
operator basis B (:func:`cryoctl.physics.lindblad.hermitian_basis`): R = B' S B. The channel steps
and their stencil derivatives are converted once per level, composed as real d^2 x d^2 matrices (a
third of the cost of complex ones), and each code's product is converted back once, S = B R B'.

T1/T2 with noise. The Lindblad step P_k = exp(L_k(eps_k) T_s) depends on eps_k only, so the open
system factorises per sample too. ``exact`` (plan) averages the Lindblad steps themselves; by default
each sample's average is factorised,

    E[P_k] ~= E[kron(U_k, U_k^*)] kron(U0_k, U0_k^*)^dag P0_k,

U0_k, P0_k the noise-free unitary and Lindblad steps: exact when either the noise or T1/T2 vanish,
the first-order cross term vanishes (E[eps_k] = 0), so the error per sample is O(s_k^2 T_s^3 Omega Gamma).
Level look-up applies the stencil to F(V + delta) = kron(U, U^*)(V + delta) M(V), M = kron(U0, U0^*)' P0.

Monte Carlo (``montecarlo``; needed with a reconstruction filter, which correlates the perturbations
of neighbouring sub-samples, so the factorisation does not hold): S = (1/n) sum_r S_r over n draws of
full noisy pulses from ``rng`` (S_r = kron(U_r, U_r^*), or the Lindblad channel of draw r with
``exact``). With T1/T2 and not ``exact`` it is factorised over the whole pulse,
S ~= E_noise S_dec, E_noise = (1/n) sum_r kron(V_r, V_r^*), V_r = U_r U_0^dag, S_dec the Lindblad
channel of the static pulse.

Work is done in chunks of codes whose size depends only on the problem shape (never on the machine),
so results are bit-identical for the same inputs (and seed, for Monte Carlo).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from cryoctl.conventions import ENGINE_NAMES, check_axis, kron_conj
from cryoctl.dac.dynamic import noise_sigma_v, pair_covariance, slopes
from cryoctl.errors import CryoctlError
from cryoctl.gates.plan import (
    CHUNK_BYTES,
    COMPOSE_BYTES,
    DEFAULT_NODES,
    SolvePlan,
    has_decoherence,
    solve_plan,
    table_kind,
)
from cryoctl.physics import SystemModel
from cryoctl.physics import get_engine
from cryoctl.physics.fast import time_ordered_product
from cryoctl.physics.lindblad import hermitian_basis
from cryoctl.pulse import Drive

__all__ = [
    "DEFAULT_NODES", "gauss_hermite", "has_decoherence", "realize", "realize_levels",
    "realize_montecarlo", "realize_pulses", "realize_quadrature", "table_kind",
]

# pair-key space up to which distinct level pairs are found with a dense mask (else by sorting)
_MASK_PAIRS = 1 << 24
# threads composing chunks of codes (each chunk is computed the same way whatever the count: results
# do not depend on it)
_WORKERS = max(1, min(4, os.cpu_count() or 1))


def gauss_hermite(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x and weights w (sum 1) with sum_j w_j f(x_j) = E[f(z)], z ~ N(0, 1), exact to degree 2n-1."""
    x, w = hermegauss(n_nodes)
    return x, w / w.sum()


def realize(
    drive: Drive,
    codes: np.ndarray,
    axis: str,
    beta: float = 0.0,
    *,
    plan: SolvePlan | None = None,
    engine: Any = None,
    rng: np.random.Generator | None = None,
    n_draws: int | None = None,
) -> np.ndarray:
    """Realized operation for amplitude codes (n,) on ``drive``'s qubit about ``axis``.

    ``plan`` (:func:`cryoctl.gates.plan.solve_plan` of ``drive.profile``) chooses the realization;
    without one, the static pulse on the closed system (``kind="unitary"``: what a calibration scan
    measures). Returns (n, d, d) unitaries or (n, d^2, d^2) channels (``plan.kind``). ``engine``: an
    engine instance or name (default: the plan's). ``rng`` and ``n_draws`` (default ``plan.n_draws``)
    are for Monte Carlo only: the other methods draw nothing, and passing them is an error.
    """
    prof = drive.profile
    if plan is None:
        name = engine if isinstance(engine, str) else getattr(engine, "name", "fast")
        plan = solve_plan(prof, name if name in ENGINE_NAMES else "fast", kind="unitary")
    elif not isinstance(plan, SolvePlan):
        raise CryoctlError(f"expected a SolvePlan (gates.plan.solve_plan), got {type(plan).__name__}", field="plan")
    if (plan.profile_name, plan.bits, plan.n_qubits, plan.levels) != (
        prof.name, prof.dac.bits, prof.qubits.count, prof.qubits.levels
    ):
        raise CryoctlError(f"the plan was made for {plan.profile_name!r} at {plan.bits} bit, not for this "
                           f"drive's profile {prof.name!r} at {prof.dac.bits} bit", field="plan")
    eng = get_engine(plan.engine if engine is None else engine)
    if getattr(eng, "name", plan.engine) != plan.engine:
        raise CryoctlError(f"engine {eng.name!r} differs from the plan's {plan.engine!r}", field="engine")
    check_axis(axis)
    codes = drive.dac_i.check_codes(codes).reshape(-1)
    if plan.method == "montecarlo":
        if rng is None:
            raise CryoctlError("Monte Carlo noise averaging needs a numpy.random.Generator", field="rng")
        draws = plan.n_draws if n_draws is None else n_draws
        if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
            raise CryoctlError(f"expected n_draws >= 1, got {draws!r}", field="n_draws")
        return realize_montecarlo(drive, codes, axis, beta, plan, eng, rng, int(draws))
    for name, value in (("rng", rng), ("n_draws", n_draws)):
        if value is not None:
            raise CryoctlError(f"method {plan.method!r} draws no noise (it is exact), so it takes no {name}; "
                               "pass it only with method 'montecarlo'", field=name)
    run = {"levels": realize_levels, "quadrature": realize_quadrature,
           "lindblad": realize_pulses, "unitary": realize_pulses}[plan.method]
    return run(drive, codes, axis, beta, plan, eng)


def _model(drive: Drive, plan: SolvePlan) -> SystemModel:
    model = SystemModel.from_profile(drive.profile, drive.qubit)
    return model if plan.kind == "channel" else model.closed()


def realize_pulses(drive: Drive, codes: np.ndarray, axis: str, beta: float, plan: SolvePlan, engine) -> np.ndarray:
    """Static whole pulses, one engine solve per code on the simulation grid (methods unitary, lindblad):
    U = exp(-i H_Ks dt) ... exp(-i H_1 dt), or the Lindblad channel exp(L_Ks dt) ... exp(L_1 dt)."""
    model = _model(drive, plan)
    side = plan.side
    out = np.empty((codes.size, side, side), dtype=complex)
    step = max(1, CHUNK_BYTES // (plan.sim_samples * side * side * 16))
    solve = engine.propagate if plan.kind == "unitary" else engine.channel
    for start in range(0, codes.size, step):  # memory-sized chunks, each one batched call
        sl = slice(start, start + step)
        out[sl] = solve(model, drive.signals(*drive.static_volts(codes[sl], axis, beta)), drive.dt_sim_ns)
    return out


def realize_montecarlo(
    drive: Drive, codes: np.ndarray, axis: str, beta: float, plan: SolvePlan, engine,
    rng: np.random.Generator, n_draws: int,
) -> np.ndarray:
    """Mean over ``n_draws`` noisy whole pulses per code (module docstring, Monte Carlo)."""
    model = _model(drive, plan)
    closed = model.closed()
    d2 = plan.levels**2
    dt = drive.dt_sim_ns
    factorized = model.is_open and not plan.exact
    out = np.empty((codes.size, d2, d2), dtype=complex)
    step = max(1, CHUNK_BYTES // (n_draws * plan.sim_samples * d2 * d2 * 16))
    for start in range(0, codes.size, step):  # memory-sized chunks, each one batched call
        sl = slice(start, start + step)
        batch = np.broadcast_to(codes[sl], (n_draws, codes[sl].size))
        sig = drive.signals(*drive.volts(batch, axis, beta, rng))
        if factorized:
            sig0 = drive.signals(*drive.static_volts(codes[sl], axis, beta))
            s_dec = engine.channel(model, sig0, dt)
            u0 = engine.propagate(closed, sig0, dt)
            u = engine.propagate(closed, sig, dt)
            out[sl] = kron_conj(u @ np.conj(np.swapaxes(u0, -1, -2))).mean(axis=0) @ s_dec
        elif model.is_open:
            out[sl] = engine.channel(model, sig, dt).mean(axis=0)
        else:
            out[sl] = kron_conj(engine.propagate(closed, sig, dt)).mean(axis=0)
    return out


def _kron_average(u: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """sum_m w_m kron(U_m, U_m^*) for u (..., m, d, d) -> (..., d^2, d^2), as one batched matmul over m."""
    *batch, m, d, _ = u.shape
    a = np.moveaxis(u * weights[:, None, None], -3, -1).reshape(*batch, d * d, m)  # [(i, k), m]
    s = a @ np.conj(u).reshape(*batch, m, d * d)  # [(i, k), (j, l)]
    s = s.reshape(*batch, d, d, d, d).swapaxes(-3, -2)  # -> [i, j, k, l]
    return s.reshape(*batch, d * d, d * d)


def _noise_factor(spec, v_i: np.ndarray, v_q: np.ndarray, rank: int) -> tuple[np.ndarray, ...]:
    """(L00, L10, L11) with eps = L z per sample: Cholesky of C_k (rank 2), j s_k (rank 1), zeros (0)."""
    if rank == 2:
        c_ii, c_iq, c_qq = pair_covariance(spec, v_i, v_q)
        l00 = np.sqrt(c_ii)
        l10 = c_iq / l00
        return l00, l10, np.sqrt(np.maximum(c_qq - l10**2, 0.0))
    if rank == 1:
        j = spec.jitter_rms_ps * 1e-3
        s_i, s_q = np.broadcast_arrays(slopes(spec, v_i), slopes(spec, v_q))
        return j * s_i, j * s_q, np.zeros(s_i.shape)
    z = np.zeros(np.broadcast_shapes(v_i.shape, v_q.shape))
    return z, z, z


def realize_quadrature(drive: Drive, codes: np.ndarray, axis: str, beta: float, plan: SolvePlan, engine) -> np.ndarray:
    """E[S_K] ... E[S_1] by Gauss-Hermite quadrature per (code, DAC sample) (module docstring).

    Samples with the same (V_I, V_Q, L_k) have the same average step: each distinct one is computed
    once per chunk of codes. This is the per-(code, sample) reference of :func:`realize_levels`.
    """
    spec = drive.profile.dac
    model = _model(drive, plan)
    closed = model.closed()
    d, d2 = plan.levels, plan.levels**2
    dt = spec.dt_ns  # one ZOH step per DAC sample: its sub-samples are identical without a filter
    k = drive.n_samples
    rank = plan.noise_rank
    x, w = gauss_hermite(plan.n_nodes) if rank else (np.zeros(1), np.ones(1))
    if rank == 2:
        z1, z2 = (g.reshape(-1) for g in np.meshgrid(x, x, indexing="ij"))
        weights = np.outer(w, w).reshape(-1)
    else:
        z1, z2, weights = x, np.zeros_like(x), w
    m = weights.size
    exact = model.is_open and plan.exact
    out = np.empty((codes.size, d2, d2), dtype=complex)
    per_code = k * 16 * max(m * d * d, d2 * d2 * (m if exact else 1))
    step = max(1, CHUNK_BYTES // per_code)
    for start in range(0, codes.size, step):  # memory-sized chunks, each one batched call
        sl = slice(start, start + step)
        n = codes[sl].size
        v_i, v_q = (np.broadcast_to(v, (n, k)) for v in drive.static_volts(codes[sl], axis, beta))
        l00, l10, l11 = _noise_factor(spec, v_i, v_q, rank)
        key = np.stack(np.broadcast_arrays(v_i, v_q, l00, l10, l11), axis=-1).reshape(-1, 5)
        uniq, inverse = np.unique(key, axis=0, return_inverse=True)
        vi, vq, a, b, c = (col[:, None] for col in uniq.T)
        # node volts (u, m, 1): the trailing axis is a one-sample pulse, so engines return steps
        sig = drive.signals((vi + a * z1)[..., None], (vq + b * z1 + c * z2)[..., None], hold=False)
        if exact:
            avg = np.einsum("m,umab->uab", weights, engine.channel(model, sig, dt))
        else:
            avg = _kron_average(engine.propagate(closed, sig, dt), weights)
            if model.is_open:  # factorised per sample: E[kron(U, U*)] kron(U0, U0*)^dag P0
                sig0 = drive.signals(vi, vq, hold=False)
                u0 = kron_conj(engine.propagate(closed, sig0, dt))
                avg = avg @ (np.conj(np.swapaxes(u0, -1, -2)) @ engine.channel(model, sig0, dt))
        out[sl] = time_ordered_product(avg[inverse.reshape(n, k)])
    return out


def _level_pairs(drive: Drive, codes: np.ndarray, axis: str, beta: float, big: int, jitter: bool):
    """Distinct (I code, Q code) pairs over all samples of ``codes``, and the slope extent.

    Returns (code_i (L,), code_q (L,), lookup, slope2_i, slope2_q, cross): ``lookup(ci, cq)`` maps
    per-sample code arrays to level indices; slope2_* the largest squared slope (V/ns)^2 per channel and
    ``cross`` whether any sample has both slopes non-zero (computed only when ``jitter``). Dense masks
    over the codes that occur (2^N entries each), then over the occurring pairs (a second pass, skipped
    when one channel has a single code) if that space is <= 2^24, else sorting.
    """
    spec = drive.profile.dac
    lo = drive.code_min
    lv_i, lv_q = drive.dac_i.levels, drive.dac_q.levels
    n_all = drive.code_max - lo + 1
    seen_i = np.zeros(n_all, dtype=bool)
    seen_q = np.zeros(n_all, dtype=bool)
    slope2_i = slope2_q = 0.0
    cross = False
    for start in range(0, codes.size, big):
        ci, cq = drive.channel_codes(codes[start:start + big], axis, beta)
        seen_i[ci - lo] = True
        seen_q[cq - lo] = True
        if jitter:
            s_i, s_q = slopes(spec, lv_i[ci - lo]), slopes(spec, lv_q[cq - lo])
            slope2_i, slope2_q = max(slope2_i, float(np.max(s_i**2))), max(slope2_q, float(np.max(s_q**2)))
            cross = cross or bool(np.any((s_i != 0.0) & (s_q != 0.0)))
    id_i, id_q = np.cumsum(seen_i) - 1, np.cumsum(seen_q) - 1
    vals_i, vals_q = np.flatnonzero(seen_i) + lo, np.flatnonzero(seen_q) + lo
    n_q = vals_q.size

    def keys(ci, cq):
        return id_i[ci - lo] * n_q + id_q[cq - lo]

    if vals_i.size == 1 or n_q == 1:  # one channel constant: every combination occurs
        uniq = np.arange(vals_i.size * n_q)

        def lookup(ci, cq):
            return keys(ci, cq)
    elif vals_i.size * n_q <= _MASK_PAIRS:
        seen = np.zeros(vals_i.size * n_q, dtype=bool)
        for start in range(0, codes.size, big):
            seen[keys(*drive.channel_codes(codes[start:start + big], axis, beta))] = True
        pair_id = np.cumsum(seen) - 1
        uniq = np.flatnonzero(seen)

        def lookup(ci, cq):
            return pair_id[keys(ci, cq)]
    else:
        parts = [np.unique(keys(*drive.channel_codes(codes[s:s + big], axis, beta)))
                 for s in range(0, codes.size, big)]
        uniq = np.unique(np.concatenate(parts))

        def lookup(ci, cq):
            return np.searchsorted(uniq, keys(ci, cq))
    return vals_i[uniq // n_q], vals_q[uniq % n_q], lookup, slope2_i, slope2_q, cross


def realize_levels(drive: Drive, codes: np.ndarray, axis: str, beta: float, plan: SolvePlan, engine) -> np.ndarray:
    """Level look-up (module docstring): one (noise-averaged) single-sample step per distinct level pair
    of the whole request, a second-order stencil for the per-sample jitter covariance, composed per code
    by a gather and the pairwise tree product (real Hermitian-basis matrices for channels)."""
    prof = drive.profile
    spec = prof.dac
    if prof.pulse.amplitude_mode != "sampled" or spec.reconstruction_filter is not None:
        raise CryoctlError("level look-up needs sampled amplitudes and no reconstruction filter", field="method")
    model = _model(drive, plan)
    closed = model.closed()
    channel = plan.kind == "channel"
    d = plan.levels
    side = d * d if channel else d
    dt = spec.dt_ns
    k = drive.n_samples
    lo = drive.code_min
    lv_i, lv_q = drive.dac_i.levels, drive.dac_q.levels
    big = max(1, CHUNK_BYTES // (k * 8 * 8))  # codes per index chunk (a few (n, K) int/float arrays)

    # 1. distinct level pairs, and the extent of the per-sample noise over the request
    sigma2 = noise_sigma_v(spec) ** 2 if channel else 0.0
    j2 = (spec.jitter_rms_ps * 1e-3) ** 2 if channel else 0.0
    code_i, code_q, lookup, slope2_i, slope2_q, cross = _level_pairs(drive, codes, axis, beta, big, j2 > 0.0)
    h_i = np.sqrt(3.0 * (sigma2 + j2 * slope2_i))
    h_q = np.sqrt(3.0 * (sigma2 + j2 * slope2_q))
    offsets = [(0.0, 0.0)]
    if h_i > 0:
        offsets += [(h_i, 0.0), (-h_i, 0.0)]
    if h_q > 0:
        offsets += [(0.0, h_q), (0.0, -h_q)]
    if cross:
        offsets += [(h_i, h_q), (-h_i, -h_q), (h_i, -h_q), (-h_i, h_q)]
    off = np.array(offsets)  # (p, 2) volts
    p = off.shape[0]

    # 2. steps per level: F(V + delta_p), then A and the second-derivative terms, real for channels
    basis = hermitian_basis(d) if channel else None
    n_lev = code_i.size
    a_tab = np.empty((n_lev, side, side), dtype=float if channel else complex)
    d_tab = {t: np.empty((n_lev, side, side)) for t, on in (("ii", h_i > 0), ("qq", h_q > 0), ("iq", cross)) if on}
    factorized = channel and model.is_open and not plan.exact and p > 1
    lchunk = max(1, CHUNK_BYTES // (p * side * side * 16 * 3))
    for start in range(0, n_lev, lchunk):
        sl = slice(start, start + lchunk)
        v_i = lv_i[code_i[sl] - lo][:, None] + off[:, 0]  # (l, p)
        v_q = lv_q[code_q[sl] - lo][:, None] + off[:, 1]
        sig = drive.signals(v_i[..., None], v_q[..., None], hold=False)  # one-sample pulses
        if not channel:
            a_tab[sl] = engine.propagate(closed, sig, dt)[:, 0]
            continue
        if factorized or not model.is_open:
            f = kron_conj(engine.propagate(closed, sig, dt))  # (l, p, d^2, d^2) row-major
        else:
            f = engine.channel(model, sig, dt)
        base = f[:, 0]
        terms, col = {}, 1
        for t, h, on in (("ii", h_i, h_i > 0), ("qq", h_q, h_q > 0)):
            if on:
                terms[t] = (f[:, col] + f[:, col + 1] - 2.0 * base) / h**2
                col += 2
        if cross:
            terms["iq"] = (f[:, col] + f[:, col + 1] - f[:, col + 2] - f[:, col + 3]) / (4.0 * h_i * h_q)
        a = base + 0.5 * sigma2 * sum(terms[t] for t in ("ii", "qq") if t in terms)
        if factorized:  # F = kron(U, U*) M, M = kron(U0, U0*)' P0: the stencil is linear, apply M once
            m0 = np.conj(np.swapaxes(base, -1, -2)) @ engine.channel(model, {c: v[:, :1] for c, v in sig.items()},
                                                                      dt)[:, 0]
            a, terms = a @ m0, {t: x @ m0 for t, x in terms.items()}
        a_tab[sl] = (np.conj(basis.T) @ a @ basis).real  # Hermitian basis: real up to rounding
        for t, x in terms.items():
            d_tab[t][sl] = (np.conj(basis.T) @ x @ basis).real

    # 3. compose per code: gather A (+ per-sample jitter terms), pairwise tree, back to row-major vec
    jitter_terms = [t for t, on in (("ii", j2 * slope2_i > 0), ("qq", j2 * slope2_q > 0), ("iq", cross)) if on]
    flat_a = a_tab.reshape(n_lev, side * side)
    flat_d = {t: d_tab[t].reshape(n_lev, side * side) for t in jitter_terms}
    out = np.empty((codes.size, side, side), dtype=complex)
    small = max(1, COMPOSE_BYTES // (k * side * side * a_tab.itemsize))

    def compose(lev: np.ndarray, coef: dict, first: int) -> None:
        steps = np.take(flat_a, lev, axis=0)  # (m, K, side^2)
        for t in jitter_terms:
            term = np.take(flat_d[t], lev, axis=0)
            np.multiply(term, coef[t][..., None], out=term)
            np.add(steps, term, out=steps)
        prod = time_ordered_product(steps.reshape(*lev.shape, side, side))
        out[first:first + lev.shape[0]] = basis @ prod @ np.conj(basis.T) if channel else prod

    pending: list = []
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:  # numpy releases the GIL in the heavy parts
        for start in range(0, codes.size, big):
            sl = slice(start, start + big)
            ci, cq = drive.channel_codes(codes[sl], axis, beta)
            lev = lookup(ci, cq)
            coef = {}
            s_i = slopes(spec, lv_i[ci - lo]) if "ii" in jitter_terms or "iq" in jitter_terms else None
            s_q = slopes(spec, lv_q[cq - lo]) if "qq" in jitter_terms or "iq" in jitter_terms else None
            if "ii" in jitter_terms:
                coef["ii"] = 0.5 * j2 * s_i**2
            if "qq" in jitter_terms:
                coef["qq"] = 0.5 * j2 * s_q**2
            if "iq" in jitter_terms:
                coef["iq"] = j2 * s_i * s_q
            jobs = [pool.submit(compose, lev[r:r + small], {t: c[r:r + small] for t, c in coef.items()}, start + r)
                    for r in range(0, lev.shape[0], small)]
            for job in pending:  # the previous chunk: at most two chunks' indices in flight
                job.result()
            pending = jobs
        for job in pending:
            job.result()
    return out
