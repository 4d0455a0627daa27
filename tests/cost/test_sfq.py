"""SFQ driver power (cryoctl/cost/sfq.py): RSFQ static = N_JJ I_b V_b, ERSFQ static = 0, dynamic = k I_c Phi_0 n f_clk."""

import math

import pytest

from cryoctl.cost.model import cost_report
from cryoctl.cost.sfq import sfq_cost_report, sfq_dynamic_power_w, sfq_static_power_w, switching_energy_j
from cryoctl.errors import CryoctlError
from cryoctl.profile import load_profile

PHI0 = 6.62607015e-34 / (2 * 1.602176634e-19)  # h / 2e, SI-exact


def test_switching_energy_is_ic_times_phi0():
    assert switching_energy_j(100.0) == pytest.approx(100e-6 * PHI0, rel=1e-9)
    assert switching_energy_j(100.0) == pytest.approx(2.0678e-19, rel=1e-4)


def test_ersfq_static_power_is_zero_and_rsfq_is_junctions_times_bias_power():
    ers, rs = load_profile("sfq_ersfq"), load_profile("sfq_rsfq")
    assert sfq_static_power_w(ers.sfq.cost) == 0.0
    c = rs.sfq.cost
    assert c.family == "rsfq"
    assert sfq_static_power_w(c) == pytest.approx(c.junctions_per_driver * c.bias_current_ua * 1e-6 * c.bias_voltage_mv * 1e-3)
    assert sfq_static_power_w(c) == pytest.approx(0.25e-3)  # 1000 x 100 uA x 2.5 mV
    doubled = load_profile("sfq_rsfq", ["sfq.cost.junctions_per_driver=2000"])
    assert sfq_static_power_w(doubled.sfq.cost) == pytest.approx(2 * sfq_static_power_w(c))


def test_dynamic_power_and_qubits_that_fit():
    ers, rs = load_profile("sfq_ersfq"), load_profile("sfq_rsfq")
    e_sw = 100e-6 * PHI0
    # ERSFQ: factor 2 x E_sw x 50 switchings per tick x 20 GHz = 0.41 uW per qubit
    assert sfq_dynamic_power_w(ers.sfq.cost, 20.0) == pytest.approx(2 * e_sw * 50 * 20e9, rel=1e-9)
    assert sfq_dynamic_power_w(rs.sfq.cost, 20.0) == pytest.approx(e_sw * 50 * 20e9, rel=1e-9)
    r_e, r_r = sfq_cost_report(ers), sfq_cost_report(rs)
    assert r_e["static_power_w"] == 0.0 and r_e["power_per_qubit_w"] == pytest.approx(r_e["dynamic_power_w"])
    assert r_r["power_per_qubit_w"] == pytest.approx(0.25e-3 + e_sw * 50 * 20e9)
    assert r_r["qubits_that_fit"] == math.floor(1.5 / r_r["power_per_qubit_w"]) == 5995
    assert r_e["qubits_that_fit"] == math.floor(1.5 / r_e["power_per_qubit_w"])
    assert r_r["system_power_w"] == pytest.approx(4 * r_r["power_per_qubit_w"])
    # dynamic power scales with the clock
    fast = load_profile("sfq_ersfq", ["sfq.clock_ghz=40.0", "sfq.clock_per_qubit=8.0"])
    assert sfq_cost_report(fast)["dynamic_power_w"] == pytest.approx(2 * r_e["dynamic_power_w"])


def test_report_puts_the_cmos_dac_numbers_beside_it():
    cmos = load_profile("cryo_cmos_6bit")
    r = sfq_cost_report(load_profile("sfq_rsfq"), reference=cmos)
    ref = cost_report(cmos)
    assert r["cmos_power_per_qubit_w"] == ref["power_per_qubit_w"] and r["cmos_qubits_that_fit"] == ref["qubits_that_fit"]
    assert r["cmos_over_sfq"] == pytest.approx(ref["power_per_qubit_w"] / r["power_per_qubit_w"])
    assert r["cmos_over_sfq"] > 1  # 1.1 mW (6-bit cryo-CMOS pair) vs 0.25 mW (RSFQ driver)


def test_profile_without_sfq_is_a_user_error():
    with pytest.raises(CryoctlError) as e:
        sfq_cost_report(load_profile("ideal"))
    assert e.value.field == "sfq"
