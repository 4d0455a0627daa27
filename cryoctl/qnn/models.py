"""QNN model: angle encoding, hardware-efficient ansatze, Z readout -> scaled logits -> softmax CE.

Encoding: RY(x_i) on qubit i from |0>, with x_i in [0, pi] (cryoctl.qnn.data), i.e. qubit i starts in
cos(x_i/2)|0> + sin(x_i/2)|1>. One data gate per qubit: datasets with more features than qubits are
reduced by PCA to n components, datasets with fewer leave the extra qubits at angle 0 (data.py).

Ansatze. Every layer puts the same rotations with trainable angles theta_k on every qubit, then one
block of CZ entanglers. Parameter index order: layer, qubit, then rotation within the layer.

  - ``hea:L``: L layers of [RY(theta), RZ(theta)] on every qubit + CZ block: 2 L n angles;
  - ``hea3:L``: L layers of [RX(theta), RY(theta), RZ(theta)] + CZ block: 3 L n angles;
  - ``compact16`` / ``deep48``: the seed paper's 4-qubit models, exactly as before: ``hea:2`` and ``hea3:4``
    with the CZ ring (16 and 48 angles at 4 qubits; at n qubits 4 n and 12 n). They always use the ring.

CZ block. ``hea:L`` / ``hea3:L`` use the ring (0,1),(1,2),...,(n-1,0) (one pair for n = 2). On hardware with
a coupling map (a profile's ``couplings``), :func:`resolve_ansatz` replaces the ring by the coupled pairs
among qubits 0..n-1, in the profile's order and orientation, and writes them into the ansatz name:
``hea:2:0-1,1-2,2-3`` (a CZ only on coupled pairs; qubits that no coupling touches stay unentangled). The
name is therefore the whole circuit: a saved model rebuilds the CZ pairs it was trained with. The
realized flux CZ (:mod:`cryoctl.qnn.hardware`) needs every CZ pair to be a coupling with a flux CZ; a
pair that is not coupled is an error (field ``couplings``).

Readout: class c is read on qubit c mod n, logit_c = scale * <Z_{c mod n}>, p = softmax(logits),
loss = mean cross-entropy. With n >= n_classes qubits class c is read on qubit c (2 classes -> qubits
0, 1; 4 classes -> qubits 0..3), the other qubits are working space. <Z> in [-1, 1] bounds the logit margin,
so ``scale`` (default 5) sets how confident the model can be (max probability for 2 classes:
1/(1+exp(-2*scale))).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from cryoctl.circuit.description import CZ, Circuit, Rot, ring
from cryoctl.errors import CryoctlError

#: the seed paper's named 4-qubit ansatze: (layers, rotation axes per qubit and layer), CZ ring
ANSATZE = {"compact16": (2, ("y", "z")), "deep48": (4, ("x", "y", "z"))}
#: ansatz families ``name:L`` (L layers) and their rotation axes
FAMILIES = {"hea": ("y", "z"), "hea3": ("x", "y", "z")}
MAX_LAYERS = 64
#: qubit counts the CLI and the study tasks accept (``--qubits``)
MIN_QUBITS, MAX_QUBITS = 2, 12
ANSATZ_HELP = ("compact16 | deep48 (the seed paper's 4-qubit models) | hea:L (L layers of RY, RZ + CZs) | "
               "hea3:L (RX, RY, RZ + CZs); hea CZs follow the profile's couplings")


def check_qubits(n_qubits: int, field: str = "qubits") -> int:
    """``n_qubits`` as an int in [MIN_QUBITS, MAX_QUBITS], else a CryoctlError naming ``field``."""
    if isinstance(n_qubits, bool) or not isinstance(n_qubits, (int, np.integer)) or not (
            MIN_QUBITS <= n_qubits <= MAX_QUBITS):
        raise CryoctlError(f"expected a qubit count in {MIN_QUBITS}..{MAX_QUBITS}, got {n_qubits!r}", field=field)
    return int(n_qubits)


def _bad(ansatz: str, why: str) -> CryoctlError:
    return CryoctlError(f"bad ansatz {ansatz!r}: {why}; expected one of {', '.join(ANSATZE)}, "
                        f"{', '.join(f + ':L' for f in FAMILIES)} (L = 1..{MAX_LAYERS} layers) or "
                        f"{next(iter(FAMILIES))}:L:a-b,c-d,... (explicit CZ pairs)", field="ansatz")


def parse_ansatz(ansatz: str, n_qubits: int) -> tuple[int, tuple[str, ...], list[tuple[int, int]]]:
    """(layers, rotation axes per qubit and layer, CZ pairs of the entangler block) of an ansatz name."""
    if not isinstance(ansatz, str):
        raise _bad(str(ansatz), "not a name")
    if ansatz in ANSATZE:
        layers, axes = ANSATZE[ansatz]
        return layers, axes, [(g.a, g.b) for g in ring(n_qubits)]
    parts = ansatz.split(":")
    if parts[0] not in FAMILIES or len(parts) not in (2, 3):
        raise _bad(ansatz, "unknown name")
    try:
        layers = int(parts[1])
    except ValueError:
        raise _bad(ansatz, f"layers {parts[1]!r} is not an integer") from None
    if not 1 <= layers <= MAX_LAYERS:
        raise _bad(ansatz, f"{layers} layers")
    if len(parts) == 2:
        return layers, FAMILIES[parts[0]], [(g.a, g.b) for g in ring(n_qubits)]
    pairs: list[tuple[int, int]] = []
    for tok in parts[2].split(",") if parts[2] else []:
        ab = tok.split("-")
        if len(ab) != 2 or not all(t.isdigit() for t in ab):
            raise _bad(ansatz, f"CZ pair {tok!r} is not a-b")
        a, b = int(ab[0]), int(ab[1])
        if a == b or max(a, b) >= n_qubits:
            raise _bad(ansatz, f"CZ pair {tok!r} is not two different qubits of 0..{n_qubits - 1}")
        if frozenset((a, b)) in {frozenset(p) for p in pairs}:
            raise _bad(ansatz, f"CZ pair {tok!r} given twice")
        pairs.append((a, b))
    return layers, FAMILIES[parts[0]], pairs


def coupled_pairs(couplings, n_qubits: int) -> list[tuple[int, int]]:
    """The pairs of a coupling map (a profile's ``couplings``, or (a, b) tuples) among qubits 0..n-1,
    in their order and orientation."""
    out = []
    for c in couplings:
        a, b = (int(q) for q in getattr(c, "qubits", c))
        if max(a, b) < n_qubits:
            out.append((a, b))
    return out


def resolve_ansatz(ansatz: str, n_qubits: int, couplings=None) -> str:
    """The ansatz name a model on this hardware uses: a family name without explicit pairs (``hea:L``) gets
    the coupled pairs among its qubits (``hea:L:a-b,...``) when ``couplings`` is not empty; the named
    4-qubit ansatze and explicit pairs are kept as they are. A coupling map that couples none of the
    model's qubits is an error (field ``couplings``)."""
    parse_ansatz(ansatz, n_qubits)
    if ansatz in ANSATZE or ansatz.count(":") == 2 or not couplings:
        return ansatz
    pairs = coupled_pairs(couplings, n_qubits)
    if not pairs:
        raise CryoctlError(f"the coupling map couples none of qubits 0..{n_qubits - 1}: no CZ to entangle "
                           f"the {ansatz} ansatz with", field="couplings")
    return f"{ansatz}:" + ",".join(f"{a}-{b}" for a, b in pairs)


def build_circuit(ansatz: str, n_qubits: int = 4) -> Circuit:
    """Encoding block followed by the ansatz layers (module docstring)."""
    layers, axes, pairs = parse_ansatz(ansatz, n_qubits)
    block = [CZ(a, b) for a, b in pairs]
    gates: list = [Rot("y", q, "x", q) for q in range(n_qubits)]
    k = 0
    for _ in range(layers):
        for q in range(n_qubits):
            for a in axes:
                gates.append(Rot(a, q, "p", k))
                k += 1
        gates.extend(block)
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

    @classmethod
    def for_hardware(cls, ansatz: str, n_qubits: int, n_classes: int, scale: float = 5.0,
                     couplings=None) -> "QNNModel":
        """A model whose ``hea`` CZs follow ``couplings`` (:func:`resolve_ansatz`)."""
        return cls(resolve_ansatz(ansatz, n_qubits, couplings), n_qubits, n_classes, scale)

    @cached_property
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
