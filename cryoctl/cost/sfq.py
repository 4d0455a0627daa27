"""SFQ driver power at the 4 K stage, next to the CMOS DAC numbers (DESIGN.md 'SFQ control').

Parameters: ``profile.sfq.cost`` (:class:`~cryoctl.profile.models.SfqCostSpec`, sources there). Per qubit
(one driver):

    RSFQ static   P_s = N_JJ I_b V_b            (every junction biased through a resistor from V_b)
    ERSFQ static  P_s = 0                        (current-limiting junctions instead of resistors;
                                                  Mukhanov, IEEE TAS 21, 760 (2011))
    dynamic       P_d = k E_sw R_sw,  E_sw = I_c Phi_0,  R_sw = n_tick f_clk

with n_tick the junctions switching per clock tick (clock tree, memory read-out, output stage) and k = 1
(RSFQ) or ``ersfq_dynamic_factor`` (ERSFQ: the feeding junctions switch too). The output pulses themselves
(at most one per tick, at f_01 on average for a resonant train) are part of n_tick.

Qubits that fit: floor(stage_budget_w / P_qubit) with the stage budget of ``profile.cost`` (CostSpec,
~1.5 W at 4 K). :func:`sfq_cost_report` puts the CMOS DAC figures of a reference profile beside it
(:func:`cryoctl.cost.model.cost_report`: power per qubit and qubits that fit).

:func:`cryoctl.cost.model.cost_report` of an SFQ profile (``profile.sfq`` set) is this report, in the keys the
study's ``cost`` task and the report read for every design: ``power_per_qubit_w`` (static + dynamic, the
driver is the qubit's one XY channel: ``channels_per_qubit`` = 1, ``channel_power_w`` = the driver's power),
``system_power_w``, ``dynamic_power_w``, ``qubits_that_fit``, ``bits`` = the width of the SFQ gate table's
control word (``sfq.code_bits`` for a compiled table, 1 + bit length of round(pi / dtheta) for a resonant one:
the codes a circuit plays) and ``control`` = "sfq". No area model exists for the driver (junction area is not
in :class:`~cryoctl.profile.models.SfqCostSpec`), so the area keys are None and an SFQ design is on no area
front; there is no DAC thermal floor (``thermal_floor_w`` None).
"""

from __future__ import annotations

import math
from typing import Any

from cryoctl.cost.model import cost_report
from cryoctl.errors import CryoctlError
from cryoctl.profile.models import PHI0_WB, HardwareProfile, SfqCostSpec


def switching_energy_j(critical_current_ua: float) -> float:
    """E_sw = I_c Phi_0 in J (2.07e-19 J at 100 uA)."""
    return critical_current_ua * 1e-6 * PHI0_WB


def sfq_static_power_w(cost: SfqCostSpec) -> float:
    """Static power of one driver: N_JJ I_b V_b for RSFQ, 0 for ERSFQ."""
    if cost.family == "ersfq":
        return 0.0
    return cost.junctions_per_driver * cost.bias_current_ua * 1e-6 * cost.bias_voltage_mv * 1e-3


def sfq_dynamic_power_w(cost: SfqCostSpec, clock_ghz: float) -> float:
    """k I_c Phi_0 n_tick f_clk (module docstring)."""
    factor = cost.ersfq_dynamic_factor if cost.family == "ersfq" else 1.0
    return factor * switching_energy_j(cost.critical_current_ua) * cost.switching_per_tick * clock_ghz * 1e9


def sfq_code_bits(profile: HardwareProfile) -> int:
    """Width of the SFQ gate table's code (module docstring): ``code_bits`` (compiled) or, resonant, the
    widest of the qubits' 1 + bit_length(round(pi / dtheta_q))."""
    sfq = profile.sfq
    if sfq.table == "compiled":
        return int(sfq.code_bits)
    from cryoctl.gates.sfq import resonant_code_bits

    tips = [sfq.tip_angle(sfq.qubit_ghz(profile.transmon(q).detuning_ghz)) for q in range(profile.qubits.count)]
    return max(resonant_code_bits(t) for t in tips)


def sfq_cost_report(profile: HardwareProfile, reference: HardwareProfile | None = None) -> dict[str, Any]:
    """SFQ driver power per qubit / system vs the stage budget (flat, JSON-ready dict; powers in W).

    ``reference``: a DAC-controlled profile whose :func:`cost_report` power per qubit and qubits that fit
    are added as ``cmos_*`` (and the ratio ``cmos_over_sfq``).
    """
    if profile.sfq is None:
        raise CryoctlError("the profile has no sfq section", field="sfq")
    sfq, budget = profile.sfq, profile.cost.stage_budget_w
    c = sfq.cost
    p_static = sfq_static_power_w(c)
    p_dyn = sfq_dynamic_power_w(c, sfq.clock_ghz)
    p_qubit = p_static + p_dyn
    p_system = p_qubit * profile.qubits.count
    out: dict[str, Any] = {
        "family": c.family,
        "clock_ghz": sfq.clock_ghz,
        "temperature_k": profile.cost.temperature_k,
        "junctions_per_driver": c.junctions_per_driver,
        "switching_energy_j": switching_energy_j(c.critical_current_ua),
        "static_power_w": p_static,
        "dynamic_power_w": p_dyn,
        "power_per_qubit_w": p_qubit,
        "system_power_w": p_system,
        "stage_budget_w": budget,
        "stage_fraction": p_system / budget,
        "qubits_that_fit": math.floor(budget / p_qubit) if p_qubit > 0 else None,
        "system_fits": p_system <= budget,
        "qubits": profile.qubits.count,
        "control": "sfq",
        "bits": sfq_code_bits(profile),
        "channels_per_qubit": 1,
        "channel_power_w": p_qubit,
        "thermal_floor_w": None,
        "channel_area_mm2": None,
        "area_per_qubit_mm2": None,
        "system_area_mm2": None,
    }
    if reference is not None:
        ref = cost_report(reference)
        out["cmos_profile"] = reference.name
        out["cmos_power_per_qubit_w"] = ref["power_per_qubit_w"]
        out["cmos_qubits_that_fit"] = ref["qubits_that_fit"]
        out["cmos_over_sfq"] = ref["power_per_qubit_w"] / p_qubit if p_qubit > 0 else float("inf")
    return out
