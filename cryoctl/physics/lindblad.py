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
ill-conditioned near degenerate (e.g. undriven) Liouvillians. The whole product is computed in an
orthonormal Hermitian operator basis (:func:`hermitian_basis`), where Lindblad generators and
channels are real matrices, and transformed back to row-major vec once per waveform.
"""

from __future__ import annotations

import numpy as np

from cryoctl.conventions import kron_conj
from cryoctl.physics.fast import propagate, time_ordered_product
from cryoctl.physics.hamiltonian import lowering

NS_PER_US = 1e3
_TAYLOR_ORDER = 18  # remainder <= ||A||^19 / 19! ~ 8e-18 at ||A||_1 <= 1
_CHUNK_ELEMENTS = 1 << 22  # matrix elements per working stack (32 MiB of float64) when building channels


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


def hermitian_basis(levels: int) -> np.ndarray:
    """B (d^2, d^2): columns are row-major vec(G_m) of an orthonormal Hermitian operator basis.

    G = { E_kk } u { (E_kl + E_lk)/sqrt 2, i(E_lk - E_kl)/sqrt 2 : k < l }, Tr(G_m G_n) = delta_mn, so B is
    unitary. A Lindblad generator maps Hermitian operators to Hermitian operators, hence in this basis
    it is REAL: R = B' L B, R_mn = Tr(G_m L(G_n)).
    """
    d = levels
    cols = []
    for k in range(d):
        e = np.zeros((d, d), dtype=complex)
        e[k, k] = 1.0
        cols.append(e.reshape(-1))
    r2 = 1 / np.sqrt(2.0)
    for k in range(d):
        for m in range(k + 1, d):
            sym = np.zeros((d, d), dtype=complex)
            sym[k, m] = sym[m, k] = r2
            asym = np.zeros((d, d), dtype=complex)
            asym[k, m], asym[m, k] = -1j * r2, 1j * r2
            cols += [sym.reshape(-1), asym.reshape(-1)]
    return np.stack(cols, axis=1)


def real_generator(l_row: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """R = B' L B, real (imaginary part is rounding only for a Hermiticity-preserving L)."""
    return (basis.conj().T @ l_row @ basis).real


def expm_batched(a: np.ndarray) -> np.ndarray:
    """exp(A) for a stack (..., n, n), real or complex, by scaling and squaring a Taylor series.

    exp(A) = [T_m(A / 2^s)]^(2^s), T_m(X) = sum_{k<=m} X^k / k!, with s chosen so that
    ||A / 2^s||_1 <= 1 for the whole stack and m = 18: truncation error <= e / 19! < 1e-16 relative.
    T_m is evaluated by Paterson-Stockmeyer: with X^2, X^3, X^4 precomputed,
    T_m(X) = B_0 + X^4 (B_1 + X^4 (B_2 + ...)), B_j = sum_{i<4} X^i / (4j + i)!, i.e. 3 + 4 batched
    matmuls instead of 18 for plain Horner; then s squarings.
    """
    a = np.asarray(a)
    n = a.shape[-1]
    if a.size == 0:
        return a.copy()
    norm = float(np.max(np.sum(np.abs(a), axis=-2)))  # induced 1-norm, max over the stack
    s = max(0, int(np.ceil(np.log2(norm)))) if norm > 1.0 else 0
    x = a / (2.0**s)
    coef = 1.0 / np.cumprod(np.r_[1.0, np.arange(1.0, _TAYLOR_ORDER + 1)])  # 1/k!, k = 0..m
    eye = np.eye(n, dtype=x.dtype)
    powers = [eye, x, x @ x]
    powers.append(powers[2] @ x)
    x4 = powers[2] @ powers[2]

    def block(j: int) -> np.ndarray:
        return sum(coef[4 * j + i] * powers[i] for i in range(4) if 4 * j + i <= _TAYLOR_ORDER)

    n_blocks = _TAYLOR_ORDER // 4 + 1
    p = block(n_blocks - 1)  # broadcasts against the stack in x4 @ p
    for j in range(n_blocks - 2, -1, -1):
        p = block(j) + x4 @ p
    for _ in range(s):
        p = p @ p
    return p


def channel_fast(model, signals, dt_ns: float) -> np.ndarray:
    """Exact ZOH channel S (..., D^2, D^2) (row-major) of ``model`` driven by ``signals`` (rad/ns).

    L_k = L_0 + sum_c s_c,k L_c with L_0 = -i[H_static, .] + dissipator and L_c = -i[O_c, .]; each
    distinct sample vector is exponentiated once (in the Hermitian basis, where all of them are real);
    batches are processed in chunks to bound memory.
    """
    from cryoctl.physics.fast import stack_signals, unique_rows

    if not model.is_open:  # closed system: the unitary path is exact and cheaper
        return kron_conj(propagate(model, signals, dt_ns))
    names, stack = stack_signals(model, signals)
    batch, k_samples = stack.shape[:-2], stack.shape[-2]
    d2 = model.dim * model.dim
    # work in the Hermitian basis, where every generator and channel is real (half the flops)
    basis = hermitian_basis(model.dim)
    r0 = real_generator(hamiltonian_superop(model.static) + dissipator_superop(list(model.collapse), model.dim), basis)
    rc = np.stack([real_generator(hamiltonian_superop(model.drives[c]), basis) for c in names]) if names else None
    flat = stack.reshape(int(np.prod(batch, dtype=np.int64)), k_samples, stack.shape[-1])
    n = flat.shape[0]
    chunk = max(1, _CHUNK_ELEMENTS // (k_samples * d2 * d2))
    out = np.empty((n, d2, d2), dtype=complex)
    for start in range(0, n, chunk):  # loop over memory-sized chunks, not over codes
        rows, inverse = unique_rows(flat[start: start + chunk])
        gen = np.broadcast_to(r0, (rows.shape[0], d2, d2))
        if rc is not None:
            gen = gen + np.einsum("uc,cab->uab", rows, rc)
        r_total = time_ordered_product(expm_batched(dt_ns * gen)[inverse])
        out[start: start + chunk] = basis @ r_total @ basis.conj().T
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
