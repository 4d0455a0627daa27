"""QNN on the emulated cryo-CMOS 6-bit profile (pulses through the DAC model, unit mismatch on).

Direction the DAC errors predict: from the gate table we read the rotation angle every code really
produces (Pauli-transfer angle, cryoctl.gates.metrics.realized_angle). The prediction is the same
circuit with exact rotations at those realized angles: it knows the DAC transfer (grid, INL/DNL,
envelope quantization, calibration) and nothing else. The hardware result must move away from the
ideal 6-bit quantizer along that prediction.
"""

from functools import lru_cache

import numpy as np
import pytest

from cryoctl.circuit import ExactProvider, Executor, IdealCZ, IdealQuantizer, Readout, TableProvider, rotation
from cryoctl.gates import GateTable, load_or_build
from cryoctl.gates.calibration import Calibration
from cryoctl.gates.metrics import realized_angle
from cryoctl.profile import load_profile
from cryoctl.qnn import QNNModel, TrainConfig, evaluate_angles, load_dataset, train

DAC_ONLY = ["qubits.t1_us=null", "qubits.t2_us=null", "dac.noise_v_per_sqrt_hz=0", "dac.jitter_rms_ps=0",
            "readout.p01=0", "readout.p10=0", "qubits.cz_error=0"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("gates")


@lru_cache(maxsize=None)
def float_model():
    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, ds.n_classes)
    return ds, model, train(model, ds, Executor(ExactProvider(2)), TrainConfig(epochs=30, seed=0)).angles


def predicted_table(tab: GateTable, linear: bool = False) -> GateTable:
    """Exact rotations at the realized angle of every code, with the hardware's own calibration (so the
    same codes are played for the same requests) or, ``linear``, the rule code = round(theta / step)."""
    ops = {ax: rotation(ax, realized_angle(tab.ops[ax], tab.kind, ax), 2) for ax in ("x", "y")}
    cal = Calibration.linear(tab.n_qubits, tab.bits, tab.calibration.steps) if linear else tab.calibration
    return GateTable(profile_hash="dac-prediction", bits=tab.bits, levels=2, n_qubits=tab.n_qubits,
                     phase_bits=tab.phase_bits, kind="unitary", ops=ops, calibration=cal)


def test_dac_errors_predict_the_hardware_deviation(cache):
    ds, model, angles = float_model()
    prof = load_profile("cryo_cmos_6bit", DAC_ONLY)
    assert prof.dac.unit_mismatch_sigma > 0 and prof.pulse.amplitude_mode == "sampled"
    tab = load_or_build(prof, cache_dir=cache)
    assert tab.kind == "unitary" and tab.levels == 3 and tab.bits == 6
    c = model.circuit
    hw, pr, q6 = (Executor(p) for p in (TableProvider(tab), TableProvider(predicted_table(tab)), IdealQuantizer(6)))
    codes = hw.encode_params(c, angles)
    assert np.array_equal(codes, pr.encode_params(c, angles))  # one calibration: the same codes
    z_hw = hw.expect(c, ds.x_test, codes)[0]
    z_ideal = q6.expect(c, ds.x_test, q6.encode_params(c, angles))[0]
    z_pred = pr.expect(c, ds.x_test, codes)[0]
    # the 6-bit sampled envelope under-rotates: realized / nominal angle < 1 for the positive codes
    steps = tab.calibration.steps[:, 0, None]  # per channel (qubit, x)
    ratio = realized_angle(tab.ops["x"], tab.kind, "x")[:, 33:] / (tab.codes[33:] * steps)
    d_hw, d_pred = (z_hw - z_ideal).ravel(), (z_pred - z_ideal).ravel()
    corr = np.corrcoef(d_hw, d_pred)[0, 1]
    resid, shift = np.abs(z_hw - z_pred).mean(), np.abs(z_hw - z_ideal).mean()
    # the rule a controller without the measured angles would use: code = round(theta / step)
    lin = Executor(TableProvider(predicted_table(tab, linear=True)))
    z_lin = lin.expect(c, ds.x_test, lin.encode_params(c, angles))[0]
    l_hw, l_ideal, l_pred, l_lin = (model.loss_and_dz(z, ds.y_test)[0] for z in (z_hw, z_ideal, z_pred, z_lin))
    print(f"\nrealized/nominal {ratio.mean():.3f}; |hw - ideal6| {shift:.4f}, |hw - DAC prediction| {resid:.4f}, "
          f"corr {corr:.3f}; loss ideal6 {l_ideal:.4f} -> prediction {l_pred:.4f}, hardware {l_hw:.4f}; "
          f"linear angle rule {l_lin:.4f} (|lin - ideal6| {np.abs(z_lin - z_ideal).mean():.4f})")
    assert ratio.mean() < 0.95
    assert corr > 0.8
    assert resid < 0.5 * shift
    # the measured-angle calibration compensates the transfer's bend: the hardware stays closer to the ideal
    # 6-bit circuit (0.024) than the linear rule round(theta / step) does (0.039 with the same gates)
    assert shift < 0.75 * np.abs(z_lin - z_ideal).mean()


def test_full_profile_inference_and_training_end_to_end(cache):
    ds, model, angles = float_model()
    prof = load_profile("cryo_cmos_6bit")  # decoherence -> channels, readout and CZ errors on
    tab = load_or_build(prof, cache_dir=cache)
    assert tab.kind == "channel"
    hw = Executor(TableProvider(tab), entangler=IdealCZ.from_profile(prof), readout=Readout.from_profile(prof))
    assert hw.mode == "density"
    res = evaluate_angles(model, angles, ds, hw)
    ideal = evaluate_angles(model, angles, ds, Executor(IdealQuantizer(6)))
    pred = evaluate_angles(model, angles, ds, Executor(TableProvider(predicted_table(tab))))
    print(f"\ncryo_cmos_6bit inference: {100 * res['accuracy']:.1f} % (loss {res['loss']:.4f}); ideal 6 bit "
          f"{100 * ideal['accuracy']:.1f} % (loss {ideal['loss']:.4f}); DAC prediction loss {pred['loss']:.4f}")
    assert res["accuracy"] >= 0.8
    # the calibrated DAC alone stays at the 6-bit grid's loss (measured angles: no systematic
    # under-rotation); decoherence, readout and CZ errors come on top of it
    # (measured: |prediction - ideal6| 0.002, full hardware - prediction 0.015)
    assert res["loss"] > max(pred["loss"], ideal["loss"])
    assert abs(pred["loss"] - ideal["loss"]) < 0.5 * (res["loss"] - max(pred["loss"], ideal["loss"]))
    # training directly on the hardware: parameter shift on the code grid, density matrices, shots off
    small = load_dataset("iris", seed=0, max_train=24, max_test=15)
    r = train(model, small, hw, TrainConfig("stochastic", epochs=1, batch_size=12, seed=0))
    assert r.codes is not None and r.history[1]["loss"] < r.history[0]["loss"]
    assert r.provider_label.startswith("table6:")


def test_training_on_dac_only_hardware_learns(cache):
    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, ds.n_classes)
    tab = load_or_build(load_profile("cryo_cmos_6bit", DAC_ONLY), cache_dir=cache)
    r = train(model, ds, Executor(TableProvider(tab)), TrainConfig("stochastic", epochs=10, seed=0))
    print(f"\nstochastic on cryo_cmos_6bit (DAC only): {100 * r.start['test_acc']:.1f} % -> {100 * r.final['test_acc']:.1f} %")
    assert r.final["test_acc"] >= r.start["test_acc"] + 0.3
