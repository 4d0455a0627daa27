"""`cryoctl train|infer --backend numpy|jax`: the JAX backend gives the numpy run's numbers; bad names and a
missing JAX are user errors (exit 2) naming --backend and the install command."""

import json
import sys

import pytest

from cryoctl.cli import main

TRAIN = ["train", "--dataset", "iris", "--trainer", "stochastic", "--bits", "6", "--epochs", "2", "--seed", "1",
         "--max-train", "40", "--max-test", "20", "--json"]


def test_train_and_infer_on_jax_equal_numpy(tmp_path, capsys):
    pytest.importorskip("jax")
    docs = {}
    for backend in ("numpy", "jax"):
        out = tmp_path / f"{backend}.json"
        assert main([*TRAIN, "--backend", backend, "-o", str(out)]) == 0
        docs[backend] = json.loads(capsys.readouterr().out)
        assert docs[backend]["backend"] == backend
    for a, b in zip(docs["numpy"]["history"], docs["jax"]["history"]):
        assert abs(a["loss"] - b["loss"]) < 1e-10
        assert (a["train_acc"], a["test_acc"], a["changed_frac"]) == (b["train_acc"], b["test_acc"], b["changed_frac"])
    assert json.loads((tmp_path / "numpy.json").read_text())["codes"] == json.loads((tmp_path / "jax.json").read_text())["codes"]
    res = {}
    for backend in ("numpy", "jax"):
        assert main(["infer", str(tmp_path / "numpy.json"), "--bits", "3..4", "--backend", backend, "--json"]) == 0
        res[backend] = json.loads(capsys.readouterr().out)["results"]
    for a, b in zip(res["numpy"], res["jax"]):
        assert a["accuracy"] == b["accuracy"] and abs(a["loss"] - b["loss"]) < 1e-10


def test_bad_backend_and_missing_jax_exit_2(monkeypatch, capsys):
    assert main([*TRAIN, "--backend", "torch"]) == 2
    assert "--backend" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "jax", None)  # import jax now raises ImportError
    monkeypatch.delitem(sys.modules, "cryoctl.circuit.jax_backend", raising=False)
    assert main([*TRAIN, "--backend", "jax"]) == 2
    err = capsys.readouterr().err
    assert "pip install cryoctl[jax]" in err
