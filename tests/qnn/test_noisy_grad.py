"""Gradients on emulated noisy hardware (cryo_cmos_6bit: channel tables with T1/T2 and DAC noise, d = 3,
depolarizing CZ error, readout assignment errors): the trainers' default gradient is the Liouville-space
adjoint, equal to the density-matrix parameter-shift path; finite shots fall back to the shift path."""

import numpy as np
import pytest

from cryoctl.circuit import Readout
from cryoctl.profile import load_profile
from cryoctl.qnn import QNNModel, hardware_executor, load_dataset, loss_and_grad


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, ds.n_classes)
    prof = load_profile("cryo_cmos_6bit")
    ex = hardware_executor(prof, model.circuit, cache_dir=tmp_path_factory.mktemp("gates"))
    return ds, model, prof, ex


def test_hardware_adjoint_equals_density_shift(setup):
    ds, model, _, ex = setup
    assert ex.provider.kind == "channel" and ex.provider.levels == 3 and ex.mode == "density"
    assert ex.entangler.noisy and ex.readout.p01 > 0 and ex.can_density_adjoint
    codes = ex.encode_params(model.circuit, np.random.default_rng(4).uniform(-np.pi, np.pi, model.n_params))
    x, y = ds.x_train[:6], ds.y_train[:6]
    la, ga, za = loss_and_grad(model, ex, x, y, codes)  # auto: the adjoint
    ls, gs, zs = loss_and_grad(model, ex, x, y, codes, method="shift")
    # 6 samples > 4 qubits: the adjoint reads <Z> as <Lambda_q, rho_b> (observable batching), the shift path
    # from a forward run; round-off through the realized channels differs by ~2e-13
    assert la == pytest.approx(ls, abs=1e-12) and np.abs(za - zs).max() < 1e-12
    assert np.abs(ga - gs).max() < 1e-10 and np.abs(ga).max() > 1e-2


def test_hardware_with_shots_uses_the_shift_path(setup):
    ds, model, prof, _ = setup
    ex = hardware_executor(prof, model.circuit, readout=Readout(prof.readout.p01, prof.readout.p10, 2000))
    assert not ex.can_density_adjoint
    codes = ex.encode_params(model.circuit, np.random.default_rng(4).uniform(-np.pi, np.pi, model.n_params))
    x, y = ds.x_train[:6], ds.y_train[:6]
    exact = hardware_executor(prof, model.circuit, readout=Readout(prof.readout.p01, prof.readout.p10))
    _, g_exact, _ = loss_and_grad(model, exact, x, y, codes)
    rng = np.random.default_rng(0)
    gs = np.array([loss_and_grad(model, ex, x, y, codes, rng=rng)[1] for _ in range(4)])
    assert np.all(np.std(gs, axis=0) > 0)  # each shifted circuit measured with its own shots
    # 2000 shots: <Z> errors ~0.02, amplified by 1 / (2 sin s) ~ 0.5 and summed over 6 samples
    assert np.abs(gs.mean(axis=0) - g_exact).max() < 0.15
