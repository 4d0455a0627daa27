"""`cryoctl train` / `cryoctl infer` end to end (small runs, --json)."""

import json

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
