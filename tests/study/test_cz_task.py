"""Study task `cz`: the realized flux CZ swept over flux-DAC bits, stored in a real SQLite store."""

import pytest

from cryoctl.study import ResultStore, get_task, load_study_spec, run_study

SPEC = """
name: cz_bits
profiles: [cryo_cmos_6bit_flux]
set: {couplings: [{qubits: [0, 1], j_mhz: 10.0}, {qubits: [1, 2], j_mhz: 11.0}]}
grid: {flux.dac.bits: [8, 12]}
seeds: [0]
tasks:
  - {kind: cz, n_noise_draws: 2}
"""

@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cz_study")
    (tmp / "s.yaml").write_text(SPEC)
    summary = run_study(load_study_spec(tmp / "s.yaml"), tmp / "s.sqlite", workers=0, progress=False)
    with ResultStore(tmp / "s.sqlite", create=False) as st:
        rows = st.rows()
    return summary, rows

def test_cz_task_sweeps_flux_bits_into_the_store(stored):
    summary, rows = stored
    assert (summary.points, summary.done) == (2, 2)
    assert all(r["status"] == "done" for r in rows), [r["error"] for r in rows]
    res = {r["result"]["flux_bits"]: r["result"] for r in rows}
    assert sorted(res) == [8, 12]
    coarse, fine = res[8], res[12]
    for r in (coarse, fine):
        assert len(r["pairs"]) == 2 and {tuple(p["qubits"]) for p in r["pairs"]} == {(0, 1), (1, 2)}
        # mean and worst pair are what the per-pair rows say
        inf = [p["infidelity"] for p in r["pairs"]]
        assert r["cz_infidelity"] == pytest.approx(sum(inf) / 2, rel=1e-12)
        assert r["cz_infidelity_max"] == pytest.approx(max(inf), rel=1e-12)
        assert r["cz_leakage_max"] >= r["cz_leakage"] > 0
        assert r["cond_phase_error_max_rad"] >= r["cond_phase_error_rad"] >= 0
        # a ~pi / (sqrt(2) J) pulse + rise + buffer: 35 ns (J = 10 MHz) + 5 + 2, on the 1 GS/s grid
        assert 38.0 <= r["gate_time_ns"] <= 50.0 and r["gate_time_max_ns"] >= r["gate_time_ns"]
        # T1 = 50 us on both qubits: at least (4/5) T / T1 ~ 7e-4 of the 1 - F is decoherence
        assert r["cz_infidelity"] >= 0.8 * r["gate_time_ns"] / 50_000.0
    # 8 flux bits: ~25 MHz per code -> a coarse CZ; 12 bits: ~1.6 MHz per code.
    # measured: 1 - F 6e-2 (8 bits) vs 2.4e-3 (12 bits)
    assert coarse["cz_infidelity"] > 5 * fine["cz_infidelity"]
    assert fine["cz_infidelity"] < 1e-2 and coarse["cz_infidelity"] > 1e-2
    assert coarse["pairs"][0]["mhz_per_code"] == pytest.approx(16 * fine["pairs"][0]["mhz_per_code"], rel=0.1)

def test_cz_task_needs_a_flux_profile(tmp_path):
    kind = get_task("cz")
    assert set(kind.metrics) >= {"cz_infidelity", "cz_leakage", "cond_phase_error_rad", "gate_time_ns"}
    (tmp_path / "s.yaml").write_text("name: x\nprofiles: [cryo_cmos_6bit]\ntasks: [{kind: cz}]\n")
    run_study(load_study_spec(tmp_path / "s.yaml"), tmp_path / "x.sqlite", workers=0, progress=False)
    with ResultStore(tmp_path / "x.sqlite", create=False) as st:
        (row,) = st.rows()
    assert row["status"] == "error" and "flux" in row["error"]
