"""Circuit description: a flat, immutable list of rotations and CZ entanglers on n qubits.

A rotation takes its angle either from the data (``source="x"``, column ``index`` of the input
batch) or from the trainable parameters (``source="p"``, entry ``index`` of a parameter set).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from cryoctl.conventions import ROTATION_AXES
from cryoctl.errors import CryoctlError


@dataclass(frozen=True)
class Rot:
    axis: str  # "x" | "y" | "z"
    qubit: int
    source: str  # "x" (data) | "p" (parameter)
    index: int


@dataclass(frozen=True)
class CZ:
    a: int
    b: int


@dataclass(frozen=True)
class Circuit:
    n_qubits: int
    gates: tuple

    def __post_init__(self):
        for g in self.gates:
            qs = (g.qubit,) if isinstance(g, Rot) else (g.a, g.b)
            if any(not 0 <= q < self.n_qubits for q in qs):
                raise CryoctlError(f"gate {g} acts outside {self.n_qubits} qubits", field="circuit")
            if isinstance(g, Rot) and (g.axis not in ROTATION_AXES or g.source not in ("x", "p")):
                raise CryoctlError(f"bad rotation {g}", field="circuit")

    # derived views (and the hash: executors key caches by circuit) are cached on the immutable circuit
    def __hash__(self) -> int:
        return self._hash

    @cached_property
    def _hash(self) -> int:
        return hash((self.n_qubits, self.gates))

    @cached_property
    def n_params(self) -> int:
        idx = [g.index for g in self.gates if isinstance(g, Rot) and g.source == "p"]
        return max(idx) + 1 if idx else 0

    @cached_property
    def n_inputs(self) -> int:
        idx = [g.index for g in self.gates if isinstance(g, Rot) and g.source == "x"]
        return max(idx) + 1 if idx else 0

    @cached_property
    def _param_gates(self) -> tuple[Rot, ...]:
        return tuple(g for g in self.gates if isinstance(g, Rot) and g.source == "p")

    def param_gates(self) -> list[Rot]:
        return list(self._param_gates)

    @cached_property
    def param_axes(self) -> tuple[str, ...]:
        """Rotation axis of each trainable parameter (a parameter drives one axis: its code grid
        depends on it, amplitude codes for x/y and frame-phase words for z)."""
        axes: dict[int, str] = {}
        for g in self.param_gates():
            if axes.setdefault(g.index, g.axis) != g.axis:
                raise CryoctlError(f"parameter {g.index} drives both {axes[g.index]} and {g.axis}", field="circuit")
        return tuple(axes.get(i, "x") for i in range(self.n_params))

    @cached_property
    def param_qubits(self) -> tuple[int, ...]:
        """Qubit of each trainable parameter; -1 for a parameter shared by several qubits (or unused).

        A hardware code belongs to one channel (qubit, axis): per-channel providers refuse -1.
        """
        qubits: dict[int, set] = {}
        for g in self.param_gates():
            qubits.setdefault(g.index, set()).add(g.qubit)
        return tuple(next(iter(qubits[i])) if len(qubits.get(i, ())) == 1 else -1 for i in range(self.n_params))


def ring(n_qubits: int) -> list[CZ]:
    """CZ ring (0,1), (1,2), ..., (n-1,0); a single pair for n = 2, nothing for n = 1."""
    if n_qubits < 2:
        return []
    if n_qubits == 2:
        return [CZ(0, 1)]
    return [CZ(q, (q + 1) % n_qubits) for q in range(n_qubits)]
