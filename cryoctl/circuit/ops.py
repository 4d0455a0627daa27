"""Single- and two-qubit operations on d-level registers (exact, embedded in d levels).

Rotations about the qubit axes are exp(-i theta P / 2) with P in {X, Y, Z} acting on levels {0, 1}
and the identity on the leakage levels 2..d-1:

    RX(theta) = [[c, -i s], [-i s, c]],  RY(theta) = [[c, -s], [s, c]],
    RZ(theta) = diag(exp(-i theta / 2), exp(+i theta / 2)),   c = cos(theta/2), s = sin(theta/2).

Their generators G = P (zero on leakage) give dU/dtheta = -i G U / 2, used by the adjoint gradient.
The CZ entangler is ideal on the computational subspace: phase -1 only where both qubits sit in
level 1, identity everywhere else (leakage levels included).

Superoperators of unitaries are :func:`cryoctl.conventions.kron_conj` (row-major vec).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from cryoctl.conventions import ROTATION_AXES, check_axis


def rotation(axis: str, angles: np.ndarray, levels: int = 2) -> np.ndarray:
    """Exact rotation(s) exp(-i theta P/2) embedded in d levels: angles (...) -> (..., d, d) complex128."""
    check_axis(axis, ROTATION_AXES)
    theta = np.asarray(angles, dtype=float)
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    out = np.zeros(theta.shape + (levels, levels), dtype=np.complex128)
    if axis == "x":
        out[..., 0, 0] = c
        out[..., 1, 1] = c
        out[..., 0, 1] = -1j * s
        out[..., 1, 0] = -1j * s
    elif axis == "y":
        out[..., 0, 0] = c
        out[..., 1, 1] = c
        out[..., 0, 1] = -s
        out[..., 1, 0] = s
    else:
        out[..., 0, 0] = np.exp(-0.5j * theta)
        out[..., 1, 1] = np.exp(0.5j * theta)
    for k in range(2, levels):  # identity on leakage levels
        out[..., k, k] = 1.0
    return out


def generator(axis: str, levels: int = 2) -> np.ndarray:
    """The Pauli generator P of RP(theta) = exp(-i theta P / 2), zero on leakage levels: (d, d)."""
    check_axis(axis, ROTATION_AXES)
    g = np.zeros((levels, levels), dtype=np.complex128)
    if axis == "x":
        g[0, 1] = g[1, 0] = 1.0
    elif axis == "y":
        g[0, 1], g[1, 0] = -1j, 1j
    else:
        g[0, 0], g[1, 1] = 1.0, -1.0
    return g


def cz_diagonal(pairs: list[tuple[int, int]], n_qubits: int, levels: int) -> np.ndarray:
    """Product of CZs on ``pairs`` as a real diagonal of shape (d,)*n: -1 where both qubits are in level 1
    (read-only: built once per (pairs, n, d), every CZ block of every run reads it)."""
    return _cz_diagonal(tuple((int(a), int(b)) for a, b in pairs), int(n_qubits), int(levels))


@lru_cache(maxsize=256)
def _cz_diagonal(pairs: tuple, n_qubits: int, levels: int) -> np.ndarray:
    diag = np.ones((levels,) * n_qubits)
    one = (np.arange(levels) == 1)
    for a, b in pairs:
        shape_a = [1] * n_qubits
        shape_b = [1] * n_qubits
        shape_a[a] = levels
        shape_b[b] = levels
        both = one.reshape(shape_a) & one.reshape(shape_b)
        diag = diag * np.where(both, -1.0, 1.0)
    diag.setflags(write=False)
    return diag
