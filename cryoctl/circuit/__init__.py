"""Circuit layer: one executor (provider + entangler + readout) running d-level registers in batches."""

from cryoctl.circuit.description import CZ, Circuit, Rot, ring
from cryoctl.circuit.entangler import (
    ENTANGLERS, IdealCZ, PairOp, RealizedCZ, circuit_pairs, depolarize_pair, entangler_for, realized_pair,
)
from cryoctl.circuit.executor import Executor
from cryoctl.circuit.ops import cz_diagonal, generator, rotation
from cryoctl.circuit.providers import ExactProvider, IdealQuantizer, TableProvider, exact_table, frame_rz
from cryoctl.circuit.readout import Readout, expect_z, z_exact

__all__ = [
    "CZ", "ENTANGLERS", "Circuit", "ExactProvider", "Executor", "IdealCZ", "IdealQuantizer", "PairOp", "Readout",
    "RealizedCZ", "Rot", "TableProvider", "circuit_pairs", "cz_diagonal", "depolarize_pair", "entangler_for",
    "realized_pair", "exact_table", "expect_z", "frame_rz", "generator", "ring", "rotation",
    "z_exact",
]
