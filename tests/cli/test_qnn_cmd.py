"""`cryoctl train` / `cryoctl infer` end to end (small runs, --json)."""

import json

import pytest

from cryoctl.cli import main


def test_train_then_infer_json(tmp_path, capsys):
    out = tmp_path / "m.json"
    rc = main(["train", "--dataset", "iris", "--trainer", "stochastic", "--bits", "6", "--epochs", "2",
               "--seed", "1", "-o", str(out), "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["provider"] == "ideal6" and len(doc["history"]) == 3
    saved = json.loads(out.read_text())
    assert saved["grid"]["bits"] == 6 and len(saved["codes"]) == 16 and saved["trainer"]["trainer"] == "stochastic"
    assert saved["grid"]["provider"] == "ideal6" and all(isinstance(c, int) for c in saved["codes"])
    rc = main(["infer", str(out), "--bits", "2..6", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)["results"]
    assert [r["bits"] for r in res] == [None, 2, 3, 4, 5, 6]
    assert all(0 <= r["accuracy"] <= 1 for r in res)
    # on its own grid the model plays its codes: the accuracy it was trained to
    assert res[-1]["accuracy"] == doc["final"]["test_acc"]


def test_user_errors_exit_2(tmp_path, capsys):
    assert main(["train", "--dataset", "cifar", "--epochs", "1", "--json"]) == 2
    assert "dataset" in capsys.readouterr().err
    assert main(["train", "--trainer", "round", "--epochs", "1", "--json"]) == 2  # round needs --bits
    assert main(["infer", str(tmp_path / "missing.json"), "--json"]) == 2


def test_infer_on_a_profile_sweeps_the_bits_on_the_emulated_hardware(tmp_path, monkeypatch, capsys):
    """Issue 4: a float-trained model evaluated on a profile at any bit width (the hardware elbow)."""
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "f.json"
    assert main(["train", "--dataset", "iris", "--epochs", "15", "-o", str(out), "--json"]) == 0
    capsys.readouterr()
    assert main(["infer", str(out), "--bits", "2..3", "--profile", "cryo_cmos_4bit", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)["results"]
    hw = {r["bits"]: r for r in res if r["provider"] == "profile:cryo_cmos_4bit"}
    assert sorted(hw) == [2, 3, 4] and len({r["profile_hash"] for r in hw.values()}) == 3
    float_acc = res[0]["accuracy"]
    assert hw[2]["accuracy"] < hw[4]["accuracy"] <= float_acc + 0.05  # the hardware elbow: 2 bits is far worse


FLUX_RING_YAML = """
extends: ideal
name: flux_ring
dac: {bits: 8}
qubits: {count: 4}
couplings: [{qubits: [0, 1], j_mhz: 10.0}, {qubits: [1, 2], j_mhz: 10.0}, {qubits: [2, 3], j_mhz: 10.0},
            {qubits: [3, 0], j_mhz: 10.0}]
flux:
  dac: {bits: 14}
  full_scale_phi0: 0.25
  qubits: [{index: 0, f_max_ghz: 6.0}, {index: 1, f_max_ghz: 5.0, asymmetry: 1.0},
           {index: 2, f_max_ghz: 6.1}, {index: 3, f_max_ghz: 5.05, asymmetry: 1.0}]
"""


def test_train_and_infer_on_a_flux_profile_use_the_realized_cz(tmp_path, monkeypatch, capsys):
    """A 4-qubit flux profile with a coupled ring: train/infer run the realized CZ by default, --entangler ideal
    forces the ideal one, and a 6-bit flux DAC (--set flux.dac.bits=6) raises the loss of the same model."""
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))
    prof = tmp_path / "flux_ring.yaml"
    prof.write_text(FLUX_RING_YAML)
    out = tmp_path / "m.json"
    assert main(["train", "--dataset", "iris", "--quantizer", "profile", "--profile", str(prof), "--epochs", "2",
                 "--seed", "0", "-o", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["entangler"] == "realized" and doc["provider"].startswith("table8")
    assert json.loads(out.read_text())["entangler"] == "realized"
    assert doc["final"]["loss"] < doc["start"]["loss"]  # measured: 2.24 -> 0.66
    runs = {}
    for name, extra in (("realized", []), ("ideal", ["--entangler", "ideal"])):
        assert main(["infer", str(out), "--bits", "8", "--profile", str(prof), "--json", *extra]) == 0
        rows = [r for r in json.loads(capsys.readouterr().out)["results"] if r["provider"] == "profile:flux_ring"]
        assert len(rows) == 1
        runs[name] = rows[0]
    assert runs["realized"]["entangler"] == "realized" and runs["ideal"]["entangler"] == "ideal"
    # the model plays its own codes on its own table: the test accuracy it was trained to
    assert runs["realized"]["accuracy"] == doc["final"]["test_acc"]
    assert abs(runs["realized"]["loss"] - runs["ideal"]["loss"]) < 0.01  # measured 0.743 vs 0.746 (14 flux bits: 1 - F ~ 2e-4 per CZ)
    # a float-trained model on the same profile: a 6-bit flux DAC raises the loss (conditional-phase errors up
    # to 2 rad, tests/qnn/test_realized_cz.py)
    fl = tmp_path / "f.json"
    assert main(["train", "--dataset", "iris", "--epochs", "15", "-o", str(fl), "--json"]) == 0
    capsys.readouterr()
    loss = {}
    for fb in (14, 6):
        assert main(["infer", str(fl), "--bits", "8", "--profile", str(prof), "--set", f"flux.dac.bits={fb}",
                     "--json"]) == 0
        loss[fb] = next(r["loss"] for r in json.loads(capsys.readouterr().out)["results"]
                        if r["provider"] == "profile:flux_ring")
    assert loss[6] > loss[14] + 0.05  # measured: 0.209 (14 bits) -> 0.359 (6 bits); accuracy 0.956 -> 0.867
    # the realized CZ needs a flux profile; a bad entangler name is a user error
    assert main(["infer", str(out), "--bits", "4", "--profile", "ideal", "--entangler", "realized", "--json"]) == 2
    assert "flux" in capsys.readouterr().err
    assert main(["train", "--epochs", "1", "--entangler", "best", "--json"]) == 2
    assert "--entangler" in capsys.readouterr().err
