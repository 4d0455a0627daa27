"""Circuit layer: batched statevector / density-matrix execution of d-level registers from gate providers."""

from cryoctl.circuit.description import CZ, Circuit, Rot, ring
from cryoctl.circuit.execute import adjoint_vjp, code_shift, expect, shift_jacobian
from cryoctl.circuit.ops import cz_diagonal, generator, rotation, unitary_to_superop
from cryoctl.circuit.providers import ExactProvider, IdealQuantizer, TableProvider, exact_table, make_provider
from cryoctl.circuit.readout import Readout, expect_z, z_exact
from cryoctl.circuit.simulate import density_matrix, populations, statevector

__all__ = [
    "CZ", "Circuit", "ExactProvider", "IdealQuantizer", "Readout", "Rot", "TableProvider",
    "adjoint_vjp", "code_shift", "cz_diagonal", "density_matrix", "exact_table", "expect", "expect_z",
    "generator", "make_provider", "populations", "ring", "rotation", "shift_jacobian", "statevector",
    "unitary_to_superop", "z_exact",
]
