"""QNN layer units: data pipeline, gradients (analytic == shift == finite difference), stochastic
rounding rule, serialization."""

import gzip
import json
import struct

import numpy as np
import pytest

from cryoctl.circuit import ExactProvider, Executor, IdealQuantizer, Readout
from cryoctl.errors import CryoctlError
from cryoctl.qnn import (
    QNNModel, TrainConfig, build_circuit, code_moves, finite_difference, load_dataset, load_model,
    loss_and_grad, model_document, model_params, move_probability, read_idx, save_model, train,
)

EXACT = Executor(ExactProvider(2))


# ---------------------------------------------------------------- data
def test_iris_split_stratified_and_scaling_fitted_on_train_only():
    ds = load_dataset("iris", seed=3)
    assert ds.x_train.shape == (105, 4) and ds.x_test.shape == (45, 4) and ds.n_classes == 3
    assert np.bincount(ds.y_test).tolist() == [15, 15, 15]  # stratified
    assert np.allclose(ds.x_train.min(axis=0), 0) and np.allclose(ds.x_train.max(axis=0), np.pi)
    assert not (np.allclose(ds.x_test.min(axis=0), 0) and np.allclose(ds.x_test.max(axis=0), np.pi))
    again = load_dataset("iris", seed=3)
    assert np.array_equal(ds.x_test, again.x_test)
    assert not np.array_equal(ds.x_test, load_dataset("iris", seed=4).x_test)


def test_breast_cancer_pca_digits_and_moons():
    bc = load_dataset("breast_cancer", seed=0)
    assert bc.x_train.shape[1] == 4 and bc.n_classes == 2 and 0.5 < bc.meta["pca_explained_variance"] < 1
    dg = load_dataset("digits", seed=0)
    assert dg.n_classes == 4 and set(np.unique(dg.y_train)) == {0, 1, 2, 3}
    mo = load_dataset("moons", seed=1, n_samples=100)
    assert mo.x_train.shape == (70, 4) and np.all(mo.x_train[:, 2:] == 0)


def test_unknown_dataset_is_a_cryoctl_error():
    with pytest.raises(CryoctlError) as e:
        load_dataset("cifar")
    assert e.value.field == "dataset"


def _idx_bytes(arr, code):
    return struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(">" + "i" * arr.ndim, *arr.shape) + arr.tobytes()


def test_idx_loader_plain_and_gzip(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (60, 6, 6), dtype=np.uint8)
    labels = np.repeat(np.arange(6, dtype=np.uint8), 10)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_bytes(imgs, 0x08))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(labels, 0x08)))
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(imgs[:30], 0x08)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(labels[::2], 0x08))
    assert np.array_equal(read_idx(tmp_path / "train-images-idx3-ubyte"), imgs)
    assert np.array_equal(read_idx(tmp_path / "train-labels-idx1-ubyte.gz"), labels)
    ds = load_dataset("mnist", data_dir=tmp_path, seed=0)
    assert ds.x_train.shape == (40, 4) and ds.n_classes == 4  # classes 0-3 of the 6
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03")
    with pytest.raises(CryoctlError):
        read_idx(tmp_path / "bad")
    with pytest.raises(CryoctlError):
        load_dataset("fashion_mnist")  # no data_dir


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("ansatz", ["compact16", "deep48"])
def test_adjoint_equals_parameter_shift_equals_finite_difference(ansatz):
    ds = load_dataset("iris", seed=0)
    model = QNNModel(ansatz, 4, 3)
    th = np.random.default_rng(1).uniform(-np.pi, np.pi, model.n_params)
    x, y = ds.x_train[:20], ds.y_train[:20]
    la, ga, _ = loss_and_grad(model, EXACT, x, y, th, method="adjoint")
    ls, gs, _ = loss_and_grad(model, EXACT, x, y, th, method="shift")
    gf = finite_difference(model, EXACT, x, y, th, eps=1e-5)
    assert la == pytest.approx(ls, abs=1e-14)
    assert np.max(np.abs(ga - gs)) < 1e-12
    assert np.max(np.abs(ga - gf)) < 1e-6
    assert np.max(np.abs(ga)) > 1e-2  # not trivially zero


def test_code_grid_shift_equals_adjoint_on_ideal_quantizer():
    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, 3)
    q = Executor(IdealQuantizer(6, quantize_inputs=True))
    codes = q.encode_params(model.circuit, np.random.default_rng(2).uniform(-np.pi, np.pi, 16))
    _, ga, _ = loss_and_grad(model, q, ds.x_train[:10], ds.y_train[:10], codes, method="adjoint")
    _, gs, _ = loss_and_grad(model, q, ds.x_train[:10], ds.y_train[:10], codes, method="shift")
    assert np.max(np.abs(ga - gs)) < 1e-12 and np.max(np.abs(ga)) > 1e-2
    # the same derivative as exact gates at the grid angles codes * 2 pi / 64 (data encoded on the grid too)
    xg = np.round(ds.x_train[:10] / (2 * np.pi / 64)) * (2 * np.pi / 64)
    _, ge, _ = loss_and_grad(model, EXACT, xg, ds.y_train[:10], codes * 2 * np.pi / 64, method="adjoint")
    assert np.max(np.abs(ga - ge)) < 1e-12


def test_shift_gradient_with_shots_is_unbiased():
    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, 3)
    th = np.random.default_rng(3).uniform(-np.pi, np.pi, 16)
    x, y = ds.x_train[:8], ds.y_train[:8]
    _, g_exact, _ = loss_and_grad(model, EXACT, x, y, th)
    rng = np.random.default_rng(0)
    shots = Executor(ExactProvider(2), readout=Readout(shots=4000))
    assert not shots.can_adjoint
    gs = np.array([loss_and_grad(model, shots, x, y, th, rng=rng)[1] for _ in range(20)])
    # shot noise of the loss cotangent is second order; the mean of 20 repeats is close to exact
    assert np.max(np.abs(gs.mean(axis=0) - g_exact)) < 0.02
    with pytest.raises(CryoctlError):
        loss_and_grad(model, shots, x, y, th, method="adjoint", rng=rng)


def test_readout_readout_errors_scale_the_adjoint_gradient():
    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, 3)
    th = np.random.default_rng(4).uniform(-np.pi, np.pi, 16)
    ex = Executor(ExactProvider(2), readout=Readout(0.02, 0.05))
    _, ga, _ = loss_and_grad(model, ex, ds.x_train[:10], ds.y_train[:10], th, method="adjoint")
    _, gs, _ = loss_and_grad(model, ex, ds.x_train[:10], ds.y_train[:10], th, method="shift")
    assert np.max(np.abs(ga - gs)) < 1e-12


# ---------------------------------------------------------------- stochastic rounding
def test_move_probability_family():
    f = np.linspace(0, 0.99, 100)
    assert np.allclose(move_probability(f, 1.0), f, atol=1e-12)  # T = 1: unbiased
    g = f[f != 0.5]
    assert np.array_equal(move_probability(g, 0.0), (g > 0.5).astype(float))  # T = 0: round
    assert np.allclose(move_probability(np.array([0.3, 0.7]), 1e-3), [0, 1])
    assert np.allclose(move_probability(np.array([0.1, 0.9]), 1e3), 0.5, atol=1e-3)
    assert np.all(move_probability(np.array([0.0]), 0.5) == 0)


def test_stochastic_moves_are_unbiased_at_t1_and_round_is_deterministic():
    rng = np.random.default_rng(0)
    u = np.array([0.13, -0.4, 2.7, -1.25])
    mv = np.array([code_moves(u, "stochastic", 1.0, rng) for _ in range(20000)])
    assert np.allclose(mv.mean(axis=0), u, atol=0.02)
    assert set(np.unique(mv[:, 0])) == {0, 1}
    assert code_moves(u, "round", None, rng).tolist() == [0, 0, 3, -1]


def test_quantized_trainer_holds_integer_codes_only():
    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, 3)
    r = train(model, ds, Executor(IdealQuantizer(5)), TrainConfig("stochastic", epochs=2, seed=1, temperature=2.0,
                                                                  schedule="exponential", decay=0.5))
    assert r.codes.dtype == np.int64 and np.all((r.codes >= -16) & (r.codes <= 15))
    assert np.array_equal(r.params, r.codes)
    assert np.allclose(r.angles, r.codes * 2 * np.pi / 32)
    assert [h["temperature"] for h in r.history[1:]] == [2.0, 1.0]
    with pytest.raises(CryoctlError):
        train(model, ds, EXACT, TrainConfig("round"))
    with pytest.raises(CryoctlError):
        TrainConfig("annealed")


def test_deadlock_meter_per_grid_drive_codes_stall_phase_words_move():
    """A 4-bit drive DAC with 16-bit virtual-Z phase words, Adam lr 0.05: lr < step / 2 = 0.196 rad stalls every
    RY code, while the RZ phase words (step 1e-4 rad) with a gradient move on most updates; the ideal 4-bit quantizer (RZ on the
    same 4-bit grid) stalls both. changed_frac is the parameter-weighted mean of the two."""
    from cryoctl.circuit import TableProvider
    from cryoctl.circuit.providers import exact_table
    from cryoctl.qnn.train import moved_fractions

    m = moved_fractions(np.array([0, 2, 4, 4]), 4, ["y", "y", "z", "x"])
    assert m == {"changed_frac": 10 / 16, "changed_frac_rxy": 6 / 12, "changed_frac_rz": 1.0}
    assert moved_fractions(np.array([1, 1]), 2, ["y", "y"])["changed_frac_rz"] is None
    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, 3)
    hw = train(model, ds, Executor(TableProvider(exact_table(4, 2, 4))), TrainConfig("round", epochs=2, seed=0)).final
    # the last layer's 4 RZ commute with the Z readout (zero gradient, never move): at most 4 of 8 RZ move
    assert hw["changed_frac_rxy"] == 0.0 and 0.3 < hw["changed_frac_rz"] <= 0.5
    assert hw["changed_frac"] == pytest.approx((8 * hw["changed_frac_rxy"] + 8 * hw["changed_frac_rz"]) / 16)
    ab = train(model, ds, Executor(IdealQuantizer(4)), TrainConfig("round", epochs=2, seed=0)).final
    assert ab["changed_frac_rxy"] == ab["changed_frac_rz"] == ab["changed_frac"] == 0.0


# ---------------------------------------------------------------- models / serialization
def test_ansatz_parameter_counts_and_readout_mapping():
    assert build_circuit("compact16").n_params == 16 and build_circuit("deep48").n_params == 48
    assert QNNModel("compact16", 4, 2).class_qubits.tolist() == [0, 1]
    assert QNNModel("compact16", 4, 4).class_qubits.tolist() == [0, 1, 2, 3]
    with pytest.raises(CryoctlError):
        build_circuit("wide99")


def test_save_load_round_trip(tmp_path):
    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, 3)
    q6 = Executor(IdealQuantizer(6))
    r = train(model, ds, q6, TrainConfig("round", epochs=1, seed=0))
    doc = model_document(model, r, dataset={"name": "iris", "seed": 0}, quantizer="ideal")
    save_model(tmp_path / "m.json", doc)
    m2, angles, d2 = load_model(tmp_path / "m.json")
    assert m2 == model and np.array_equal(angles, r.angles) and d2["codes"] == r.codes.tolist()
    assert d2["grid"] == {"provider": "ideal6", "bits": 6, "steps": [2 * np.pi / 64] * 16}
    assert np.array_equal(model_params(m2, angles, d2, q6), r.codes)  # its own grid: the codes as they are
    q4 = Executor(IdealQuantizer(4))  # another grid: the angles, encoded once
    assert np.array_equal(model_params(m2, angles, d2, q4), q4.encode_params(model.circuit, angles))
    # a file of the previous format (codes x angle_per_code) still loads, its codes on their grid
    v1 = {k: v for k, v in doc.items() if k not in ("grid",)}
    v1.update({"format": "cryoctl.qnn/1", "angles": [9.9] * 16, "bits": 6, "angle_per_code": 2 * np.pi / 64,
               "param_steps": None, "provider": "ideal6"})
    save_model(tmp_path / "v1.json", v1)
    _, a1, d1 = load_model(tmp_path / "v1.json")
    assert np.allclose(a1, r.codes * 2 * np.pi / 64) and np.array_equal(model_params(m2, a1, d1, q6), r.codes)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(CryoctlError):
        load_model(tmp_path / "bad.json")
    (tmp_path / "bad2.json").write_text(json.dumps({**doc, "codes": [0.5] * 16}))
    with pytest.raises(CryoctlError, match="incomplete"):
        load_model(tmp_path / "bad2.json")


@pytest.mark.parametrize("name,epochs,min_acc", [("moons", 20, 0.8), ("digits", 8, 0.8)])
def test_two_and_four_class_readouts_learn(name, epochs, min_acc):
    """2 classes read on qubits 0, 1; 4 classes on qubits 0..3 (logit_c = scale <Z_c>)."""
    ds = load_dataset(name, seed=0)
    model = QNNModel("compact16", 4, ds.n_classes)
    r = train(model, ds, EXACT, TrainConfig(epochs=epochs, batch_size=32, seed=0))
    assert r.final["test_acc"] >= min_acc and r.final["loss"] < r.start["loss"]


def test_trainer_holds_phase_words_for_rz_and_float_meter_ignores_roundoff():
    """On hardware tables RZ parameters are phase words (2 pi / 2^phase_bits), drive parameters
    amplitude codes; the float trainer's change meter does not count Adam's round-off moves of
    parameters whose gradient is structurally zero (last-layer RZ under Z readout)."""
    from cryoctl.circuit import TableProvider, exact_table
    from cryoctl.qnn import QNNModel, TrainConfig, load_dataset, train

    ds = load_dataset("iris", seed=0, max_train=24, max_test=12)
    model = QNNModel("compact16", 4, 3)
    prov = TableProvider(exact_table(4, levels=2, n_qubits=4, angle_per_code=np.pi / 7.2, phase_bits=10))
    res = train(model, ds, Executor(prov), TrainConfig(trainer="stochastic", epochs=1, batch_size=12, seed=1))
    axes = np.array(model.circuit.param_axes)
    assert np.allclose(res.param_steps[axes == "z"], 2 * np.pi / 2**10)
    assert np.allclose(res.param_steps[axes != "z"], np.pi / 7.2)
    wrapped = (res.codes * res.param_steps + np.pi) % (2 * np.pi) - np.pi  # the calibration's angles, in [-pi, pi)
    assert np.allclose(res.angles, wrapped)
    assert np.abs(res.codes[axes == "z"]).max() > 7  # beyond the 4-bit amplitude range: a phase word
    fl = train(model, ds, EXACT, TrainConfig(trainer="float", epochs=1, batch_size=12, seed=1))
    assert fl.history[1]["changed_frac"] <= 1 - 6 / 16 + 1e-12  # 6 of 16 gradients are exactly zero
