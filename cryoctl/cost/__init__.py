"""Cost layer: DAC power and area per channel / qubit / system, against the cryostat budget."""

from cryoctl.cost.area import (
    array_area_um2,
    inl_yield_c,
    inl_yield_for_sigma,
    pelgrom_constant_um2,
    sigma_for_inl_yield,
    unit_area_um2,
    unit_sources,
)
from cryoctl.cost.model import DEFAULT_INL_YIELD, cost_report, flux_cost
from cryoctl.cost.power import K_B, channel_power_w, dynamic_power_w, thermal_floor_w

__all__ = [
    "DEFAULT_INL_YIELD", "K_B", "array_area_um2", "channel_power_w", "cost_report",
    "dynamic_power_w", "flux_cost", "inl_yield_c", "inl_yield_for_sigma", "pelgrom_constant_um2", "sigma_for_inl_yield",
    "thermal_floor_w", "unit_area_um2", "unit_sources",
]
