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

from cryoctl.circuit import ExactProvider, IdealQuantizer, Readout, TableProvider, expect, rotation
from cryoctl.gates import GateTable, load_or_build
from cryoctl.gates.metrics import realized_angle
from cryoctl.profile import load_profile
from cryoctl.qnn import QNNModel, TrainConfig, evaluate, load_dataset, train

DAC_ONLY = ["qubits.t1_us=null", "qubits.t2_us=null", "dac.noise_v_per_sqrt_hz=0", "dac.jitter_rms_ps=0",
            "readout.p01=0", "readout.p10=0", "qubits.cz_error=0"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("gates")


@lru_cache(maxsize=None)
def float_model():
    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, ds.n_classes)
    return ds, model, train(model, ds, ExactProvider(2), TrainConfig(epochs=30, seed=0)).angles


def predicted_table(tab: GateTable) -> GateTable:
    ops = {ax: rotation(ax, realized_angle(tab.ops[ax], tab.kind, ax), 2) for ax in ("x", "y")}
    return GateTable(profile_hash="dac-prediction", bits=tab.bits, levels=2, n_qubits=tab.n_qubits,
                     angle_per_code=tab.angle_per_code, phase_bits=tab.phase_bits, kind="unitary", ops=ops)


def test_dac_errors_predict_the_hardware_deviation(cache):
    ds, model, angles = float_model()
    prof = load_profile("cryo_cmos_6bit", DAC_ONLY)
    assert prof.dac.unit_mismatch_sigma > 0 and prof.pulse.amplitude_mode == "sampled"
    tab = load_or_build(prof, cache_dir=cache)
    assert tab.kind == "unitary" and tab.levels == 3 and tab.bits == 6
    c = model.circuit
    z_hw = expect(c, TableProvider(tab), ds.x_test, angles)[0]
    z_ideal = expect(c, IdealQuantizer(6), ds.x_test, angles)[0]
    z_pred = expect(c, TableProvider(predicted_table(tab)), ds.x_test, angles)[0]
    # the 6-bit sampled envelope under-rotates: realized / nominal angle < 1 for the positive codes
    ratio = realized_angle(tab.ops["x"], tab.kind, "x")[:, 33:] / (tab.codes[33:] * tab.angle_per_code)
    d_hw, d_pred = (z_hw - z_ideal).ravel(), (z_pred - z_ideal).ravel()
    corr = np.corrcoef(d_hw, d_pred)[0, 1]
    resid, shift = np.abs(z_hw - z_pred).mean(), np.abs(z_hw - z_ideal).mean()
    l_hw, l_ideal, l_pred = (model.loss_and_dz(z, ds.y_test)[0] for z in (z_hw, z_ideal, z_pred))
    print(f"\nrealized/nominal {ratio.mean():.3f}; |hw - ideal6| {shift:.4f}, |hw - DAC prediction| {resid:.4f}, "
          f"corr {corr:.3f}; loss ideal6 {l_ideal:.4f} -> prediction {l_pred:.4f}, hardware {l_hw:.4f}")
    assert ratio.mean() < 0.95
    assert corr > 0.8
    assert resid < 0.5 * shift
    assert l_pred > l_ideal and l_hw > l_ideal  # both moved away from the optimum, same direction


def test_full_profile_inference_and_training_end_to_end(cache):
    ds, model, angles = float_model()
    prof = load_profile("cryo_cmos_6bit")  # decoherence -> channels, readout and CZ errors on
    tab = load_or_build(prof, cache_dir=cache)
    assert tab.kind == "channel"
    hw, ro = TableProvider(tab), Readout.from_profile(prof)
    res = evaluate(model, angles, ds, hw, readout=ro, cz_error=prof.qubits.cz_error)
    ideal = evaluate(model, angles, ds, IdealQuantizer(6))
    pred = evaluate(model, angles, ds, TableProvider(predicted_table(tab)))
    print(f"\ncryo_cmos_6bit inference: {100 * res['accuracy']:.1f} % (loss {res['loss']:.4f}); ideal 6 bit "
          f"{100 * ideal['accuracy']:.1f} % (loss {ideal['loss']:.4f}); DAC prediction loss {pred['loss']:.4f}")
    assert res["accuracy"] >= 0.8
    assert res["loss"] > pred["loss"] > ideal["loss"]  # DAC errors, then decoherence/readout/CZ on top
    # training directly on the hardware: parameter shift on the code grid, density matrices, shots off
    small = load_dataset("iris", seed=0, max_train=24, max_test=15)
    r = train(model, small, hw, TrainConfig("stochastic", epochs=1, batch_size=12, seed=0), readout=ro,
              cz_error=prof.qubits.cz_error)
    assert r.codes is not None and r.history[1]["loss"] < r.history[0]["loss"]
    assert r.provider_label.startswith("table6:")


def test_training_on_dac_only_hardware_learns(cache):
    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, ds.n_classes)
    tab = load_or_build(load_profile("cryo_cmos_6bit", DAC_ONLY), cache_dir=cache)
    r = train(model, ds, TableProvider(tab), TrainConfig("stochastic", epochs=10, seed=0))
    print(f"\nstochastic on cryo_cmos_6bit (DAC only): {100 * r.start['test_acc']:.1f} % -> {100 * r.final['test_acc']:.1f} %")
    assert r.final["test_acc"] >= r.start["test_acc"] + 0.3
