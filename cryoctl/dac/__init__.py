"""dac layer: integer codes -> volts per sample (static transfer with mismatch INL/DNL, gain and
offset error; white noise and clock jitter; zero-order hold and reconstruction filter) and the DAC
metrics (DNL, INL, monotonicity, SNR/SINAD/ENOB/SFDR from a coherent sine test)."""

from cryoctl.dac.dynamic import hold, noise_sigma_v, perturb, reconstruction_sos
from cryoctl.dac.metrics import SineTest, average_lsb, dnl, inl, is_monotonic, sine_codes, sine_test
from cryoctl.dac.model import Dac
from cryoctl.dac.static import (
    draw_mismatch,
    element_currents,
    element_units,
    ideal_levels,
    levels_from_inl_table,
    levels_from_mismatch,
    switched_current,
)

__all__ = [
    "Dac", "SineTest", "average_lsb", "dnl", "draw_mismatch", "element_currents", "element_units",
    "hold", "ideal_levels", "inl", "is_monotonic", "levels_from_inl_table", "levels_from_mismatch",
    "noise_sigma_v", "perturb", "reconstruction_sos", "sine_codes", "sine_test", "switched_current",
]
