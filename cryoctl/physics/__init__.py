"""Physics layer: d-level transmons driven by DAC waveforms -> propagators and channels.

Engines (:func:`get_engine`): ``fast`` (numpy, batched, default), ``qutip`` (QuTiP 5 reference),
``dynamics`` (qiskit-dynamics reference, optional extra).
"""

from cryoctl.physics.engines import ENGINE_NAMES, Engine, get_engine
from cryoctl.physics.fast import propagate
from cryoctl.physics.hamiltonian import drift, drive_operators, hamiltonians, lowering
from cryoctl.physics.lindblad import channel_fast, collapse_operators, unitary_superop

__all__ = [
    "ENGINE_NAMES",
    "Engine",
    "channel_fast",
    "collapse_operators",
    "drift",
    "drive_operators",
    "get_engine",
    "hamiltonians",
    "lowering",
    "propagate",
    "unitary_superop",
]
