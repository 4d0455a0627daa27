"""QNNs on SFQ control: Iris compact16 inference and training on an SFQ profile's gate table (the study tasks
and hardware_executor), and accuracy vs tip angle as the SFQ angle quantizer predicts.

Prediction. A resonant SFQ table realizes code k as k pulses: R_y(k dtheta) (x by virtual Z), exactly for a
two-level qubit; so the QNN on it is the exact-rotation model on the grid k dtheta (an IdealQuantizer-like
table of exact rotations with step dtheta, :func:`cryoctl.circuit.providers.exact_table`). Measured (Iris, float
model 97.8 %, 45 test samples; exact readout and CZ, no jitter):

    dtheta (rad)    0.03    0.1     0.2     0.35    0.5     0.7
    d = 2 SFQ       95.6    95.6    95.6    84.4    84.4    77.8   (= the exact model at every angle)
    d = 3 SFQ       95.6    93.3    91.1    48.9    46.7    37.8   (leakage of the trains, ~dtheta^2)

With the transmon's third level the trains leak (DESIGN 'SFQ control', :mod:`cryoctl.gates.sfq`), and the
accuracy falls below the quantizer's prediction by more as dtheta grows.
"""

from functools import lru_cache

import numpy as np
import pytest

from cryoctl.circuit import ExactProvider, Executor, TableProvider
from cryoctl.circuit.providers import exact_table
from cryoctl.profile import load_profile
from cryoctl.qnn import QNNModel, TrainConfig, evaluate, hardware_executor, load_dataset, model_params, train
from cryoctl.study.tasks import get_task, validate_task

EXACT_IO = ["sfq.jitter_rms_ps=0", "readout.p01=0", "readout.p10=0", "readout.shots=null", "qubits.cz_error=0"]
TIPS = (0.03, 0.1, 0.2, 0.35, 0.5, 0.7)


@lru_cache(maxsize=None)
def float_model():
    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, ds.n_classes)
    return ds, model, train(model, ds, Executor(ExactProvider(2)), TrainConfig(epochs=30, seed=0)).angles


def _run(task: dict, overrides=()):
    prof = load_profile("sfq_ersfq", list(overrides))
    return get_task(task["kind"]).fn(prof, validate_task(task), 0)


def test_iris_inference_runs_on_the_sfq_profile():
    """The shipped ERSFQ profile as is: compiled rotations from an optimized Y(pi/2), 1 ps jitter (a channel
    table over 4 draws), its readout errors and CZ error: close to the float model."""
    r = _run({"kind": "qnn_infer", "dataset": "iris", "ansatz": "compact16", "n_noise_draws": 4})
    assert r["float_accuracy"] == pytest.approx(0.978, abs=1e-3)
    assert r["bits"] == 8 and r["provider"].startswith("table8:") and r["entangler"].startswith("ideal+depol")
    assert 0.9 <= r["accuracy"] <= r["float_accuracy"]
    ex = hardware_executor(load_profile("sfq_ersfq"), float_model()[1].circuit, n_noise_draws=4)
    assert ex.provider.table.kind == "channel" and ex.provider.table.meta["control"] == "sfq"


def test_iris_training_runs_on_the_sfq_profile():
    """Stochastic-rounding training holding SFQ table codes: from chance to well above it in 2 epochs."""
    r = _run({"kind": "qnn_train", "dataset": "iris", "ansatz": "compact16", "epochs": 2, "batch_size": 32},
             EXACT_IO)
    assert r["bits"] == 8 and r["provider"].startswith("table8:") and r["entangler"] == "ideal"
    assert r["start_accuracy"] < 0.4 and r["accuracy"] > r["start_accuracy"] + 0.2
    assert r["changed_frac"] > 0.3  # codes moved on the SFQ grid


@pytest.mark.parametrize("levels", [2, 3])
def test_accuracy_vs_tip_angle_follows_the_sfq_angle_quantizer(levels):
    ds, model, angles = float_model()
    acc_sfq, acc_q, loss_sfq, loss_q = [], [], [], []
    for tip in TIPS:
        prof = load_profile("sfq_ersfq", EXACT_IO + [
            "sfq.coupling_capacitance_af=null", "sfq.qubit_capacitance_ff=null", f"sfq.tip_angle_rad={tip}",
            "sfq.table=resonant", f"qubits.levels={levels}"])
        ex = hardware_executor(prof, model.circuit)
        tab = ex.provider.table
        assert tab.kind == "unitary" and tab.levels == levels
        # code k = k pulses: the table's calibrated step is the tip angle; the prediction uses that grid
        assert np.allclose(tab.calibration.steps, tip)
        ref = Executor(TableProvider(exact_table(tab.bits, 2, 4, angle_per_code=tip)))
        a = evaluate(model, model_params(model, angles, {}, ex), ds, ex)
        b = evaluate(model, model_params(model, angles, {}, ref), ds, ref)
        acc_sfq.append(a["accuracy"])
        acc_q.append(b["accuracy"])
        loss_sfq.append(a["loss"])
        loss_q.append(b["loss"])
    acc_sfq, acc_q = np.array(acc_sfq), np.array(acc_q)
    # the quantizer's prediction: fine grids keep the float model's accuracy within one sample, coarse ones lose
    assert acc_q[:3] == pytest.approx([43 / 45] * 3) and acc_q[-1] < acc_q[0] - 0.15
    if levels == 2:  # exactly the quantizer: same accuracy at every angle, losses within 1e-3
        assert np.array_equal(acc_sfq, acc_q)
        assert np.allclose(loss_sfq, loss_q, atol=1e-3)
    else:  # leakage: equal at the shipped tip angle, then below the prediction by a gap that grows with dtheta
        gap = acc_q - acc_sfq
        assert gap[0] == 0 and np.all(gap >= 0) and gap[-1] > 0.3
        lg = np.array(loss_sfq) - np.array(loss_q)  # 0.004 at 0.03 rad, ~1 from 0.35 rad on
        assert np.all(lg > 0) and lg[3:].min() > 100 * lg[0]
