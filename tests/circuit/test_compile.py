"""Compilation what-if: native (amplitude code) vs zxzxz (fixed SX pulses + virtual-Z phase words)."""

import numpy as np
import pytest

from cryoctl.circuit import Executor, ExactProvider, IdealQuantizer, TableProvider, exact_table, rotation
from cryoctl.circuit.compile import (
    ZXZXZProvider, circuit_drive_time, compile_executor, compile_provider, rotation_error,
)
from cryoctl.errors import CryoctlError
from cryoctl.qnn import QNNModel, TrainConfig, train
from cryoctl.qnn.data import load_dataset

THETA = np.linspace(-np.pi, np.pi, 37)


@pytest.mark.parametrize("levels", [2, 3])
def test_identities_exact_in_su2(levels):
    """RX(t) = RZ(pi/2) SX RZ(t - pi) SX RZ(pi/2), RY(t) = RZ(pi) SX RZ(t - pi) SX: no global phase."""
    z = ZXZXZProvider(ExactProvider(levels))
    for axis in "xy":
        assert np.abs(z.ops(axis, 0, THETA) - rotation(axis, THETA, levels)).max() < 1e-12
    # a wrong identity (the textbook-looking RZ(-pi/2) SX RZ(t) SX RZ(-pi/2)) is not RX(t): the check can fail
    sx, rz = rotation("x", np.pi / 2), lambda a: rotation("z", a)
    wrong = rz(-np.pi / 2) @ sx @ rz(THETA) @ sx @ rz(-np.pi / 2)
    assert np.abs(wrong - rotation("x", THETA)).max() > 0.1


def test_native_and_zxzxz_agree_on_ideal_dac():
    """Exact rotations: whole circuits agree to 1e-12, expectations and adjoint gradients."""
    ds = load_dataset("iris", seed=0)
    rng = np.random.default_rng(1)
    for ansatz in ("compact16", "deep48"):
        model = QNNModel(ansatz, 4, 3)
        th = rng.uniform(-np.pi, np.pi, (3, model.n_params))
        a, b = Executor(ExactProvider(2)), Executor(compile_provider(ExactProvider(2), "zxzxz"))
        ea, eb = a.expect(model.circuit, ds.x_test, th), b.expect(model.circuit, ds.x_test, th)
        assert np.abs(ea - eb).max() < 1e-12 and np.abs(ea).max() > 0.1
        w = rng.normal(size=ea.shape)
        assert b.can_adjoint
        assert np.abs(a.adjoint_vjp(model.circuit, ds.x_test, th, w)[1]
                      - b.adjoint_vjp(model.circuit, ds.x_test, th, w)[1]).max() < 1e-10
    # the abstract b-bit quantizer: the RZ grid is the amplitude grid, so both play the same rotations
    q = IdealQuantizer(6)
    codes = q.encode_params(rng.uniform(-np.pi, np.pi, 16), np.array(model.circuit.param_axes[:16]))
    model = QNNModel("compact16", 4, 3)
    ea = Executor(q).expect(model.circuit, ds.x_test, codes)
    eb = Executor(ZXZXZProvider(q)).expect(model.circuit, ds.x_test, codes)
    assert np.abs(ea - eb).max() < 1e-12


def test_four_bit_dac_phase_vs_amplitude_resolution():
    """4-bit amplitude DAC, 10-bit phase register: native angle error ~ amplitude step, zxzxz ~ phase step."""
    amp, phase = 2 * np.pi / 2**4, 2 * np.pi / 2**10
    prov = TableProvider(exact_table(4, phase_bits=10))
    nat, zx = rotation_error(prov, "x", 0), rotation_error(ZXZXZProvider(prov), "x", 0)
    # uniform rounding error over a cell: rms = step / sqrt(12); 1 - F_avg = (2/3) sin^2(e/2) ~ e^2/6 -> step^2/72
    assert nat["angle_error_rms"] == pytest.approx(amp / np.sqrt(12), rel=0.05)
    assert zx["angle_error_rms"] == pytest.approx(phase / np.sqrt(12), rel=0.05)
    assert nat["infidelity_mean"] == pytest.approx(amp**2 / 72, rel=0.1)
    assert zx["infidelity_mean"] == pytest.approx(phase**2 / 72, rel=0.1)
    assert zx["sx_angle_error"] < 1e-12  # pi/2 is on the 4-bit grid of an ideal DAC: the SX pulse is exact
    # the predicted ratio of the two errors: amplitude step / phase step = 64
    assert nat["angle_error_rms"] / zx["angle_error_rms"] == pytest.approx(64, rel=0.1)


def test_zxzxz_sx_error_is_played_twice():
    """An SX pulse off by e (here a linear DAC whose step does not hit pi/2) leaves every zxzxz rotation with
    a fixed error ~ two SX errors, while native pays its rounding once."""
    step = np.pi / 5.4  # pi/2 = 2.7 codes: no code measures pi/2 (angles wrap: c * step mod 2 pi)
    prov = TableProvider(exact_table(4, angle_per_code=step, phase_bits=10))
    zx = rotation_error(ZXZXZProvider(prov), "y", 2)
    measured = (np.arange(-8, 8) * step + np.pi) % (2 * np.pi) - np.pi
    assert zx["sx_angle_error"] == pytest.approx(np.abs(measured - np.pi / 2).min(), rel=1e-9)
    assert zx["sx_angle_error"] > 0.05
    assert zx["angle_error_rms"] < 2e-3  # the phase word is fine ...
    assert zx["infidelity_mean"] > 10 * (2 * np.pi / 1024) ** 2 / 72  # ... the fixed pulses are not


def test_circuit_drive_time_counts_pulses():
    for ansatz, native_pulses in (("compact16", 3), ("deep48", 9)):
        c = QNNModel(ansatz, 4, 2).circuit
        n = circuit_drive_time(c, "native", pulse_ns=40.0, cz_ns=60.0)
        z = circuit_drive_time(c, "zxzxz", pulse_ns=40.0, cz_ns=60.0)
        assert n["drive_pulses"] == native_pulses and z["drive_pulses"] == 2 * native_pulses
        assert z["drive_ns"] == 2 * n["drive_ns"] == 80.0 * native_pulses
        assert n["duration_ns"] - n["drive_ns"] == z["duration_ns"] - z["drive_ns"] == 60.0 * n["cz_layers"]


def test_quantized_training_moves_phase_words():
    prov = ZXZXZProvider(TableProvider(exact_table(4, phase_bits=8)))
    model = QNNModel("compact16", 4, 3)
    ex = Executor(prov)
    assert np.allclose(ex.param_steps(model.circuit), 2 * np.pi / 2**8)
    ds = load_dataset("iris", seed=0, max_train=32)
    res = train(model, ds, ex, TrainConfig(trainer="stochastic", epochs=2, lr=0.05, seed=0))
    assert res.history[-1]["changed_frac"] > 0.1  # a 4-bit amplitude step would deadlock lr 0.05; phase words move
    assert res.codes.min() >= -128 and res.codes.max() <= 127


def test_compile_errors():
    with pytest.raises(CryoctlError, match="compile"):
        compile_provider(ExactProvider(2), "zyz")
    with pytest.raises(CryoctlError, match="phase bits"):
        ZXZXZProvider(TableProvider(exact_table(4, phase_bits=1))).ops("x", 0, np.array([0]))
    ex = Executor(ExactProvider(2))
    assert compile_executor(ex, "native") is ex
    assert compile_executor(ex, "zxzxz").label == "float+zxzxz"
