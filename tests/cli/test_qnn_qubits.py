"""`cryoctl train --qubits N` end to end: 8 qubits (pure states), 5 qubits noisy (density matrices),
and runs that would not fit in memory refused with their estimate before anything is built."""

import json

import pytest

from cryoctl.cli import main

# cryo_cmos_6bit's chip (INL from mismatch, 3 levels, readout errors) with its DAC noise, jitter, T1/T2 and
# CZ error switched off: a unitary gate table, so 8 qubits run as 3^8-amplitude pure states (105 kB each)
# instead of 3^16-entry density matrices (690 MB each).
UNITARY_8 = ["--set", "qubits.count=8", "--set", "dac.noise_v_per_sqrt_hz=0", "--set", "dac.jitter_rms_ps=0",
             "--set", "qubits.t1_us=null", "--set", "qubits.t2_us=null", "--set", "qubits.cz_error=0"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_train_8_qubits_digits_on_a_unitary_profile_then_infer(tmp_path, cache, capsys):
    out = tmp_path / "m8.json"
    rc = main(["train", "--qubits", "8", "--dataset", "digits", "--ansatz", "hea:2", "--quantizer", "profile",
               "--profile", "cryo_cmos_6bit", *UNITARY_8, "--trainer", "stochastic", "--lr", "0.2", "--epochs", "2",
               "--batch-size", "8", "--max-train", "16", "--max-test", "16", "--seed", "0", "-o", str(out), "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_qubits"] == 8 and doc["n_params"] == 2 * 2 * 8 and doc["ansatz"] == "hea:2"  # no couplings: ring
    grad, ev = doc["estimates"]
    assert (grad["mode"], grad["levels"], grad["P"], grad["B"]) == ("statevector", 3, 65, 8)
    assert grad["state_bytes"] == 16 * 3**8 and grad["chunk"] == 65 * 8 and ev["B"] == 16
    assert doc["entangler"] == "ideal" and doc["provider"].startswith("table6:")
    h = doc["history"]
    assert len(h) == 3 and h[-1]["loss"] < 0.5 * h[0]["loss"] and h[-1]["train_acc"] > h[0]["train_acc"]  # 3.29 -> 1.32
    saved = json.loads(out.read_text())
    assert saved["model"]["n_qubits"] == 8 and len(saved["codes"]) == 32
    assert main(["infer", str(out), "--bits", "6", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["ansatz"] == "hea:2" and [r["bits"] for r in res["results"]] == [None, 6]
    assert all(0.0 <= r["accuracy"] <= 1.0 and r["loss"] > 0 for r in res["results"])


def test_train_5_qubits_on_the_noisy_profile_runs_density_matrices(cache, capsys):
    rc = main(["train", "--qubits", "5", "--dataset", "digits", "--ansatz", "hea:2", "--quantizer", "profile",
               "--profile", "cryo_cmos_6bit", "--set", "qubits.count=5", "--trainer", "stochastic", "--lr", "0.1",
               "--epochs", "1", "--batch-size", "4", "--max-train", "8", "--max-test", "8", "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    grad = doc["estimates"][0]
    s = 16 * 3**10  # one 5-qubit d = 3 density matrix: 945 kB
    # exact expectations on density matrices: the Liouville-space adjoint, one parameter set, which keeps the
    # register before each of the 5 single-qubit operations of layer 2 (K = 5) plus ~4.25 working registers
    assert (grad["mode"], grad["P"], grad["B"], grad["state_bytes"]) == ("density", 1, 4, s)
    assert "adjoint" in grad["what"] and grad["peak_bytes"] == int((5 + 4.25) * 4 * s) + s + 4 * 3**5 * 8
    assert doc["entangler"] == "ideal+depol0.0066" and doc["n_params"] == 20
    assert len(doc["history"]) == 2 and doc["history"][1]["changed_frac"] > 0
    assert all(0 < h["loss"] < 20 for h in doc["history"])


def test_a_run_that_does_not_fit_is_refused_with_its_estimate(cache, capsys, monkeypatch):
    rc = main(["train", "--qubits", "12", "--dataset", "digits", "--ansatz", "hea:1", "--quantizer", "profile",
               "--profile", "cryo_cmos_6bit", "--set", "qubits.count=12", "--epochs", "1"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "does not fit in memory" in err and "12-qubit d=3 density" in err and "4.52 TB each" in err
    assert not cache.exists() or not any(cache.iterdir())  # refused before any gate table was built
    monkeypatch.setenv("CRYOCTL_MEMORY_LIMIT_GB", "0.5")
    rc = main(["train", "--qubits", "8", "--dataset", "digits", "--quantizer", "profile", "--profile",
               "cryo_cmos_6bit", "--set", "qubits.count=8", "--epochs", "1", "--json"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "689 MB each" in err and "limit 500 MB, set by CRYOCTL_MEMORY_LIMIT_GB" in err


@pytest.mark.parametrize("args,field", [(["--qubits", "13"], "--qubits"), (["--qubits", "1"], "--qubits"),
                                        (["--ansatz", "hea:0"], "ansatz"),
                                        (["--qubits", "6", "--quantizer", "profile", "--profile", "cryo_cmos_6bit"],
                                         "qubits.count")])
def test_bad_qubit_requests_exit_2_naming_the_field(args, field, cache, capsys):
    assert main(["train", "--epochs", "1", *args]) == 2
    assert f"error: {field}:" in capsys.readouterr().err
