"""Per-channel / per-qubit / per-system DAC power and area, against the cryostat stage budget.

Parameters come from ``profile.cost`` (:class:`~cryoctl.profile.models.CostSpec`); defaults and their
sources:

- ``temperature_k = 4``: the 4 K stage where cryo-CMOS controllers sit (DESIGN.md).
- ``stage_budget_w = 1.5``: cooling power of a dilution refrigerator's 4 K stage (~1.5 W, DESIGN.md;
  mixing chamber ~20 uW).
- ``fom_fj_per_step``, ``static_power_mw``: dissipation of a current-steering DAC channel; published
  cryo-CMOS controllers land at < 2 mW/qubit (28 nm, 3 K) to 23 mW/qubit (14 nm FinFET, 4 K)
  (DESIGN.md); the defaults (0.5 fJ/step, 0.5 mW static) give ~1.1 mW/qubit for a 6-bit, 1 GS/s
  I/Q pair, inside that range.
- ``a_beta_pct_um``, ``a_vt_mv_um``: Pelgrom coefficients; A_VT ~ 1 mV um per nm of gate oxide
  (Pelgrom, Tuinhout, Vertregt, IEDM 1998), a few mV um in 28-65 nm bulk, A_beta ~ 1 %um.
- ``channels_per_qubit = 2``: I and Q.

``qubits_that_fit = floor(stage_budget_w / power_per_qubit_w)``: how many qubits' DACs the stage can
cool (the thermal floor is reported beside the dissipated power, not added to it).

Flux DACs (profiles with a ``flux`` section): one DC-coupled flux DAC per tunable qubit (an entry of
``flux.qubits`` with asymmetry < 1; a fixed transmon needs none), costed with the same models and the same
``profile.cost`` (FoM, static power, thermal floor, Pelgrom) at the flux DAC's own bits N_f and rate f_f::

    P_flux = n_flux * (FoM 2^N_f f_f + P_static),   A_flux = n_flux * overhead * (2^N_f - 1) W L(sigma_f)

with sigma_f = ``flux.dac.unit_mismatch_sigma`` (or the INL-yield sigma at N_f when it is 0). They are
added to the XY totals: ``power_per_qubit_w = channels_per_qubit * P_channel + P_flux / qubits`` (the XY
part alone is ``xy_power_per_qubit_w``), and the same for area; ``qubits_that_fit`` uses that total.
"""

from __future__ import annotations

import math
from typing import Any

from cryoctl.cost.area import (
    array_area_um2,
    inl_yield_c,
    inl_yield_for_sigma,
    pelgrom_constant_um2,
    sigma_for_inl_yield,
    unit_area_um2,
    unit_sources,
)
from cryoctl.cost.power import channel_power_w, dynamic_power_w, thermal_floor_w
from cryoctl.profile.models import HardwareProfile

#: INL yield used to size the array when the profile has no mismatch (sigma_u = 0).
DEFAULT_INL_YIELD = 0.997


def cost_report(profile: HardwareProfile, inl_yield: float = DEFAULT_INL_YIELD) -> dict[str, Any]:
    """Power and area of the profile's DAC, per channel / per qubit / per system, vs the stage budget.

    Returns a flat dict of plain floats/ints/strings (JSON-ready). Powers in W, areas in um^2 (unit
    source) and mm^2 (channel, qubit, system).

    Area basis: ``dac.unit_mismatch_sigma`` when it is > 0 (the same sigma that draws the chip's
    INL/DNL), else the sigma_u that meets ``inl_yield`` (``area_basis`` says which). With a measured
    INL table the mismatch sigma is unknown and the yield basis is used too.

    An SFQ-controlled profile (``profile.sfq`` set; its ``dac`` is a placeholder) gets the SFQ driver's
    report instead (:func:`cryoctl.cost.sfq.sfq_cost_report`: the same power keys, ``control`` = "sfq").
    """
    if profile.sfq is not None:  # SFQ control: the driver's power in the same keys (cryoctl.cost.sfq)
        from cryoctl.cost.sfq import sfq_cost_report

        return sfq_cost_report(profile)
    dac, cost = profile.dac, profile.cost
    bits, fs = dac.bits, dac.sample_rate_gsps
    flux = flux_cost(profile, inl_yield)

    p_dyn = float(dynamic_power_w(bits, fs, cost.fom_fj_per_step))
    p_chan = float(channel_power_w(bits, fs, cost.fom_fj_per_step, cost.static_power_mw))
    p_floor = float(thermal_floor_w(bits, fs, cost.temperature_k))
    p_xy_qubit = p_chan * cost.channels_per_qubit
    p_qubit = p_xy_qubit + flux.get("flux_power_per_qubit_w", 0.0)
    p_system = p_qubit * profile.qubits.count
    fit = math.floor(cost.stage_budget_w / p_qubit) if p_qubit > 0 else None

    c = inl_yield_c(inl_yield)
    if dac.unit_mismatch_sigma > 0 and dac.inl_table_lsb is None:
        sigma_u, basis = float(dac.unit_mismatch_sigma), "unit_mismatch_sigma"
    else:
        sigma_u, basis = float(sigma_for_inl_yield(bits, c)), f"inl_yield={inl_yield:g}"
    a_unit = float(unit_area_um2(sigma_u, cost.a_beta_pct_um, cost.a_vt_mv_um, cost.overdrive_v))
    a_array = float(array_area_um2(bits, sigma_u, cost.a_beta_pct_um, cost.a_vt_mv_um, cost.overdrive_v))
    a_chan_mm2 = a_array * cost.area_overhead * 1e-6
    a_xy_qubit_mm2 = a_chan_mm2 * cost.channels_per_qubit
    a_qubit_mm2 = a_xy_qubit_mm2 + flux.get("flux_area_per_qubit_mm2", 0.0)

    return {
        "bits": bits,
        "sample_rate_gsps": fs,
        "temperature_k": cost.temperature_k,
        # power
        "dynamic_power_w": p_dyn,
        "channel_power_w": p_chan,
        "thermal_floor_w": p_floor,
        "floor_over_channel": p_floor / p_chan if p_chan > 0 else float("inf"),
        "xy_power_per_qubit_w": p_xy_qubit,
        "power_per_qubit_w": p_qubit,
        "system_power_w": p_system,
        "stage_budget_w": cost.stage_budget_w,
        "stage_fraction": p_system / cost.stage_budget_w,
        "qubits_that_fit": fit,
        "system_fits": p_system <= cost.stage_budget_w,
        # area
        "area_basis": basis,
        "sigma_u": sigma_u,
        "inl_yield_estimate": float(inl_yield_for_sigma(bits, sigma_u)),
        "pelgrom_constant_um2": pelgrom_constant_um2(cost.a_beta_pct_um, cost.a_vt_mv_um, cost.overdrive_v),
        "unit_sources": int(unit_sources(bits)),
        "unit_area_um2": a_unit,
        "array_area_um2": a_array,
        "channel_area_mm2": a_chan_mm2,
        "xy_area_per_qubit_mm2": a_xy_qubit_mm2,
        "area_per_qubit_mm2": a_qubit_mm2,
        "system_area_mm2": a_qubit_mm2 * profile.qubits.count,
        "channels_per_qubit": cost.channels_per_qubit,
        "qubits": profile.qubits.count,
        **flux,
    }


def flux_cost(profile: HardwareProfile, inl_yield: float = DEFAULT_INL_YIELD) -> dict[str, Any]:
    """Power and area of the profile's flux DACs (module docstring); {} without a ``flux`` section.

    Keys start with ``flux_``: bits, rate, number of flux DACs (``flux_channels``), per-channel dynamic /
    total power, thermal floor and area, the system totals and their share per qubit."""
    flux = getattr(profile, "flux", None)
    if flux is None:
        return {}
    dac, cost = flux.dac, profile.cost
    bits, fs = dac.bits, dac.sample_rate_gsps
    n = sum(1 for q in flux.qubits if q.asymmetry < 1.0)
    p_chan = float(channel_power_w(bits, fs, cost.fom_fj_per_step, cost.static_power_mw))
    if dac.unit_mismatch_sigma > 0 and dac.inl_table_lsb is None:
        sigma_u, basis = float(dac.unit_mismatch_sigma), "unit_mismatch_sigma"
    else:
        sigma_u, basis = float(sigma_for_inl_yield(bits, inl_yield_c(inl_yield))), f"inl_yield={inl_yield:g}"
    a_chan_mm2 = float(array_area_um2(bits, sigma_u, cost.a_beta_pct_um, cost.a_vt_mv_um, cost.overdrive_v)) * cost.area_overhead * 1e-6
    count = profile.qubits.count
    return {
        "flux_bits": bits,
        "flux_sample_rate_gsps": fs,
        "flux_channels": n,
        "flux_dynamic_power_w": float(dynamic_power_w(bits, fs, cost.fom_fj_per_step)),
        "flux_channel_power_w": p_chan,
        "flux_thermal_floor_w": float(thermal_floor_w(bits, fs, cost.temperature_k)),
        "flux_system_power_w": n * p_chan,
        "flux_power_per_qubit_w": n * p_chan / count,
        "flux_area_basis": basis,
        "flux_sigma_u": sigma_u,
        "flux_channel_area_mm2": a_chan_mm2,
        "flux_system_area_mm2": n * a_chan_mm2,
        "flux_area_per_qubit_mm2": n * a_chan_mm2 / count,
    }
