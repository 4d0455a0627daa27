"""Physics layer: a :class:`SystemModel` (transmons, drive operators per channel, collapse operators)
driven by channel signals -> propagators and channels.

Engines (:func:`get_engine`, the one registry): ``fast`` (numpy, batched, default), ``qutip`` (QuTiP 5
reference), ``dynamics`` (qiskit-dynamics reference, optional extra).
"""

from cryoctl.physics.engines import ENGINES, Engine, get_engine
from cryoctl.physics.fast import time_ordered_product
from cryoctl.physics.lindblad import collapse_operators, dephasing_rate
from cryoctl.physics.model import SystemModel

__all__ = [
    "ENGINES",
    "Engine",
    "SystemModel",
    "collapse_operators",
    "dephasing_rate",
    "get_engine",
    "time_ordered_product",
]
