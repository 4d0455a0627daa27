"""QDEQ: the implicit gradient is the derivative of the solved fixed point's loss, the solver converges on a
contractive map at its closed-form rate, and a map without an attracting fixed point is a clear error."""

import numpy as np
import pytest
from scipy.optimize import brentq

from cryoctl.circuit import ExactProvider, Executor, IdealQuantizer
from cryoctl.errors import CryoctlError
from cryoctl.qnn.qdeq import (
    QDEQ, ExplicitReupload, QDEQTrainConfig, SolverConfig, anderson, encode_angles, evaluate, loss_and_dz,
    shift_rule_cost, train_model,
)

EXACT = Executor(ExactProvider(2))
TIGHT = SolverConfig(tol=1e-13, max_iter=200)


def _problem(seed=0, n=3, b=5):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, np.pi, (b, n)), rng.integers(0, 2, b), rng.uniform(-np.pi, np.pi, 3 * n)


def _fd(model, executor, x, y, theta, eps=1e-6):
    out = np.zeros(theta.size)
    for k in range(theta.size):
        e = np.zeros(theta.size)
        e[k] = eps
        out[k] = (model.loss(executor, x, y, theta + e) - model.loss(executor, x, y, theta - e)) / (2 * eps)
    return out


@pytest.mark.parametrize("z_scale", [0.7, 1.5])
def test_implicit_gradient_equals_finite_differences_of_the_solved_fixed_point(z_scale):
    x, y, theta = _problem()
    model = QDEQ(3, 2, z_scale=z_scale, solver=TIGHT)
    loss, grad, info = model.loss_and_grad(EXACT, x, y, theta)
    fd = _fd(model, EXACT, x, y, theta)
    assert np.abs(grad - fd).max() < 1e-7 * max(1.0, np.abs(fd).max())
    assert np.abs(fd).max() > 0.1
    # the (I - J_z)^-1 term matters: without it (dL/dz* J_theta) the gradient is off by far more
    jz = info["jz"]
    assert np.abs(jz).max() > 0.05
    _, dz = loss_and_dz(info["fixed_point"].z, y, 2, model.scale)
    naive = model.vjp_params(EXACT, model.inputs(x, info["fixed_point"].z), theta, dz)
    assert np.abs(naive - fd).max() > 1e3 * np.abs(grad - fd).max()


def test_shift_rule_path_equals_adjoint_path_on_ideal_quantizer():
    """Hardware path (Jacobians by parameter shift, density matrices) == exact adjoint path at the same codes."""
    x, y, theta = _problem(1)
    q = IdealQuantizer(6)  # parameters on the grid; data and z angles exact (a DAC grid on z may cycle)
    adj, shift = Executor(q), Executor(q, mode="density")
    assert adj.can_adjoint and not shift.can_adjoint
    model = QDEQ(3, 2, solver=TIGHT)
    codes = adj.encode_params(model.circuit, theta)
    la, ga, ia = model.loss_and_grad(adj, x, y, codes)
    ls, gs, _ = model.loss_and_grad(shift, x, y, codes)
    assert ia["fixed_point"].converged.all()
    assert la == pytest.approx(ls, abs=1e-12)
    assert np.abs(ga - gs).max() < 1e-10 and np.abs(ga).max() > 0.05


def test_explicit_tied_gradient_is_the_sum_over_copies():
    x, y, theta = _problem(2)
    model = ExplicitReupload(3, 3, 2)
    assert model.circuit.n_params == 3 * 9 and model.n_params == 9
    _, grad, _ = model.loss_and_grad(EXACT, x, y, theta)
    assert np.abs(grad - _fd(model, EXACT, x, y, theta)).max() < 1e-7
    q = IdealQuantizer(5)
    codes = encode_angles(model, Executor(q), theta)
    assert np.issubdtype(codes.dtype, np.integer) and codes.shape == (9,)
    _, ga, _ = model.loss_and_grad(Executor(q), x, y, codes)
    _, gs, _ = model.loss_and_grad(Executor(q, mode="density"), x, y, codes)
    assert np.abs(ga - gs).max() < 1e-10
    assert shift_rule_cost(model) == 2 * 3 * 9 + 1


def _one_qubit_map(s):
    """1 qubit, x = 0, theta = 0: f(z) = <Z> after RX(s z) on |0> = cos(s z)."""
    return QDEQ(1, 2, z_scale=s), np.zeros((1, 1)), np.zeros(3)


def test_converges_on_a_contractive_map_at_the_closed_form_rate():
    s = 0.8
    model, x, theta = _one_qubit_map(s)
    z_true = brentq(lambda z: np.cos(s * z) - z, 0, 1)
    rate = s * np.sin(s * z_true)  # |f'(z*)| = 0.43: contractive
    plain = model.solve(EXACT, x, theta, solver=SolverConfig(tol=1e-12, max_iter=100, memory=0))
    fast = model.solve(EXACT, x, theta, solver=SolverConfig(tol=1e-12, max_iter=100, memory=3))
    assert abs(plain.z[0, 0] - z_true) < 1e-11 and abs(fast.z[0, 0] - z_true) < 1e-11
    # plain iteration: error shrinks by the contraction factor per step, |e_k| ~ |e_0| rate^k
    expected = np.log(1e-12 / z_true) / np.log(rate)
    assert abs(plain.iterations[0] - expected) <= 3
    assert fast.iterations[0] < plain.iterations[0] / 2  # Anderson (a secant method in 1D)
    jz = model.jacobian_z(EXACT, x, theta, plain.z)
    assert jz[0, 0, 0] == pytest.approx(-rate, abs=1e-10)


def test_solver_error_when_no_attracting_fixed_point():
    s = 2.0  # f(z) = cos(2 z): one fixed point, |f'(z*)| = 1.71 > 1: plain iteration falls into a 2-cycle
    model, x, theta = _one_qubit_map(s)
    cfg = SolverConfig(tol=1e-8, max_iter=60, memory=0)
    with pytest.raises(CryoctlError, match=r"qdeq.solver: fixed point not found for 1 of 1 samples.*after 60 iter"):
        model.solve(EXACT, x, theta, solver=cfg)
    kept = model.solve(EXACT, x, theta, solver=SolverConfig(tol=1e-8, max_iter=60, memory=0, on_fail="keep"))
    assert not kept.converged[0] and kept.iterations[0] == 60 and kept.residual[0] > 1e-3
    # Anderson (secant) does find the repelling fixed point
    z_true = brentq(lambda z: np.cos(s * z) - z, 0, 1)
    found = model.solve(EXACT, x, theta, solver=SolverConfig(tol=1e-12, max_iter=60, memory=2))
    assert abs(found.z[0, 0] - z_true) < 1e-10


def test_on_a_dac_grid_a_converged_fixed_point_is_a_fixed_cell():
    """f is piecewise constant in z when z is played through the DAC: a converged sample's read-out is
    reproduced EXACTLY by one more circuit (same cell), where the float map moves it by ~tol."""
    rng = np.random.default_rng(3)
    x, theta = rng.uniform(0, np.pi, (40, 4)), rng.uniform(-np.pi, np.pi, 12)
    ex = Executor(IdealQuantizer(4, quantize_inputs=True))
    model = QDEQ(4, 4, solver=SolverConfig(tol=1e-6, max_iter=40, on_fail="keep"))
    codes = ex.encode_params(model.circuit, theta)
    fp = model.solve(ex, x, codes)
    ok = fp.converged
    assert 0 < ok.sum()
    again = model.f(ex, x[ok], codes, fp.z[ok])
    assert np.abs(again - fp.z[ok]).max() < 1e-13


def test_config_errors_and_anderson_on_an_affine_map():
    for bad in (dict(tol=0), dict(max_iter=0), dict(memory=-1), dict(beta=1.5), dict(on_fail="ignore")):
        with pytest.raises(CryoctlError, match="qdeq"):
            SolverConfig(**bad)
    # affine contraction z -> A z + b: Anderson with memory >= n solves it in n + 2 evaluations
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    a *= 0.9 / np.abs(np.linalg.eigvals(a)).max()
    b = rng.normal(size=3)
    fp = anderson(lambda z, rows: z @ a.T + b, np.zeros((2, 3)), SolverConfig(tol=1e-10, max_iter=20, memory=5))
    assert fp.converged.all() and fp.iterations.max() <= 3 + 2
    assert np.allclose(fp.z, np.linalg.solve(np.eye(3) - a, b), atol=1e-9)


def test_training_lowers_the_loss_and_counts_circuits():
    from cryoctl.qnn import load_dataset

    ds = load_dataset("digits", seed=0, classes=(0, 3, 6, 9), max_train=48, max_test=40)
    model = QDEQ(4, 4)
    init = np.random.default_rng(0).uniform(-np.pi, np.pi, 12)
    before = model.loss(EXACT, ds.x_train, ds.y_train, init)
    res = train_model(model, ds, EXACT, QDEQTrainConfig(epochs=3, batch_size=16, seed=0), init_angles=init)
    after = model.loss(EXACT, ds.x_train, ds.y_train, res["params"])
    ev = evaluate(model, EXACT, ds.x_test, ds.y_test, res["params"])
    assert after < before - 0.3 and ev["accuracy"] > 0.5  # 4 classes: chance is 0.25
    assert ev["fail_frac"] == 0 and ev["circuits_per_sample"] == pytest.approx(ev["iterations"])
    assert res["shift_cost"] == pytest.approx(res["train_iterations"] + 8 + 25)
    q = Executor(IdealQuantizer(6, quantize_inputs=True))
    rq = train_model(QDEQ(4, 4), ds, q, QDEQTrainConfig(epochs=1, seed=0))
    assert np.issubdtype(rq["params"].dtype, np.integer) and np.abs(rq["params"]).max() <= 32
