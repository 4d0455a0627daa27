"""Physics layer: d-level transmons driven by DAC waveforms -> propagators and channels."""

from cryoctl.physics.fast import propagate
from cryoctl.physics.hamiltonian import drift, drive_operators, hamiltonians, lowering

__all__ = ["drift", "drive_operators", "hamiltonians", "lowering", "propagate"]
