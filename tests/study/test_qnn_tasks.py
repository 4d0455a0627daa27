"""QNN study tasks agree with the QNN layer called directly, and model files are keyed by content."""

import json

import numpy as np
import pytest

from cryoctl.errors import CryoctlError
from cryoctl.study import ResultStore, expand_points, load_study_spec, run_study


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CRYOCTL_CACHE", str(tmp_path / "cache"))


def _rows(store):
    with ResultStore(store, create=False) as st:
        return st.rows()


def test_qnn_infer_matches_the_qnn_layer(tmp_path):
    from cryoctl.circuit import ExactProvider, Executor, IdealCZ, IdealQuantizer, Readout, TableProvider
    from cryoctl.gates import load_or_build
    from cryoctl.profile import load_profile
    from cryoctl.qnn import QNNModel, TrainConfig, evaluate, evaluate_angles, load_dataset, train

    spec_path = tmp_path / "q.yaml"
    spec_path.write_text("""
name: q
profiles: [cryo_cmos_4bit]
set: {readout.p01: 0.0, readout.p10: 0.0}
grid: {dac.bits: [3, 4]}
seeds: [1]
tasks:
  - {kind: qnn_infer, dataset: iris, epochs: 5, provider: ideal}
  - {kind: qnn_infer, dataset: iris, epochs: 5, provider: hardware, n_noise_draws: 2}
""")
    s = run_study(load_study_spec(spec_path), tmp_path / "q.sqlite", workers=0, progress=False)
    assert (s.done, s.errors) == (4, 0)

    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, ds.n_classes)
    angles = train(model, ds, Executor(ExactProvider(2)), TrainConfig(trainer="float", epochs=5, seed=1)).angles
    float_acc = evaluate(model, angles, ds)["accuracy"]
    for r in _rows(tmp_path / "q.sqlite"):
        bits = r["spec"]["profile"]["dac"]["bits"]
        prof = load_profile("cryo_cmos_4bit", {"readout.p01": 0.0, "readout.p10": 0.0, "dac.bits": bits})
        if r["spec"]["task"]["provider"] == "ideal":
            ref = evaluate_angles(model, angles, ds, Executor(IdealQuantizer(bits)))
        else:
            table = load_or_build(prof, "fast", 1, n_noise_draws=2)
            ex = Executor(TableProvider(table), entangler=IdealCZ(prof.qubits.cz_error),
                          readout=Readout.from_profile(prof))
            ref = evaluate(model, ex.encode_params(model.circuit, angles), ds, ex, rng=np.random.default_rng(1))
        assert r["result"]["accuracy"] == ref["accuracy"] and r["result"]["loss"] == ref["loss"]
        assert r["result"]["float_accuracy"] == float_acc and r["result"]["bits"] == bits


def test_qnn_model_file_is_keyed_by_content_and_train_task_runs(tmp_path):
    from cryoctl.circuit import ExactProvider, Executor
    from cryoctl.qnn import QNNModel, TrainConfig, load_dataset, model_document, save_model, train

    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, ds.n_classes)
    res = train(model, ds, Executor(ExactProvider(2)), TrainConfig(trainer="float", epochs=2, seed=0))
    (tmp_path / "models").mkdir()
    mpath = tmp_path / "models" / "m.json"
    save_model(mpath, model_document(model, res, dataset={"name": "iris", "seed": 0, "test_fraction": 0.3}))
    spec_path = tmp_path / "m.yaml"
    spec_path.write_text("""
name: m
profiles: [ideal]
grid: {dac.bits: [3]}
tasks:
  - {kind: qnn_infer, model: models/m.json, provider: ideal}
  - {kind: qnn_train, trainer: stochastic, epochs: 1, provider: ideal}
""")
    spec = load_study_spec(spec_path)
    keys = [p.key for p in expand_points(spec)]
    s = run_study(spec, tmp_path / "m.sqlite", workers=0, progress=False)
    assert (s.done, s.errors) == (2, 0), s.error_messages
    rows = {r["kind"]: r for r in _rows(tmp_path / "m.sqlite")}
    assert rows["qnn_infer"]["spec"]["task"]["model"] == "models/m.json"  # stored as written, keyed by content
    assert "model_sha" in rows["qnn_infer"]["spec"]["task"]
    tr = rows["qnn_train"]["result"]
    assert tr["accuracy"] == tr["history"][-1]["test_acc"] and len(tr["history"]) == 2
    # a different model file under the same name is a different point
    doc = json.loads(mpath.read_text())
    doc["angles"][0] += 0.1
    mpath.write_text(json.dumps(doc))
    keys2 = [p.key for p in expand_points(load_study_spec(spec_path))]
    assert keys2[1] == keys[1] and keys2[0] != keys[0]
    mpath.unlink()
    with pytest.raises(CryoctlError, match=r"tasks\[0\]\.model.*cannot read model file"):
        expand_points(load_study_spec(spec_path))


def test_qnn_task_spec_errors():
    from cryoctl.study import parse_study_spec

    with pytest.raises(CryoctlError, match=r"tasks\[0\].*unknown dataset 'irises'"):
        parse_study_spec({"name": "x", "profiles": ["ideal"], "tasks": [{"kind": "qnn_infer", "dataset": "irises"}]})
    with pytest.raises(CryoctlError, match=r"tasks\[0\]\.trainer"):
        parse_study_spec({"name": "x", "profiles": ["ideal"], "tasks": [{"kind": "qnn_train", "trainer": "magic"}]})


def test_qnn_infer_plays_a_code_trained_model_on_its_own_grid(tmp_path):
    """A model trained on the 3-bit grid is played with its stored codes where the grid matches (its
    trained accuracy, exactly), and re-encoded from its angles elsewhere (4 bits)."""
    from cryoctl.circuit import Executor, IdealQuantizer
    from cryoctl.qnn import QNNModel, TrainConfig, evaluate_angles, load_dataset, model_document, save_model, train

    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, ds.n_classes)
    res = train(model, ds, Executor(IdealQuantizer(3)), TrainConfig(trainer="stochastic", epochs=2, seed=0))
    save_model(tmp_path / "m.json", model_document(model, res, dataset={"name": "iris", "seed": 0}, quantizer="ideal"))
    spec_path = tmp_path / "c.yaml"
    spec_path.write_text("""
name: c
profiles: [ideal]
grid: {dac.bits: [3, 4]}
tasks:
  - {kind: qnn_infer, model: m.json, provider: ideal}
""")
    s = run_study(load_study_spec(spec_path), tmp_path / "c.sqlite", workers=0, progress=False)
    assert (s.done, s.errors) == (2, 0), s.error_messages
    acc = {r["result"]["bits"]: r["result"]["accuracy"] for r in _rows(tmp_path / "c.sqlite")}
    assert acc[3] == res.final["test_acc"]
    assert acc[4] == evaluate_angles(model, res.angles, ds, Executor(IdealQuantizer(4)))["accuracy"]


def test_qnn_train_from_float_starts_at_post_training_quantization(tmp_path):
    """``init: float`` starts the trainer from qnn_infer's float model rounded onto the grid (PTQ): with
    ``epochs: 0`` the linesearch trainer only polishes it, so its starting accuracy IS the qnn_infer accuracy
    of the same seed and the polish never raises the training loss and ends on a sweep that moves nothing.
    ``init: random`` is the default and stays out of the point key."""
    spec_path = tmp_path / "w.yaml"
    spec_path.write_text("""
name: w
profiles: [ideal]
grid: {dac.bits: [3]}
seeds: [0, 1]
tasks:
  - {kind: qnn_infer, dataset: iris, epochs: 4, provider: ideal}
  - {kind: qnn_train, dataset: iris, trainer: linesearch, epochs: 0, init: float, init_epochs: 4, provider: ideal}
  - {kind: qnn_train, dataset: iris, trainer: linesearch, epochs: 1, init: random, init_epochs: 4, provider: ideal}
""")
    spec = load_study_spec(spec_path)
    pts = expand_points(spec)
    assert "init" in pts[2].task and "init" not in pts[4].task and "init_epochs" not in pts[4].task  # random: the old key
    s = run_study(spec, tmp_path / "w.sqlite", workers=0, progress=False)
    assert (s.done, s.errors) == (6, 0), s.error_messages
    rows = _rows(tmp_path / "w.sqlite")
    ptq = {r["seed"]: r["result"]["accuracy"] for r in rows if r["kind"] == "qnn_infer"}
    warm = {r["seed"]: r["result"] for r in rows if r["kind"] == "qnn_train" and "init" in r["spec"]["task"]}
    for seed in (0, 1):
        h = warm[seed]["history"]
        assert warm[seed]["start_accuracy"] == ptq[seed]
        assert all(b["loss"] <= a["loss"] + 1e-12 for a, b in zip(h, h[1:]))
        assert len(h) > 1 and h[-1]["changed_frac"] == 0.0 and all(e.get("polish") for e in h[1:])
