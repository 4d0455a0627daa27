"""Transmon Hamiltonian in the frame rotating at the drive frequency (DESIGN.md 'Transmon').

    H(t) = delta a'a + (alpha/2) a'a'aa + (Omega_I(t)/2)(a + a') + (Omega_Q(t)/2) i(a' - a)

with delta = 2 pi detuning_ghz and alpha = 2 pi anharmonicity_ghz in rad/ns, Omega in rad/ns.
Detuning sign: delta = omega_qubit - omega_drive (a positive detuning is a qubit above the drive).
On two levels the drive terms are (Omega_I/2) X + (Omega_Q/2) Y, so a resonant pulse of area
theta = int Omega_I dt is RX(theta) = exp(-i theta X / 2).
"""

from __future__ import annotations

import numpy as np

TWO_PI = 2.0 * np.pi


def lowering(d: int) -> np.ndarray:
    """Annihilation operator a on d levels: a|k> = sqrt(k)|k-1>."""
    return np.diag(np.sqrt(np.arange(1, d, dtype=float)), k=1)


def drift(d: int, anharmonicity_ghz: float, detuning_ghz: float = 0.0) -> np.ndarray:
    """Diagonal drift delta n + (alpha/2) n(n-1), rad/ns, shape (d, d)."""
    n = np.arange(d, dtype=float)
    return np.diag(TWO_PI * detuning_ghz * n + 0.5 * TWO_PI * anharmonicity_ghz * n * (n - 1))


def drive_operators(d: int) -> tuple[np.ndarray, np.ndarray]:
    """(X_d, Y_d) = (a + a', i(a' - a)): real-symmetric and imaginary-antisymmetric."""
    a = lowering(d)
    return a + a.T, 1j * (a.T - a)


def hamiltonians(
    omega_i: np.ndarray, omega_q: np.ndarray | None, d: int, anharmonicity_ghz: float, detuning_ghz: float = 0.0
) -> np.ndarray:
    """H per sample, shape (..., K, d, d); real when ``omega_q`` is None (I channel only)."""
    h0 = drift(d, anharmonicity_ghz, detuning_ghz)
    x, y = drive_operators(d)
    h = h0 + 0.5 * np.asarray(omega_i, dtype=float)[..., None, None] * x
    if omega_q is not None:
        h = h + 0.5 * np.asarray(omega_q, dtype=float)[..., None, None] * y
    return h
