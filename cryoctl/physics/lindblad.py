"""Decoherence of a driven transmon: collapse operators, row-major Liouvillians, exact ZOH channels.

Master equation (Lindblad), rates in 1/ns:

    d rho/dt = -i [H(t), rho] + sum_c ( c rho c' - 1/2 {c'c, rho} )

Collapse operators (T1, T2 in us on input, converted with 1 us = 1e3 ns):

    c_1   = sqrt(1/T1) a                      energy relaxation, level k decays at rate k/T1
    c_phi = sqrt(2/T_phi) a'a,   1/T_phi = 1/T2 - 1/(2 T1)     pure dephasing

Convention check (this is what makes ``t2_us`` the measured T2 of the 0-1 coherence): for
c = sqrt(g) n the dissipator acts on rho_kl as g (k l - k^2/2 - l^2/2) rho_kl = -(g/2)(k-l)^2 rho_kl,
so with g = 2/T_phi the 0-1 coherence decays at 1/T_phi; c_1 adds (0 + 1)/(2 T1) = 1/(2 T1). Total
1/(2 T1) + 1/T_phi = 1/T2. ``t2_us=None`` means no pure dephasing (T2 = 2 T1); ``t1_us=None`` means
no relaxation (then 1/T_phi = 1/T2). Requires T2 <= 2 T1.

Vectorisation is numpy ROW-MAJOR: vec(rho) = rho.reshape(-1), i.e. vec(rho)[i d + j] = rho[i, j].
Then vec(A rho B) = kron(A, B^T) vec(rho), so

    L = -i (H (x) 1 - 1 (x) H^T) + sum_c [ c (x) c* - 1/2 (c'c) (x) 1 - 1/2 1 (x) (c'c)^T ]

and a unitary U acts as S = kron(U, U*) (since exp(+i H^T t) = exp(-i H t)* for Hermitian H).

Zero-order hold makes L piecewise constant, so the channel is exactly the time-ordered product
S = exp(L_K dt) ... exp(L_1 dt). L is not normal (dissipation), so each exp is taken by scaling and
squaring of a Taylor series (:func:`expm_batched`) rather than an eigendecomposition that could be
ill-conditioned near degenerate (e.g. undriven) Liouvillians.
"""

from __future__ import annotations

import numpy as np

from cryoctl.physics.fast import propagate, time_ordered_product, unique_samples
from cryoctl.physics.hamiltonian import drift, drive_operators, lowering

NS_PER_US = 1e3
_TAYLOR_ORDER = 18  # remainder <= ||A||^19 / 19! ~ 8e-18 at ||A||_1 <= 1
_CHUNK_ELEMENTS = 1 << 22  # complex numbers per working stack (64 MiB) when building channels


def dephasing_rate(t1_us: float | None, t2_us: float | None) -> float:
    """1/T_phi = 1/T2 - 1/(2 T1) in 1/ns (0 when T2 is None); clipped at 0 against rounding."""
    if t2_us is None:
        return 0.0
    inv_t2 = 1.0 / (t2_us * NS_PER_US)
    inv_2t1 = 0.0 if t1_us is None else 0.5 / (t1_us * NS_PER_US)
    return max(inv_t2 - inv_2t1, 0.0)


def collapse_operators(levels: int, t1_us: float | None = None, t2_us: float | None = None) -> list[np.ndarray]:
    """[sqrt(1/T1) a, sqrt(2/T_phi) a'a] (those that are non-zero), in sqrt(1/ns)."""
    a = lowering(levels)
    ops = []
    if t1_us is not None:
        ops.append(np.sqrt(1.0 / (t1_us * NS_PER_US)) * a)
    gamma_phi = dephasing_rate(t1_us, t2_us)
    if gamma_phi > 0.0:
        ops.append(np.sqrt(2.0 * gamma_phi) * np.diag(np.arange(levels, dtype=float)))
    return ops


def hamiltonian_superop(h: np.ndarray) -> np.ndarray:
    """-i (H (x) 1 - 1 (x) H^T), row-major: the generator of rho -> -i [H, rho]; h (..., d, d)."""
    d = h.shape[-1]
    eye = np.eye(d)
    return -1j * (_kron(h, eye) - _kron(eye, np.swapaxes(h, -1, -2)))


def dissipator_superop(c_ops: list[np.ndarray], levels: int) -> np.ndarray:
    """sum_c c (x) c* - 1/2 (c'c) (x) 1 - 1/2 1 (x) (c'c)^T, row-major, shape (d^2, d^2)."""
    eye = np.eye(levels)
    out = np.zeros((levels * levels, levels * levels), dtype=complex)
    for c in c_ops:
        cdc = c.conj().T @ c
        out += _kron(c, c.conj()) - 0.5 * _kron(cdc, eye) - 0.5 * _kron(eye, cdc.T)
    return out


def unitary_superop(u: np.ndarray) -> np.ndarray:
    """S = kron(U, U*) for a batch U (..., d, d) -> (..., d^2, d^2) (row-major vec)."""
    return _kron(u, u.conj())


def expm_batched(a: np.ndarray) -> np.ndarray:
    """exp(A) for a stack (..., n, n) by scaling and squaring a Taylor series.

    exp(A) = [T_m(A / 2^s)]^(2^s), T_m(X) = sum_{k<=m} X^k / k!, with s chosen so that
    ||A / 2^s||_1 <= 1 for the whole stack and m = 18: truncation error <= e / 19! < 1e-16 relative.
    Horner form T_m(X) = 1 + X (1 + X/2 (1 + ... (1 + X/m))): m batched matmuls, then s squarings.
    """
    a = np.asarray(a)
    n = a.shape[-1]
    if a.size == 0:
        return a.copy()
    norm = float(np.max(np.sum(np.abs(a), axis=-2)))  # induced 1-norm, max over the stack
    s = max(0, int(np.ceil(np.log2(norm)))) if norm > 1.0 else 0
    x = a / (2.0**s)
    eye = np.eye(n, dtype=x.dtype)
    p = eye + x / _TAYLOR_ORDER
    for k in range(_TAYLOR_ORDER - 1, 0, -1):
        p = eye + (x @ p) / k
    for _ in range(s):
        p = p @ p
    return p


def channel_fast(
    omega_i: np.ndarray,
    omega_q: np.ndarray | None,
    dt_ns: float,
    levels: int,
    anharmonicity_ghz: float,
    detuning_ghz: float = 0.0,
    t1_us: float | None = None,
    t2_us: float | None = None,
) -> np.ndarray:
    """Exact ZOH channel S (..., d^2, d^2) (row-major) for drives omega_* (..., K) in rad/ns.

    L_k = L_0 + (Omega_I,k / 2) L_X + (Omega_Q,k / 2) L_Y with L_0 = drift + dissipator; identical
    samples are exponentiated once; batches are processed in chunks to bound memory.
    """
    c_ops = collapse_operators(levels, t1_us, t2_us)
    if not c_ops:  # closed system: the unitary path is exact and cheaper
        return unitary_superop(propagate(omega_i, omega_q, dt_ns, levels, anharmonicity_ghz, detuning_ghz))

    omega_i = np.asarray(omega_i, dtype=float)
    if omega_q is not None:
        omega_i, omega_q = np.broadcast_arrays(omega_i, np.asarray(omega_q, dtype=float))
    else:
        omega_q = np.zeros_like(omega_i)
    batch, k_samples = omega_i.shape[:-1], omega_i.shape[-1]
    d2 = levels * levels
    l0 = hamiltonian_superop(drift(levels, anharmonicity_ghz, detuning_ghz)) + dissipator_superop(c_ops, levels)
    x, y = drive_operators(levels)
    lx, ly = hamiltonian_superop(x), hamiltonian_superop(y)

    flat_i = omega_i.reshape(-1, k_samples)
    flat_q = omega_q.reshape(-1, k_samples)
    n = flat_i.shape[0]
    chunk = max(1, _CHUNK_ELEMENTS // (k_samples * d2 * d2))
    out = np.empty((n, d2, d2), dtype=complex)
    for start in range(0, n, chunk):  # loop over memory-sized chunks, not over codes
        sl = slice(start, start + chunk)
        (ui, uq), inverse = unique_samples(flat_i[sl], flat_q[sl])
        gen = dt_ns * (l0 + 0.5 * ui[:, None, None] * lx + 0.5 * uq[:, None, None] * ly)
        s_unique = expm_batched(gen)
        out[sl] = time_ordered_product(s_unique[inverse])
    return out.reshape(*batch, d2, d2)


def column_to_row_superop(s_col: np.ndarray) -> np.ndarray:
    """Column-stacking superoperator (QuTiP, qiskit-dynamics: vec index i + d j) -> row-major (i d + j).

    S_row[(i,j),(k,l)] = S_col[(j,i),(l,k)] read as a (d, d, d, d) array: swap within each index pair.
    """
    d2 = s_col.shape[-1]
    d = int(round(np.sqrt(d2)))
    s = s_col.reshape(*s_col.shape[:-2], d, d, d, d)
    return np.swapaxes(np.swapaxes(s, -4, -3), -2, -1).reshape(s_col.shape)


def _kron(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched Kronecker product over the last two axes (broadcasting leading axes)."""
    a = np.asarray(a)
    b = np.asarray(b)
    out = a[..., :, None, :, None] * b[..., None, :, None, :]
    shape = out.shape
    return out.reshape(*shape[:-4], shape[-4] * shape[-3], shape[-2] * shape[-1])
