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
    assert saved["bits"] == 6 and len(saved["codes"]) == 16 and saved["trainer"]["trainer"] == "stochastic"
    rc = main(["infer", str(out), "--bits", "2..4", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)["results"]
    assert [r["bits"] for r in res] == [None, 2, 3, 4]
    assert all(0 <= r["accuracy"] <= 1 for r in res)


def test_user_errors_exit_2(tmp_path, capsys):
    assert main(["train", "--dataset", "cifar", "--epochs", "1", "--json"]) == 2
    assert "dataset" in capsys.readouterr().err
    assert main(["train", "--trainer", "round", "--epochs", "1", "--json"]) == 2  # round needs --bits
    assert main(["infer", str(tmp_path / "missing.json"), "--json"]) == 2
