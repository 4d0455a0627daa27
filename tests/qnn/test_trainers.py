"""Code-space trainers (cryoctl.qnn.trainers): latent weights, exact line search, annealed QUBO."""

import dataclasses
import inspect
import itertools

import numpy as np
import pytest

from cryoctl.circuit import ExactProvider, Executor, IdealQuantizer, TableProvider
from cryoctl.circuit.providers import exact_table
from cryoctl.conventions import wrap_angle
from cryoctl.errors import CryoctlError
from cryoctl.qnn import QNNModel, TrainConfig, load_dataset, loss_and_grad, train
from cryoctl.qnn.trainers import (AnnealOptions, CodeTrainerOptions, LineSearchOptions, anneal_increments, batch_losses, line_search, quadratic_model, quadratic_value,
                                  qubo, qubo_energy, set_losses, train_codes)


@pytest.fixture(scope="module")
def iris():
    ds = load_dataset("iris", seed=0)
    return ds, QNNModel("compact16", 4, ds.n_classes)


class Recorder:
    """Executor proxy that records the ``params`` argument of every executor method the trainer calls
    (expect, vjp / adjoint_vjp, shift_jacobian, ...): everything it asks the circuits to play."""

    def __init__(self, executor):
        self._ex = executor
        self.played = []

    def __getattr__(self, name):
        attr = getattr(self._ex, name)
        if not callable(attr):
            return attr
        sig = inspect.signature(attr)
        if "params" not in sig.parameters:
            return attr

        def recorded(*args, **kwargs):
            self.played.append(np.asarray(sig.bind(*args, **kwargs).arguments["params"]))
            return attr(*args, **kwargs)

        return recorded


@pytest.mark.parametrize("provider, polish", [
    (IdealQuantizer(3), 0),
    (TableProvider(exact_table(4, n_qubits=4, angle_per_code=np.pi / 6.6, phase_bits=5)), 20),  # + the polish
])
def test_latent_never_plays_an_off_grid_code(iris, provider, polish):
    ds, model = iris
    ds = dataclasses.replace(ds, x_train=ds.x_train[:48], y_train=ds.y_train[:48], x_test=ds.x_test[:15],
                             y_test=ds.y_test[:15])
    rec = Recorder(Executor(provider))
    cfg = TrainConfig("latent", epochs=2, seed=3, gradient="adjoint" if provider.supports_adjoint else "shift")
    res = train_codes(model, ds, rec, cfg, options=CodeTrainerOptions(polish=polish))
    assert len(rec.played) >= 2 * 3 + 6  # 3 gradient steps per epoch, 3 logs of 2 splits
    drive = np.array(model.circuit.param_axes) != "z"
    words = 2 ** (getattr(provider, "phase_bits", provider.bits) - 1)  # RZ: the phase register on hardware
    for p in rec.played:  # every array played: integer codes of the channel's grid
        assert np.issubdtype(p.dtype, np.integer)
        assert p[..., drive].min() >= provider.code_min and p[..., drive].max() <= provider.code_max
        assert p[..., ~drive].min() >= -words and p[..., ~drive].max() < words
    # the applied codes are the DAC's rounding of the float copy, which is NOT on the grid
    latent = res.extra["latent"]
    if polish == 0:  # (the polish then moves codes by exact line search, on the grid as checked above)
        assert np.array_equal(res.codes, rec.encode_params(model.circuit, latent))
    steps = rec.param_steps(model.circuit)
    assert np.abs(latent / steps - np.round(latent / steps)).max() > 0.1
    assert max(h["changed_frac"] for h in res.history[1:]) > 0  # codes do move: no deadlock


def test_latent_update_is_the_straight_through_rule(iris):
    """One full-batch SGD step: w1 = wrap(w0 - lr * dL/dtheta at the applied codes Q(w0)), c1 = Q(w1)."""
    ds, model = iris
    ex = Executor(IdealQuantizer(4))
    cfg = TrainConfig("latent", optimizer="sgd", lr=2.0, epochs=1, batch_size=len(ds.y_train), seed=5)
    res = train_codes(model, ds, ex, cfg, options=CodeTrainerOptions(polish=0))  # the rule alone
    w0 = wrap_angle(res.extra["init_angles"])
    c0 = ex.encode_params(model.circuit, w0)
    _, g, _ = loss_and_grad(model, ex, ds.x_train, ds.y_train, c0)  # order of samples is irrelevant (full batch)
    w1 = wrap_angle(w0 - 2.0 * g)
    assert np.allclose(res.extra["latent"], w1, atol=1e-12)
    assert np.array_equal(res.codes, ex.encode_params(model.circuit, w1))
    assert not np.array_equal(res.codes, c0)


def test_set_losses_is_the_model_loss(iris):
    ds, model = iris
    z = np.random.default_rng(0).uniform(-1, 1, (3, 20, 4))
    y = ds.y_train[:20]
    assert np.allclose(set_losses(model, z, y), [model.loss_and_dz(zi, y)[0] for zi in z], rtol=1e-12)


def brute_loss(model, ex, x, y, codes):
    """One executor call per parameter set, the model's own loss."""
    return model.loss_and_dz(ex.expect(model.circuit, x, codes[None])[0], y)[0]


@pytest.mark.parametrize("block, provider", [
    (1, IdealQuantizer(4)),  # three runs per line (first harmonic), checked against every code
    (1, TableProvider(exact_table(4, n_qubits=4, phase_bits=4))),  # every code run (RZ: a phase word)
    (2, IdealQuantizer(4)),  # joint search over 16 x 16 pairs
])
def test_line_search_finds_the_exact_coordinate_minimum(iris, block, provider):
    ds, model = iris
    ex = Executor(provider)
    rng = np.random.default_rng(7)
    x, y = ds.x_train[:24], ds.y_train[:24]
    codes = rng.integers(-8, 8, model.n_params)
    coords = [5, 10][:block]  # (the last layer's RZ, e.g. 11, commutes with the readout: a flat line)
    got, moved = line_search(model, ex, x, y, codes, coords, block=block)
    best, arg = np.inf, None
    for vals in itertools.product(range(-8, 8), repeat=block):  # brute force over every code (pair)
        trial = codes.copy()
        trial[coords] = vals
        val = brute_loss(model, ex, x, y, trial)
        if val < best - 1e-12:
            best, arg = val, trial
    assert np.array_equal(got, arg) and moved == int(np.count_nonzero(arg != codes))
    assert brute_loss(model, ex, x, y, got) == pytest.approx(best, abs=1e-12)
    assert np.array_equal(np.delete(got, coords), np.delete(codes, coords))  # nothing else moved
    again, moved2 = line_search(model, ex, x, y, got, coords, block=block)  # a fixed point: ties keep codes
    assert moved2 == 0 and np.array_equal(again, got)


def leaky_channel_table(bits=4, phase_bits=5, seed=0):
    """A 3-level channel table whose drive pulses leak (every op times one fixed 0-1-2 mixing unitary):
    coherences with level 2 put the second harmonic of a phase word into <Z>."""
    from scipy.linalg import expm

    from cryoctl.conventions import kron_conj

    t = exact_table(bits, levels=3, n_qubits=4, kind="unitary", phase_bits=phase_bits)
    a = np.random.default_rng(seed).normal(size=(3, 3)) + 1j * np.random.default_rng(seed + 1).normal(size=(3, 3))
    mix = expm(-0.3j * (a + a.conj().T))
    ops = {ax: kron_conj(mix @ u) for ax, u in t.ops.items()}
    return TableProvider(dataclasses.replace(t, kind="channel", ops=ops))


def test_phase_word_line_is_a_degree_d_minus_1_polynomial(iris):
    """On a leaky 3-level channel table an RZ phase word's line is exactly degree 2 (5 runs give all 32
    words, equal to brute force); a first-harmonic fit would be wrong there; drive codes have no degree."""
    from cryoctl.qnn.trainers import _harmonic_losses, harmonic_degree, line_values

    ds, model = iris
    ex = Executor(leaky_channel_table())
    x, y = ds.x_train[:24], ds.y_train[:24]
    circuit = model.circuit
    z_param = next(k for k, a in enumerate(circuit.param_axes) if a == "z" and k < 8)  # not the last layer
    drive = next(k for k, a in enumerate(circuit.param_axes) if a != "z")
    assert harmonic_degree(ex, circuit, z_param) == 2 and harmonic_degree(ex, circuit, drive) is None
    codes = np.random.default_rng(3).integers(-8, 8, model.n_params)
    grid = np.arange(-16, 16)
    brute = []
    for w in grid:
        trial = codes.copy()
        trial[z_param] = w
        brute.append(brute_loss(model, ex, x, y, trial))
    brute = np.array(brute)
    assert np.ptp(brute) > 1e-3  # the line is not flat
    values = lambda c: line_values(ex, circuit, x, codes, z_param, c)  # noqa: E731
    assert np.allclose(_harmonic_losses(model, ex, y, z_param, grid, 2, values), brute, rtol=0, atol=1e-12)
    assert np.abs(_harmonic_losses(model, ex, y, z_param, grid, 1, values) - brute).max() > 1e-6
    got, moved = line_search(model, ex, x, y, codes, [z_param])
    assert got[z_param] == grid[np.argmin(brute)] and moved == int(grid[np.argmin(brute)] != codes[z_param])


def test_density_sweep_is_coordinate_descent_in_reverse_circuit_order(iris):
    """On density matrices a line-search pass is one Executor.line_sweep: the same codes as moving each
    coordinate in turn, last gate first, to the brute-force minimum of the loss over its whole grid
    (drive codes: every code; phase words: every word)."""
    from cryoctl.circuit import IdealCZ, Readout

    ds, model = iris
    ex = Executor(leaky_channel_table(), entangler=IdealCZ(0.03), readout=Readout(0.01, 0.04))
    x, y = ds.x_train[:16], ds.y_train[:16]
    circuit = model.circuit
    codes = np.random.default_rng(5).integers(-8, 8, model.n_params)
    got, moved = line_search(model, ex, x, y, codes, range(model.n_params))
    order = [g.index for g in circuit.gates if getattr(g, "source", None) == "p"][::-1]
    ref = codes.copy()
    for k in order:
        grid = np.arange(-8, 8) if circuit.param_axes[k] != "z" else np.arange(-16, 16)
        losses = []
        for c in grid:
            trial = ref.copy()
            trial[k] = c
            losses.append(brute_loss(model, ex, x, y, trial))
        best = int(np.argmin(losses))
        cur = int(np.flatnonzero(grid == ref[k])[0])
        if losses[best] < losses[cur] - 1e-12:
            ref[k] = grid[best]
    assert np.array_equal(got, ref) and moved == int(np.count_nonzero(ref != codes)) and moved >= 8


def test_linesearch_training_never_increases_the_training_loss(iris):
    ds, model = iris
    full = CodeTrainerOptions(linesearch=LineSearchOptions(batch="full"))
    res = train_codes(model, ds, Executor(IdealQuantizer(4)), TrainConfig("linesearch", epochs=3, seed=1), options=full)
    loss = [h["loss"] for h in res.history]
    assert all(b <= a + 1e-12 for a, b in zip(loss, loss[1:])) and loss[-1] < loss[0] - 0.05
    # the default (mini-batch sweeps, then the full-batch polish) ends at a fixed point of the full-batch search
    res = train(model, ds, Executor(IdealQuantizer(4)), TrainConfig("linesearch", epochs=1, seed=1))
    assert res.history[-1].get("polish") and res.history[-1]["changed_frac"] == 0


def hessian_fd(model, exact, x, y, theta, block, eps=1e-5):
    """d2L/dtheta_k dtheta_l on ``block``: central differences of the adjoint gradient."""
    h = np.empty((len(block), len(block)))
    for j, k in enumerate(block):
        tp, tm = theta.copy(), theta.copy()
        tp[k] += eps
        tm[k] -= eps
        h[:, j] = (loss_and_grad(model, exact, x, y, tp)[1] - loss_and_grad(model, exact, x, y, tm)[1])[block] / (2 * eps)
    return h


def test_quadratic_model_is_exact_on_the_stencil_and_second_order_in_the_step(iris):
    """g_k / step -> dL/dtheta_k and H_kl / step^2 -> d2L/dtheta_k dtheta_l with errors O(step^2)."""
    ds, model = iris
    x, y = ds.x_train[:12], ds.y_train[:12]
    circuit = model.circuit
    theta = np.random.default_rng(2).uniform(-2, 2, model.n_params)
    block = np.array([0, 3, 6, 9])
    exact = Executor(ExactProvider(2))
    g_err, h_err = [], []
    for bits in (6, 7, 8):
        ex = Executor(IdealQuantizer(bits))
        step = 2 * np.pi / 2**bits
        codes = ex.encode_params(circuit, theta)
        theta_c = codes * step  # the grid point the model is built at
        l0, g, h = quadratic_model(model, ex, x, y, codes, block)
        for s, k in enumerate(block):  # exact at every one-increment stencil point
            for sign in (1, -1):
                moved = codes.copy()
                moved[k] += sign
                d = np.zeros(4)
                d[s] = sign
                assert quadratic_value(l0, g, h, d) == pytest.approx(brute_loss(model, ex, x, y, moved), abs=1e-12)
        g_err.append(np.abs(g / step - loss_and_grad(model, exact, x, y, theta_c)[1][block]).max())
        h_err.append(np.abs(h / step**2 - hessian_fd(model, exact, x, y, theta_c, block)).max())
    g_err, h_err = np.array(g_err), np.array(h_err)
    # central differences: the error quarters with every extra bit (step halves)
    assert np.all((0.15 < g_err[1:] / g_err[:-1]) & (g_err[1:] / g_err[:-1] < 0.35)), g_err
    assert np.all((0.15 < h_err[1:] / h_err[:-1]) & (h_err[1:] / h_err[:-1] < 0.35)), h_err
    assert g_err[-1] < 1e-3 and h_err[-1] < 1e-2


def test_qubo_is_the_quadratic_model_and_annealing_finds_its_minimum():
    rng = np.random.default_rng(4)
    s = 5
    g = rng.normal(size=s)
    a = rng.normal(size=(s, s))
    h = (a + a.T) / 2
    l0 = 0.7
    lin, quad, off = qubo(l0, g, h)
    xs = np.array(list(itertools.product((0, 1), repeat=2 * s)))  # all 4^s assignments
    d = xs[:, 0::2] - xs[:, 1::2]
    assert np.allclose(qubo_energy(lin, quad, off, xs), quadratic_value(l0, g, h, d), atol=1e-12)
    grid = np.array(list(itertools.product((-1, 0, 1), repeat=s)))
    qmin = quadratic_value(l0, g, h, grid).min()
    best = anneal_increments(lin, quad, off, num_reads=16, num_sweeps=200, rng=np.random.default_rng(0),
                             candidates=3)
    assert best.shape[1] == s and len(np.unique(best, axis=0)) == len(best)
    assert quadratic_value(l0, g, h, best[0]) == pytest.approx(qmin, abs=1e-12)


def test_anneal_training_lowers_the_loss_and_plays_grid_codes(iris):
    ds, model = iris
    rec = Recorder(Executor(IdealQuantizer(4)))
    opts = CodeTrainerOptions(anneal=AnnealOptions(block=8, num_reads=8, num_sweeps=100), polish=0)
    res = train_codes(model, ds, rec, TrainConfig("anneal", epochs=2, batch_size=35, seed=0), options=opts)
    assert all(np.issubdtype(p.dtype, np.integer) and p.min() >= -8 and p.max() <= 7 for p in rec.played)
    assert res.final["loss"] < res.start["loss"] - 0.05 and res.codes.dtype == np.int64


def test_code_trainers_need_a_quantized_provider_and_known_names(iris):
    ds, model = iris
    with pytest.raises(CryoctlError) as e:
        train(model, ds, Executor(ExactProvider(2)), TrainConfig("linesearch", epochs=1))
    assert e.value.field == "trainer"
    with pytest.raises(CryoctlError):
        train_codes(model, ds, Executor(IdealQuantizer(4)), TrainConfig("round", epochs=1))
    with pytest.raises(CryoctlError):
        TrainConfig("annealing")
    x = ds.x_train[:4]
    assert batch_losses(model, Executor(IdealQuantizer(4)), x, ds.y_train[:4], np.zeros((3, 16), int)).shape == (3,)


def test_cli_trains_with_a_code_trainer_and_the_switch(capsys):
    import json

    from cryoctl.cli import main

    rc = main(["train", "--dataset", "iris", "--trainer", "linesearch", "--bits", "4", "--epochs", "2",
               "--quantize-inputs", "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["provider"] == "ideal4+x" and doc["final"]["loss"] < doc["start"]["loss"] - 0.5
    assert doc["trainer"] == "linesearch" and doc["history"][-1]["polish"] and doc["history"][-1]["changed_frac"] == 0


def test_polish_tolerance_stops_at_the_first_small_sweep(iris):
    """polish_tol: the polish stops after the first sweep that lowers the training loss by less than that
    fraction (every earlier sweep lowered it by more); 0 polishes until a sweep moves nothing."""
    ds, model = iris
    ds = dataclasses.replace(ds, x_train=ds.x_train[:60], y_train=ds.y_train[:60])
    cfg = TrainConfig("latent", epochs=0, seed=2)  # the polish from the random start: many sweeps
    full = train_codes(model, ds, Executor(IdealQuantizer(4)), cfg)
    pol = [h for h in full.history if h.get("polish")]
    assert pol[-1]["changed_frac"] == 0 and len(pol) >= 3
    losses = [full.history[-len(pol) - 1]["loss"]] + [h["loss"] for h in pol]
    drops = [(a - b) / a for a, b in zip(losses, losses[1:])]
    tol = float(np.median(drops[:-1]))
    cut = train_codes(model, ds, Executor(IdealQuantizer(4)), cfg, options=CodeTrainerOptions(polish_tol=tol))
    n_cut = sum(1 for h in cut.history if h.get("polish"))
    expect = next(i + 1 for i, dr in enumerate(drops) if dr < tol or pol[i]["changed_frac"] == 0)
    assert n_cut == expect < len(pol)
    assert [h["loss"] for h in cut.history] == [h["loss"] for h in full.history[: len(cut.history)]]
    with pytest.raises(CryoctlError, match="polish_tol"):
        CodeTrainerOptions(polish_tol=1.5)
