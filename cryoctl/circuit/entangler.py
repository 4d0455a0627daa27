"""Entanglers: what a circuit's CZ does on the register (the seam for realized two-qubit gates).

An entangler acts on a block of CZ pairs, on pure states (P, B, d^n) and on density matrices
(P, B, d^n, d^n). ``noisy`` tells the executor that a pure state cannot hold the result (density
matrices needed) and that a trailing CZ block changes the populations.

:class:`IdealCZ` ``(error=p)``: the ideal CZ on the computational subspace -- phase -1 only where
both qubits sit in level 1, identity elsewhere (leakage levels included): a real +-1 diagonal D,
psi -> D psi, rho -> D rho D. With p > 0 every CZ is followed by two-qubit depolarizing on its pair
(a, b):

    rho -> (1 - p) rho + p * Tr_ab(rho) (x) (Pi_a / 2) (x) (Pi_b / 2),

Pi = |0><0| + |1><1| the computational projector: the pair is replaced by the maximally mixed
two-qubit state; population the pair had in leakage levels is moved into the computational subspace.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cryoctl.circuit.ops import cz_diagonal
from cryoctl.errors import CryoctlError


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


@dataclass(frozen=True)
class IdealCZ:
    """Ideal CZ diagonal, followed by two-qubit depolarizing of probability ``error`` per CZ."""

    error: float = 0.0

    def __post_init__(self):
        if not 0.0 <= float(self.error) <= 1.0:
            raise CryoctlError(f"expected a probability in [0, 1], got {self.error}", field="qubits.cz_error")

    @classmethod
    def from_profile(cls, profile) -> "IdealCZ":
        return cls(float(profile.qubits.cz_error))

    @property
    def noisy(self) -> bool:
        return self.error > 0.0

    def apply_state(self, psi: np.ndarray, pairs, n: int, d: int) -> np.ndarray:
        """psi (P, B, d^n) -> D psi."""
        if self.noisy:
            raise CryoctlError("a CZ error needs density-matrix execution", field="mode")
        return psi * cz_diagonal(pairs, n, d).reshape(-1)

    def undo_state(self, psi: np.ndarray, pairs, n: int, d: int) -> np.ndarray:
        """D^-1 psi = D psi (a real +-1 diagonal is its own inverse): the adjoint's backward sweep."""
        return self.apply_state(psi, pairs, n, d)

    def apply_density(self, rho: np.ndarray, pairs, n: int, d: int) -> np.ndarray:
        """rho (P, B, d^n, d^n) -> the block of CZs (each with its depolarizing) applied; in place."""
        if not self.noisy:  # the whole block as one diagonal
            diag = cz_diagonal(pairs, n, d).reshape(-1)
            rho *= np.multiply.outer(diag, diag)  # real +-1: D rho D
            return rho
        for a, b in pairs:
            diag = cz_diagonal([(a, b)], n, d).reshape(-1)
            rho *= np.multiply.outer(diag, diag)
            rho = depolarize_pair(rho, a, b, self.error, n, d)
        return rho
