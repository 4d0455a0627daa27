"""The `rb` study task: a real store, results equal to the circuit layer called directly, resume, errors."""

import numpy as np
import pytest

from cryoctl.circuit.rb import table_rb
from cryoctl.errors import CryoctlError
from cryoctl.gates import load_or_build
from cryoctl.profile import HardwareProfile, load_profile
from cryoctl.study import ResultStore, load_study_spec, run_study
from cryoctl.study.tasks import get_task, validate_task

LENGTHS = [1, 4, 16, 64, 256, 1024]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))


def test_rb_task_in_a_real_store_matches_the_circuit_layer_and_resumes(tmp_path):
    spec_path = tmp_path / "rb.yaml"
    spec_path.write_text(f"""
name: rb
profiles: [cryo_cmos_6bit]
set: {{qubits.count: 1}}
grid: {{dac.bits: [4, 6]}}
seeds: [2]
tasks:
  - {{kind: rb, sequences: 6, lengths: {LENGTHS}}}
  - {{kind: rb, sequences: 6, lengths: {LENGTHS}, qubit: 3}}
""")
    store = tmp_path / "rb.sqlite"
    s = run_study(load_study_spec(spec_path), store, workers=0, progress=False)
    assert (s.done, s.errors) == (2, 2)
    with ResultStore(store, create=False) as st:
        rows = st.rows()
    done = [r for r in rows if r["status"] == "done"]
    for r in done:
        bits = r["spec"]["profile"]["dac"]["bits"]
        prof = HardwareProfile.model_validate(r["spec"]["profile"])  # what the worker ran
        assert prof == load_profile("cryo_cmos_6bit", {"qubits.count": 1, "dac.bits": bits})
        want = table_rb(load_or_build(prof, "fast", 2), 0, LENGTHS, 6, rng=np.random.default_rng(2))
        res = r["result"]
        assert res["bits"] == bits and res["qubit"] == 0
        for metric in get_task("rb").metrics:
            assert np.isfinite(res[metric])
        assert res["epc"] == want.epc and res["epc_err"] == want.epc_err
        assert res["leakage_per_clifford"] == want.leak_fit.L1
        assert res["clifford_infidelity"] == want.clifford_infidelity
    by_bits = {r["spec"]["profile"]["dac"]["bits"]: r["result"] for r in done}
    # 4 bits: the pi/2 pulse is 4 codes with 2 % unit mismatch -> several times the 6-bit error
    assert by_bits[4]["clifford_infidelity"] > 3 * by_bits[6]["clifford_infidelity"]
    diff, err = by_bits[4]["epc"] - by_bits[6]["epc"], np.hypot(by_bits[4]["epc_err"], by_bits[6]["epc_err"])
    assert diff > 2 * err  # RB resolves it with 6 sequences per length
    errors = [r for r in rows if r["status"] == "error"]
    assert all("rb.qubit" in r["error"] and "out of range" in r["error"] for r in errors)
    again = run_study(load_study_spec(spec_path), store, workers=0, progress=False)
    assert (again.skipped, again.done) == (2, 0)  # finished points are not recomputed; errors are retried


def test_rb_params_are_validated():
    assert validate_task({"kind": "rb"})["lengths"] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]
    for bad, field in [({"sequences": 1}, "sequences"), ({"qubit": -1}, "qubit"), ({"seqs": 3}, "seqs")]:
        with pytest.raises(CryoctlError) as exc:
            validate_task({"kind": "rb", **bad})
        assert exc.value.field == f"task.{field}"
