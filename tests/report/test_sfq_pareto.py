"""CMOS and SFQ designs on one Pareto front: a real small study (one cryo-CMOS and one SFQ profile, the Iris
QNN on each one's emulated hardware, cost), stored, reported; the report's cost figures are the SFQ driver's."""

import math

import pytest

from cryoctl.cost import cost_report
from cryoctl.cost.sfq import sfq_dynamic_power_w, sfq_static_power_w
from cryoctl.profile import load_profile
from cryoctl.report import build_report
from cryoctl.report.data import load_records, quality_points
from cryoctl.study import parse_study_spec, run_study

PHI0 = 2.067833848e-15


def test_cost_report_of_an_sfq_profile_is_the_driver_power():
    """ERSFQ static power is zero; RSFQ's is junctions x I_b x V_b; the keys are those the report plots."""
    e, r = cost_report(load_profile("sfq_ersfq")), cost_report(load_profile("sfq_rsfq"))
    assert e["control"] == r["control"] == "sfq" and e["bits"] == r["bits"] == 8  # compiled table, code_bits 8
    assert e["static_power_w"] == 0.0
    assert e["power_per_qubit_w"] == pytest.approx(2 * 100e-6 * PHI0 * 50 * 20e9, rel=1e-6)  # 0.41 uW dynamic
    assert r["static_power_w"] == pytest.approx(1000 * 100e-6 * 2.5e-3)  # 0.25 mW
    assert r["power_per_qubit_w"] == pytest.approx(0.25e-3 + 100e-6 * PHI0 * 50 * 20e9, rel=1e-9)
    c = load_profile("sfq_rsfq").sfq.cost
    assert r["power_per_qubit_w"] == sfq_static_power_w(c) + sfq_dynamic_power_w(c, 20.0)
    assert r["system_power_w"] == pytest.approx(4 * r["power_per_qubit_w"]) and r["channels_per_qubit"] == 1
    assert r["area_per_qubit_mm2"] is None and r["thermal_floor_w"] is None
    # a resonant table's control word: 1 + bit_length(round(pi / dtheta)) = 8 bits at dtheta = 0.0297
    assert cost_report(load_profile("sfq_ersfq", ["sfq.table=resonant"]))["bits"] == 8
    assert cost_report(load_profile("sfq_ersfq", ["sfq.table=resonant", "sfq.coupling_capacitance_af=null",
                                                  "sfq.qubit_capacitance_ff=null", "sfq.tip_angle_rad=0.3"]))["bits"] == 5
    assert "control" not in cost_report(load_profile("cryo_cmos_6bit"))


def test_cmos_and_sfq_designs_share_one_pareto_front(tmp_path, monkeypatch):
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))
    spec = parse_study_spec({
        "name": "cmos_vs_sfq_small", "profiles": ["cryo_cmos_4bit", "sfq_rsfq", "sfq_ersfq"], "seeds": [0],
        "tasks": [{"kind": "cost"},
                  {"kind": "qnn_infer", "dataset": "iris", "ansatz": "compact16", "epochs": 30, "n_noise_draws": 2}],
    })
    s = run_study(spec, tmp_path / "s.sqlite", workers=1, progress=False)  # in-process: no worker start-up
    assert (s.points, s.done, s.errors) == (6, 6, 0), s.error_messages
    records, errors = load_records(tmp_path / "s.sqlite")
    assert not errors
    cost = {r["profile"]: r for r in records if r["kind"] == "cost"}
    # the cost task stores the SFQ driver's power for the SFQ profiles, the DAC's for the CMOS one
    assert cost["sfq_ersfq"]["result.static_power_w"] == 0.0
    assert cost["sfq_rsfq"]["result.static_power_w"] == pytest.approx(0.25e-3)
    assert cost["cryo_cmos_4bit"]["control"] == "dac" and cost["sfq_rsfq"]["control"] == "sfq"
    name, pts = quality_points(records)
    assert name == "accuracy"
    by = {p["profile"]: p for p in pts}
    assert set(by) == {"cryo_cmos_4bit", "sfq_rsfq", "sfq_ersfq"}
    assert {p["control"] for p in pts} == {"dac", "sfq"}
    assert by["sfq_rsfq"]["power_per_qubit_w"] == pytest.approx(0.25e-3 + 100e-6 * PHI0 * 50 * 20e9)
    cmos_p = cost_report(load_profile("cryo_cmos_4bit"))["power_per_qubit_w"]
    assert by["cryo_cmos_4bit"]["power_per_qubit_w"] == cmos_p and cmos_p > by["sfq_rsfq"]["power_per_qubit_w"]
    # the ERSFQ driver is the cheapest design: on the front whatever its accuracy; every design is ranked on
    # one front (a DAC design is on it only if it beats the SFQ ones' accuracy)
    assert by["sfq_ersfq"]["pareto_power"] and by["sfq_ersfq"]["pareto_stage_power"]
    best_sfq = max(by["sfq_ersfq"]["quality"], by["sfq_rsfq"]["quality"])
    assert by["cryo_cmos_4bit"]["pareto_power"] == (by["cryo_cmos_4bit"]["quality"] > best_sfq)
    for p in pts:
        assert 0.3 < p["quality"] <= 1.0 and math.isfinite(p["wall_plug_per_qubit_w"])
    # no area model for the SFQ driver: only the DAC design is on the area front
    assert by["cryo_cmos_4bit"]["pareto_area"] and not by["sfq_rsfq"]["pareto_area"]
    rep = build_report(tmp_path / "s.sqlite", tmp_path / "out")
    assert rep["plots"]["plot-pareto-power"] and rep["plots"]["plot-cost-vs-bits"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "sfq_ersfq" in html and "cryo_cmos_4bit" in html
