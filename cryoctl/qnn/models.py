"""QNN model: angle encoding, hardware-efficient ansatze, Z readout -> scaled logits -> softmax CE.

Encoding: RY(x_i) on qubit i from |0>, with x_i in [0, pi] (cryoctl.qnn.data), i.e. qubit i starts in
cos(x_i/2)|0> + sin(x_i/2)|1>.

Ansatze (trainable angles theta_k, CZ ring (0,1),(1,2),...,(n-1,0) after every layer):
  - ``compact16``: 2 layers of [RY(theta), RZ(theta)] on every qubit + CZ ring: 2*2*4 = 16 angles;
  - ``deep48``: 4 layers of [RX(theta), RY(theta), RZ(theta)] on every qubit + CZ ring: 4*3*4 = 48.
Parameter index order: layer, qubit, then rotation within the layer.

On hardware the ring's CZs are played on the profile's coupled pairs: with the realized flux CZ
(:mod:`cryoctl.qnn.hardware`) every ring pair (q, q+1 mod n) must be a coupling of the profile with a
flux CZ (one tunable qubit idling above the other's f_01 - alpha); a pair that is not coupled is an
error (field ``couplings``).

Readout: class c is read on qubit c mod n, logit_c = scale * <Z_{c mod n}>, p = softmax(logits),
loss = mean cross-entropy. With 4 qubits: 2 classes -> qubits 0, 1; 3 classes -> qubits 0, 1, 2;
4 classes -> qubits 0..3. <Z> in [-1, 1] bounds the logit margin, so ``scale`` (default 5) sets how
confident the model can be (max probability for 2 classes: 1/(1+exp(-2*scale))).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cryoctl.circuit.description import Circuit, Rot, ring
from cryoctl.errors import CryoctlError

ANSATZE = {"compact16": (2, ("y", "z")), "deep48": (4, ("x", "y", "z"))}


def build_circuit(ansatz: str, n_qubits: int = 4) -> Circuit:
    """Encoding block followed by the ansatz layers."""
    if ansatz not in ANSATZE:
        raise CryoctlError(f"unknown ansatz {ansatz!r}; expected one of {', '.join(ANSATZE)}", field="ansatz")
    layers, axes = ANSATZE[ansatz]
    gates: list = [Rot("y", q, "x", q) for q in range(n_qubits)]
    k = 0
    for _ in range(layers):
        for q in range(n_qubits):
            for a in axes:
                gates.append(Rot(a, q, "p", k))
                k += 1
        gates.extend(ring(n_qubits))
    return Circuit(n_qubits, tuple(gates))


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class QNNModel:
    ansatz: str = "compact16"
    n_qubits: int = 4
    n_classes: int = 2
    scale: float = 5.0

    def __post_init__(self):
        if self.n_classes < 2:
            raise CryoctlError(f"expected at least 2 classes, got {self.n_classes}", field="n_classes")
        build_circuit(self.ansatz, self.n_qubits)

    @property
    def circuit(self) -> Circuit:
        return build_circuit(self.ansatz, self.n_qubits)

    @property
    def n_params(self) -> int:
        return self.circuit.n_params

    @property
    def class_qubits(self) -> np.ndarray:
        return np.arange(self.n_classes) % self.n_qubits

    def logits(self, z: np.ndarray) -> np.ndarray:
        """(..., n) <Z> -> (..., n_classes) logits."""
        return self.scale * z[..., self.class_qubits]

    def loss_and_dz(self, z: np.ndarray, y: np.ndarray):
        """Mean cross-entropy over the last-but-one axis and dLoss/d<Z_q> (same shape as z)."""
        p = softmax(self.logits(z))
        m = y.shape[0]
        onehot = np.eye(self.n_classes)[y]
        loss = -np.log(np.clip(np.take_along_axis(p, y[:, None], axis=-1)[..., 0], 1e-300, None)).mean(axis=-1)
        dlogit = (p - onehot) / m
        dz = np.zeros_like(z)
        for c, q in enumerate(self.class_qubits):  # classes may share a qubit (c mod n)
            dz[..., q] += self.scale * dlogit[..., c]
        return loss, dz

    def predict(self, z: np.ndarray) -> np.ndarray:
        return np.argmax(self.logits(z), axis=-1)
