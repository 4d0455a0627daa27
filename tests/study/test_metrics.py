"""A study point is never stored "done" without its metrics; the one JSON cleaner."""

import dataclasses
import json
import math

import numpy as np
import pytest

from cryoctl.gates import load_or_build, load_table, save_table
from cryoctl.profile import load_profile
from cryoctl.study import ResultStore, TaskParams, load_study_spec, register_task, run_study, study_status
from cryoctl.study.tasks import get_task, json_ready, result_problem

BEHAVIOUR = {"value": float("nan")}


class _Metric(TaskParams):
    kind: str = "test.metric"


def _metric_task(prof, params, seed):
    return {"score": BEHAVIOUR["value"], "bits": prof.dac.bits, "note": None}


register_task("test.metric", _metric_task, _Metric, uses_seed=False, metrics=("score",))


def _spec(tmp_path, kind="test.metric", extra="", bits="'3..4'"):
    p = tmp_path / "m.yaml"
    p.write_text(f"name: m\nprofiles: [ideal]\ngrid: {{dac.bits: {bits}}}\n{extra}tasks: [{{kind: {kind}}}]\n")
    return load_study_spec(p)


def _rows(store):
    with ResultStore(store, create=False) as st:
        return {r["key"]: r for r in st.rows()}


@pytest.mark.parametrize("bad", [float("nan"), None, np.float64("nan"), float("inf"), "0.9"])
def test_a_task_returning_nan_or_no_metric_is_stored_as_an_error_and_retried(tmp_path, bad):
    spec, store = _spec(tmp_path), tmp_path / "m.sqlite"
    BEHAVIOUR["value"] = bad
    s = run_study(spec, store, workers=0, progress=False)
    assert (s.points, s.done, s.errors) == (2, 0, 2)
    rows = _rows(store)
    assert all(r["status"] == "error" and r["result"] is None for r in rows.values())
    assert all("metric 'score'" in r["error"] and "retried" in r["error"] for r in rows.values())
    st = study_status(spec, store)
    assert (st["done"], st["error"], st["pending"]) == (0, 2, 0)
    # the next run retries them; once the task gives a number they are done, with it
    BEHAVIOUR["value"] = 0.75
    s2 = run_study(spec, store, workers=0, progress=False)
    assert (s2.skipped, s2.done, s2.errors) == (0, 2, 0)
    rows = _rows(store)
    assert all(r["status"] == "done" and r["result"]["score"] == 0.75 and r["attempts"] == 2 for r in rows.values())
    assert sorted(r["result"]["bits"] for r in rows.values()) == [3, 4]
    assert all(r["result"]["note"] is None for r in rows.values())  # a None outside the metrics is fine


def test_pool_workers_check_the_result_too(tmp_path):
    spec, store = _spec(tmp_path), tmp_path / "p.sqlite"
    BEHAVIOUR["value"] = float("nan")
    s = run_study(spec, store, workers=2, progress=False)  # forked workers see the registered kind
    assert (s.done, s.errors) == (0, 2)


def test_done_rows_stored_without_metrics_are_reopened_and_recomputed(tmp_path):
    """A store written before this check holds 'done' rows with null metrics: they are recomputed."""
    spec, store = _spec(tmp_path), tmp_path / "legacy.sqlite"
    BEHAVIOUR["value"] = 0.5
    run_study(spec, store, workers=0, progress=False)
    rows = _rows(store)
    legacy_key = sorted(rows)[0]
    with ResultStore(store) as st:  # what the old code did with a NaN metric: 'done', result with null
        st._conn.execute("UPDATE results SET result = ? WHERE key = ?", (json.dumps({"score": None, "bits": 3}), legacy_key))
    st = study_status(spec, store)
    assert (st["done"], st["error"]) == (1, 1)
    assert st["errors"][0]["key"] == legacy_key and "without its metrics" in st["errors"][0]["error"]
    BEHAVIOUR["value"] = 0.25
    s = run_study(spec, store, workers=0, progress=False)
    assert (s.skipped, s.done, s.errors) == (1, 1, 0)
    after = _rows(store)
    assert after[legacy_key]["result"]["score"] == 0.25 and after[legacy_key]["attempts"] == 2
    other = next(k for k in after if k != legacy_key)
    assert after[other]["result"]["score"] == 0.5 and after[other]["attempts"] == 1  # untouched


def test_store_refuses_a_done_row_without_result(tmp_path):
    row = {"key": "k", "study": "s", "kind": "cost", "profile": "p", "seed": None, "spec": {}, "result": None,
           "status": "done", "error": None, "started_at": 0.0, "finished_at": 1.0, "elapsed_s": 1.0, "worker": "w"}
    with ResultStore(tmp_path / "s.sqlite") as st:
        with pytest.raises(ValueError, match="needs its result"):
            st.put(row)
        assert st.count() == 0


def test_result_problem_rules():
    kind = get_task("test.metric")
    assert result_problem(kind, {"score": 1}) is None
    assert result_problem(kind, {"score": 1.0, "other": float("inf"), "n": None}) is None
    assert "NaN" in result_problem(kind, {"score": 1.0, "other": float("nan")})
    assert "missing" in result_problem(kind, {"other": 1.0})
    assert "expected a finite number" in result_problem(kind, {"score": True})
    assert "no metrics" in result_problem(get_task("debug.echo"), {})
    assert "list" in result_problem(kind, [1.0])
    gates = get_task("gates")
    assert {"fidelity_mean", "leakage_max", "pi_error_mean"} <= set(gates.metrics)
    assert "system_power_w" in get_task("cost").metrics


def test_gates_point_with_a_nan_cache_file_is_done_with_finite_metrics(tmp_path, monkeypatch):
    """The measured failure: a NaN in the gate-table cache gave a 'done' point with null metrics."""
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))
    prof = load_profile("ideal", ["dac.bits=3", "qubits.count=1"])
    good = load_or_build(prof)
    (path,) = (tmp_path / "cache").glob("gates-*.npz")
    ops = {k: v.copy() for k, v in good.ops.items()}
    ops["x"][0, 2] = np.nan
    save_table(dataclasses.replace(good, ops=ops), path)
    spec = _spec(tmp_path, kind="gates", extra="set: {qubits.count: 1}\n", bits=3)
    s = run_study(spec, tmp_path / "g.sqlite", workers=0, progress=False)
    assert (s.done, s.errors) == (1, 0)
    (row,) = _rows(tmp_path / "g.sqlite").values()
    assert all(math.isfinite(row["result"][m]) for m in get_task("gates").metrics)
    assert row["result"]["fidelity_mean"] == pytest.approx(1.0, abs=0.05)
    assert np.isfinite(load_table(path).ops["x"]).all()  # the cache file was replaced


def test_json_ready_is_the_one_cleaner():
    from pydantic import BaseModel

    class M(BaseModel):
        a: float = 1.5

    data = {1: np.float32(0.5), "arr": np.arange(3), "nan": float("nan"), "inf": np.inf, "t": (np.int64(2), M()),
            "b": np.bool_(True)}
    out = json_ready(data)
    assert out == {"1": 0.5, "arr": [0, 1, 2], "nan": None, "inf": math.inf, "t": [2, {"a": 1.5}], "b": True}
    assert type(out["t"][0]) is int and type(out["b"]) is bool
    assert json.loads(json.dumps(out)) == out
    strict = json_ready(data, strict=True)
    assert strict["inf"] is None and strict["nan"] is None
    json.dumps(strict, allow_nan=False)  # strict JSON
