"""Register kernels of the executor: block split, single-qubit action on pure states and density
matrices, product initial states. Batched over (P parameter sets, B samples); qubit 0 first.

- :func:`apply_1q`: U (P|1, B|1, d, d) on qubit q of psi (P, B, d^n) acts on the view
  (P, B, d^q, d, d^(n-q-1)) as one batched matmul psi' = U @ psi over the d axis.
- :func:`apply_superop`: a row-major superoperator S[(i,j),(k,l)] on qubit q of rho (P, B, d^n, d^n):
  rho'[.., i, .., j, ..] = sum_kl S[i,j,k,l] rho[.., k, .., l, ..]. The (ket, bra) index pair of q is
  moved last, so the channel is one batched matmul vec' = vec @ S^T over all other indices.
- :func:`apply_on_axes`: a matrix M on a group of register axes of a tensor (P, B, d, ..., d) (pure
  state: n axes; density matrix: n ket then n bra axes): the group is moved last and flattened
  row-major, t' = t @ M^T, so t'[.., i1, .., ik, ..] = sum M[(i1..ik), (j1..jk)] t[.., j1, .., jk, ..]
  (the realized two-qubit gates: U on (a, b), U* on the bra axes, a row-major channel on
  (ket a, ket b, bra a, bra b)).
- :func:`product_state` / :func:`product_density`: the first rotation block acting on |0...0>:
  psi = (x)_q U_q[:, 0] and rho = (x)_q S_q(|0><0|), where column 0 of a row-major S is vec S(|0><0|).
"""

from __future__ import annotations

import string

import numpy as np

from cryoctl.circuit.description import Circuit, Rot


def circuit_blocks(circuit: Circuit) -> list[tuple[str, list]]:
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


def apply_1q(psi: np.ndarray, u: np.ndarray, qubit: int, n: int, d: int) -> np.ndarray:
    """psi (P, B, d^n) flat-register view; u (P|1, B|1, d, d) -> new psi (P, B, d^n)."""
    P, B = psi.shape[:2]
    view = psi.reshape(P, B, d**qubit, d, d ** (n - qubit - 1))
    return (u[:, :, None] @ view).reshape(P, B, d**n)


def apply_superop(rho: np.ndarray, s: np.ndarray, qubit: int, n: int, d: int) -> np.ndarray:
    """rho (P, B, d^n, d^n); s (P|1, B|1, d^2, d^2) row-major superoperator on ``qubit``."""
    P, B = rho.shape[:2]
    L, R = d**qubit, d ** (n - qubit - 1)
    view = rho.reshape(P, B, L, d, R * L, d, R)
    moved = view.transpose(0, 1, 2, 4, 6, 3, 5).reshape(P, B, L * R * L * R, d * d)
    out = moved @ np.swapaxes(s, -1, -2)
    out = out.reshape(P, B, L, R * L, R, d, d).transpose(0, 1, 2, 5, 3, 6, 4)
    return out.reshape(P, B, d**n, d**n)


def apply_on_axes(t: np.ndarray, m: np.ndarray, axes) -> np.ndarray:
    """M (D, D) on the axes ``axes`` of t, D = product of their sizes (their row-major joint index)."""
    axes = [int(a) for a in axes]
    k = len(axes)
    last = list(range(t.ndim - k, t.ndim))
    moved = np.moveaxis(t, axes, last)
    shape = moved.shape
    out = (moved.reshape(shape[: t.ndim - k] + (-1,)) @ np.swapaxes(m, -1, -2)).reshape(shape)
    return np.moveaxis(out, last, axes)


def product_state(fused: dict[int, np.ndarray], n: int, d: int, P: int, B: int) -> np.ndarray:
    """(x)_q U_q |0> for the fused unitaries of the first block (identity where absent): (P, B, d^n)."""
    e0 = np.eye(d)[:, 0]
    cols = [np.broadcast_to(fused[q][..., :, 0] if q in fused else e0, (P, B, d)) for q in range(n)]
    psi = cols[0]
    for c in cols[1:]:
        psi = (psi[..., :, None] * c[..., None, :]).reshape(P, B, -1)
    return np.array(psi, dtype=np.complex128).reshape(P, B, d**n)


def product_density(fused: dict[int, np.ndarray], n: int, d: int, P: int, B: int) -> np.ndarray:
    """(x)_q S_q(|0><0|) for the fused superoperators of the first block: (P, B, d^n, d^n)."""
    e0 = np.zeros((d, d), dtype=np.complex128)
    e0[0, 0] = 1.0
    cols = [np.broadcast_to(fused[q][..., :, 0].reshape(fused[q].shape[:-2] + (d, d)) if q in fused else e0,
                            (P, B, d, d)) for q in range(n)]
    letters = string.ascii_letters
    ket, bra = letters[:n], letters[n: 2 * n]
    spec = ",".join(f"...{ket[q]}{bra[q]}" for q in range(n)) + f"->...{ket}{bra}"
    return np.array(np.einsum(spec, *cols), dtype=np.complex128).reshape(P, B, d**n, d**n)
