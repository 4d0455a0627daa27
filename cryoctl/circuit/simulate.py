"""Batched execution of a :class:`~cryoctl.circuit.description.Circuit` on d-level registers.

State layout. Two leading batch axes: parameter sets P and data samples B, so a parameter-shift
gradient (2 n_params + 1 parameter sets) over a mini-batch is ONE call. A pure state has shape
(P, B, d, ..., d) (n register axes, qubit 0 first); a density matrix (P, B, d^n, d^n).

Statevector. A single-qubit operation U on qubit q acts on the view (P, B, d^q, d, d^(n-q-1)) as the
batched matmul psi' = U @ psi over the d axis (numpy broadcasting: U is (P, 1, d, d) for a parameter
gate and (1, B, d, d) for a data gate). Consecutive single-qubit gates on the same qubit are fused
first (products of (P, B, d, d) matrices are cheap), a block of CZs is one precomputed +-1 diagonal,
and the first rotation block on |0...0> is built directly as the product state
psi = (x)_q U_q[:, 0]. For population readout, a trailing diagonal block (CZ ring before
measurement) is skipped: |psi_k|^2 is invariant under diagonal phases.

Density matrix (channels, or CZ error). A superoperator S (row-major vec, S[(i,j),(k,l)]) acts on
qubit q as rho'[.., i, .., j, ..] = sum_kl S[i,j,k,l] rho[.., k, .., l, ..] with the ket and bra axes of q.
Each CZ is followed, when ``cz_error = p > 0``, by two-qubit depolarizing on the pair (a, b):

    rho -> (1 - p) rho + p * Tr_ab(rho) (x) (Pi_a / 2) (x) (Pi_b / 2),

Pi = |0><0| + |1><1| the computational projector (the pair is replaced by the maximally mixed qubit
state; population the pair had in leakage levels is moved into the computational subspace).
"""

from __future__ import annotations

import string

import numpy as np

from cryoctl.circuit.description import Circuit, Rot
from cryoctl.circuit.ops import cz_diagonal, unitary_to_superop
from cryoctl.errors import CryoctlError


def _prepare(circuit: Circuit, x, params):
    """x -> (B, n_inputs) float, params -> (P, n_params) float (None allowed when unused)."""
    x = np.zeros((1, 0)) if x is None else np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[None, :]
    params = np.zeros((1, 0)) if params is None else np.asarray(params, dtype=float)
    if params.ndim == 1:
        params = params[None, :]
    if x.shape[1] < circuit.n_inputs:
        raise CryoctlError(f"expected at least {circuit.n_inputs} input features, got {x.shape[1]}", field="x")
    if params.shape[1] < circuit.n_params:
        raise CryoctlError(f"expected {circuit.n_params} parameters, got {params.shape[1]}", field="params")
    return x, params


def _gate_op(g: Rot, provider, x, params) -> np.ndarray:
    """Operation of one rotation, shaped to broadcast over (P, B): (P,1,..) or (1,B,..)."""
    if g.source == "p":
        return provider.ops(g.axis, g.qubit, params[:, g.index])[:, None]
    return provider.ops(g.axis, g.qubit, x[:, g.index])[None, :]


def _blocks(circuit: Circuit):
    """Split the gate list into alternating blocks: ("rot", [Rot...]) and ("cz", [(a, b)...])."""
    blocks: list[tuple[str, list]] = []
    for g in circuit.gates:
        kind = "rot" if isinstance(g, Rot) else "cz"
        item = g if kind == "rot" else (g.a, g.b)
        if blocks and blocks[-1][0] == kind:
            blocks[-1][1].append(item)
        else:
            blocks.append((kind, [item]))
    return blocks


def block_ops(block: list[Rot], provider, x, params) -> list[np.ndarray]:
    """Operations of every rotation in a block, shaped (P,1,..) / (1,B,..).

    Providers whose gates do not depend on the qubit (``qubit_independent``) are called once per
    (axis, source) with all the block's angles stacked, instead of once per gate.
    """
    if not getattr(provider, "qubit_independent", False):
        return [_gate_op(g, provider, x, params) for g in block]
    out: list = [None] * len(block)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, g in enumerate(block):
        groups.setdefault((g.axis, g.source), []).append(i)
    for (axis, src), members in groups.items():
        cols = [block[i].index for i in members]
        if src == "p":
            ops = provider.ops(axis, 0, params[:, cols])[:, None]  # (P, 1, k, d, d)
        else:
            ops = provider.ops(axis, 0, x[:, cols])[None, :]  # (1, B, k, d, d)
        for j, i in enumerate(members):
            out[i] = ops[:, :, j]
    return out


def _fuse(block: list[Rot], provider, x, params, n: int, superop: bool) -> dict[int, np.ndarray]:
    fused: dict[int, np.ndarray] = {}
    for g, op in zip(block, block_ops(block, provider, x, params)):
        if superop and op.shape[-1] == provider.levels:
            op = unitary_to_superop(op)
        fused[g.qubit] = op if g.qubit not in fused else op @ fused[g.qubit]
    return fused


def apply_1q(psi: np.ndarray, u: np.ndarray, qubit: int, n: int, d: int) -> np.ndarray:
    """psi (P, B, d^n) flat-register view; u (P|1, B|1, d, d) -> new psi (P, B, d^n)."""
    P, B = psi.shape[:2]
    view = psi.reshape(P, B, d**qubit, d, d ** (n - qubit - 1))
    return (u[:, :, None] @ view).reshape(P, B, d**n)


def statevector(circuit: Circuit, provider, x=None, params=None, *, for_populations: bool = False) -> np.ndarray:
    """Final pure states (P, B, d, ..., d) for unitary providers."""
    if provider.kind != "unitary":
        raise CryoctlError("statevector execution needs unitary gates; use density-matrix mode", field="mode")
    x, params = _prepare(circuit, x, params)
    n, d = circuit.n_qubits, provider.levels
    P, B = params.shape[0], x.shape[0]
    blocks = _blocks(circuit)
    if for_populations:
        while blocks and blocks[-1][0] == "cz":
            blocks.pop()
    psi = None
    for kind, items in blocks:
        if kind == "rot":
            fused = _fuse(items, provider, x, params, n, superop=False)
            if psi is None:  # product state from |0...0>: column 0 of each fused op
                cols = [np.broadcast_to(fused[q][..., :, 0], (P, B, d)) if q in fused
                        else np.broadcast_to(np.eye(d)[:, 0], (P, B, d)) for q in range(n)]
                psi = cols[0]
                for c in cols[1:]:
                    psi = (psi[..., :, None] * c[..., None, :]).reshape(P, B, -1)
                psi = np.array(psi, dtype=np.complex128).reshape(P, B, d**n)
            else:
                for q, u in fused.items():
                    psi = apply_1q(psi, u, q, n, d)
        else:
            if psi is None:
                psi = np.zeros((P, B, d**n), dtype=np.complex128)
                psi[:, :, 0] = 1.0
            psi = psi * cz_diagonal(items, n, d).reshape(-1)
    if psi is None:
        psi = np.zeros((P, B, d**n), dtype=np.complex128)
        psi[:, :, 0] = 1.0
    return psi.reshape((P, B) + (d,) * n)


def apply_superop(rho: np.ndarray, s: np.ndarray, qubit: int, n: int, d: int) -> np.ndarray:
    """rho (P, B, d^n, d^n); s (P|1, B|1, d^2, d^2) row-major superoperator on ``qubit``.

    The (ket, bra) index pair of the qubit is moved last, so the channel is one batched matmul
    vec' = vec @ S^T over all other indices.
    """
    P, B = rho.shape[:2]
    L, R = d**qubit, d ** (n - qubit - 1)
    view = rho.reshape(P, B, L, d, R * L, d, R)
    moved = view.transpose(0, 1, 2, 4, 6, 3, 5).reshape(P, B, L * R * L * R, d * d)
    out = moved @ np.swapaxes(s, -1, -2)
    out = out.reshape(P, B, L, R * L, R, d, d).transpose(0, 1, 2, 5, 3, 6, 4)
    return out.reshape(P, B, d**n, d**n)


def _product_density(cols: list[np.ndarray], n: int, d: int) -> np.ndarray:
    """(x)_q rho_q for single-qubit density matrices rho_q (P, B, d, d) -> (P, B, d^n, d^n)."""
    letters = string.ascii_letters
    ket, bra = letters[:n], letters[n: 2 * n]
    spec = ",".join(f"...{ket[q]}{bra[q]}" for q in range(n)) + f"->...{ket}{bra}"
    rho = np.einsum(spec, *cols)
    P, B = rho.shape[:2]
    return rho.reshape(P, B, d**n, d**n)


def depolarize_pair(rho: np.ndarray, a: int, b: int, p: float, n: int, d: int) -> np.ndarray:
    """(1 - p) rho + p Tr_ab(rho) (x) Pi_a/2 (x) Pi_b/2 on the computational subspace of (a, b).

    The partial trace is a sum of d^2 strided slices (ket_a = bra_a = i, ket_b = bra_b = j); the
    mixed term is added in place on the 4 computational slices. ``rho`` is modified in place.
    """
    if p == 0.0:
        return rho
    P, B = rho.shape[:2]
    r = rho.reshape((P, B) + (d,) * (2 * n))

    def sl(i, j):
        idx = [slice(None)] * (2 + 2 * n)
        idx[2 + a] = idx[2 + n + a] = i
        idx[2 + b] = idx[2 + n + b] = j
        return tuple(idx)

    reduced = sum(r[sl(i, j)] for i in range(d) for j in range(d))
    r *= 1 - p
    for i in (0, 1):
        for j in (0, 1):
            r[sl(i, j)] += (p / 4) * reduced
    return rho


def density_matrix(circuit: Circuit, provider, x=None, params=None, *, cz_error: float = 0.0) -> np.ndarray:
    """Final density matrices (P, B, d^n, d^n) for unitary or channel providers."""
    x, params = _prepare(circuit, x, params)
    n, d = circuit.n_qubits, provider.levels
    P, B = params.shape[0], x.shape[0]
    D = d**n
    rho = None
    for kind, items in _blocks(circuit):
        if rho is None and kind == "rot":  # product state from |0...0><0...0|: column 0 of each S_q
            fused = _fuse(items, provider, x, params, n, superop=True)
            e0 = np.zeros((d, d), dtype=np.complex128)
            e0[0, 0] = 1.0
            cols = [np.broadcast_to(fused[q][..., :, 0].reshape(fused[q].shape[:2] + (d, d)), (P, B, d, d))
                    if q in fused else np.broadcast_to(e0, (P, B, d, d)) for q in range(n)]
            rho = _product_density(cols, n, d)
            continue
        if rho is None:
            rho = np.zeros((P, B, D, D), dtype=np.complex128)
            rho[:, :, 0, 0] = 1.0
        if kind == "rot":
            for q, s in _fuse(items, provider, x, params, n, superop=True).items():
                rho = apply_superop(rho, s, q, n, d)
        else:
            pairs = items if cz_error > 0 else [items]  # without error: the whole block as one diagonal
            for pair in pairs:
                group = [pair] if cz_error > 0 else pair
                diag = cz_diagonal(group, n, d).reshape(-1)
                rho *= np.multiply.outer(diag, diag)  # real +-1: D rho D
                if cz_error > 0:
                    rho = depolarize_pair(rho, pair[0], pair[1], cz_error, n, d)
    if rho is None:
        rho = np.zeros((P, B, D, D), dtype=np.complex128)
        rho[:, :, 0, 0] = 1.0
    return rho


def populations(circuit: Circuit, provider, x=None, params=None, *, mode: str = "auto",
                cz_error: float = 0.0) -> np.ndarray:
    """Level populations (P, B, d, ..., d), real.

    ``mode``: ``statevector`` | ``density`` | ``auto`` (density matrix when the provider gives channels
    or cz_error > 0, statevector otherwise).
    """
    if mode not in ("auto", "statevector", "density"):
        raise CryoctlError(f"unknown mode {mode!r}; expected auto, statevector or density", field="mode")
    if mode == "auto":
        mode = "density" if (provider.kind == "channel" or cz_error > 0) else "statevector"
    n, d = circuit.n_qubits, provider.levels
    if mode == "statevector":
        if cz_error > 0:
            raise CryoctlError("a CZ error needs density-matrix mode", field="mode")
        psi = statevector(circuit, provider, x, params, for_populations=True)
        return psi.real**2 + psi.imag**2
    rho = density_matrix(circuit, provider, x, params, cz_error=cz_error)
    pops = np.diagonal(rho, axis1=-2, axis2=-1).real
    return pops.reshape(pops.shape[:2] + (d,) * n)
