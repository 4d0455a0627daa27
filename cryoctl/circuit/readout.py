"""Z readout of d-level registers: leakage read as 1, assignment errors, finite shots.

A level-k qubit is discriminated as bit 0 (k = 0) or bit 1 (k >= 1: leaked population reads as 1), so
the ideal <Z_q> = P(level 0) - P(level >= 1). Assignment errors flip the bit: P(read 1 | 0) = p01,
P(read 0 | 1) = p10, so the exact (infinite-shot) expectation is the affine map

    <Z_read> = (p10 - p01) + (1 - p01 - p10) <Z>.

With K shots, the read bitstrings of all n qubits are ONE multinomial draw per circuit from
P(bits) = sum_levels P(levels) prod_q C[bit_q, level_q] (joint, so correlations between qubits are
kept), and <Z_q> = (n_q(0) - n_q(1)) / K.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

from cryoctl.errors import CryoctlError


@dataclass(frozen=True)
class Readout:
    p01: float = 0.0
    p10: float = 0.0
    shots: int | None = None

    def __post_init__(self):
        for name in ("p01", "p10"):
            v = getattr(self, name)
            if not 0.0 <= v <= 0.5:
                raise CryoctlError(f"expected a probability in [0, 0.5], got {v}", field=f"readout.{name}")
        if self.shots is not None and (int(self.shots) != self.shots or self.shots < 1):
            raise CryoctlError(f"expected a positive integer or none, got {self.shots}", field="shots")

    @classmethod
    def from_profile(cls, profile, shots: int | None = -1) -> "Readout":
        """Assignment errors from ``profile.readout``; ``shots=-1`` takes the profile's shot count."""
        r = profile.readout
        return cls(r.p01, r.p10, r.shots if shots == -1 else shots)

    @property
    def gain(self) -> float:
        """d<Z_read>/d<Z> = 1 - p01 - p10."""
        return 1.0 - self.p01 - self.p10

    def confusion(self, levels: int) -> np.ndarray:
        """C[bit, level] (2, d)."""
        c = np.empty((2, levels))
        c[0, 0], c[1, 0] = 1 - self.p01, self.p01
        c[0, 1:], c[1, 1:] = self.p10, 1 - self.p10
        return c


def z_exact(pops: np.ndarray, n_qubits: int) -> np.ndarray:
    """Ideal <Z_q> = 2 P_q(level 0) - 1 from populations (..., d, ..., d) -> (..., n)."""
    lead = pops.ndim - n_qubits
    out = []
    for q in range(n_qubits):
        axes = tuple(lead + k for k in range(n_qubits) if k != q)
        p0 = pops.sum(axis=axes)[..., 0]
        out.append(2 * p0 - 1)
    return np.stack(out, axis=-1)


def expect_z(pops: np.ndarray, n_qubits: int, readout: Readout | None = None,
             rng: np.random.Generator | None = None) -> np.ndarray:
    """Read <Z_q> for every qubit from populations (..., d^(x n)) -> (..., n)."""
    readout = readout or Readout()
    if readout.shots is None:
        return (readout.p10 - readout.p01) + readout.gain * z_exact(pops, n_qubits)
    if rng is None:
        raise CryoctlError("finite shots need an explicit numpy Generator (seed)", field="rng")
    d = pops.shape[-1]
    lead_shape = pops.shape[: pops.ndim - n_qubits]
    c = readout.confusion(d)
    letters = string.ascii_letters
    lv, bt = letters[:n_qubits], letters[n_qubits: 2 * n_qubits]
    spec = "..." + lv + "," + ",".join(bt[q] + lv[q] for q in range(n_qubits)) + "->..." + bt
    pbits = np.einsum(spec, pops, *([c] * n_qubits)).reshape(-1, 2**n_qubits)
    pbits = np.clip(pbits, 0.0, None)
    pbits /= pbits.sum(axis=1, keepdims=True)
    counts = rng.multinomial(int(readout.shots), pbits).reshape(lead_shape + (2,) * n_qubits)
    lead = len(lead_shape)
    z = []
    for q in range(n_qubits):
        axes = tuple(lead + k for k in range(n_qubits) if k != q)
        nq = counts.sum(axis=axes)
        z.append((nq[..., 0] - nq[..., 1]) / readout.shots)
    return np.stack(z, axis=-1)
