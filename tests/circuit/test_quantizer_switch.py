"""The abstract quantizer's switch: parameters only (default, the papers) or data-encoding angles too."""

import numpy as np
import pytest

from cryoctl.circuit import Circuit, ExactProvider, Executor, IdealQuantizer, Rot, TableProvider
from cryoctl.circuit.description import ring
from cryoctl.circuit.providers import exact_table
from cryoctl.errors import CryoctlError


def circuit3():
    gates = [Rot("y", q, "x", q) for q in range(3)] + [Rot(a, q, "p", 2 * q + i) for q in range(3)
                                                        for i, a in enumerate("yz")]
    return Circuit(3, tuple(gates + list(ring(3)) + [Rot("x", q, "p", 6 + q) for q in range(3)]))


def test_parameters_only_plays_exact_data_and_grid_parameters():
    rng = np.random.default_rng(0)
    c = circuit3()
    bits = 3
    step = 2 * np.pi / 2**bits
    x = rng.uniform(0, np.pi, (6, 3))
    codes = rng.integers(-4, 4, (2, c.n_params))
    exact = Executor(ExactProvider(2))
    default, hw_like = Executor(IdealQuantizer(bits)), Executor(IdealQuantizer(bits, quantize_inputs=True))
    assert IdealQuantizer(bits).quantize_inputs is False  # the papers' model is the default
    # parameters only: data angles exact, parameters at c * step
    assert np.allclose(default.expect(c, x, codes), exact.expect(c, x, codes * step), atol=1e-12)
    # data too: every data angle rounded to the grid (brute force: round(x / step) * step)
    xq = np.round(x / step) * step
    assert np.allclose(hw_like.expect(c, x, codes), exact.expect(c, xq, codes * step), atol=1e-12)
    # the emulated-hardware path always quantizes the data: it agrees with quantize_inputs=True
    table = Executor(TableProvider(exact_table(bits, levels=2, n_qubits=3, phase_bits=bits)))
    assert np.allclose(table.expect(c, x, codes), hw_like.expect(c, x, codes), atol=1e-12)
    # and the switch matters (3 bits: data rounded by up to 0.39 rad)
    assert np.abs(default.expect(c, x, codes) - hw_like.expect(c, x, codes)).max() > 0.05


def test_switch_words_labels_and_errors():
    q, qx = IdealQuantizer(3), IdealQuantizer(3, quantize_inputs=True)
    theta = np.array([0.0, 0.39, 0.40, np.pi - 1e-9, -np.pi])
    assert np.array_equal(q.encode("y", 0, theta), theta)  # data path: the exact angles
    assert qx.encode("y", 0, theta).tolist() == [0, 0, 1, -4, -4]
    axes = np.array(["y", "z", "x", "y", "z"])
    for p in (q, qx):  # parameters are codes in both modes
        got = p.encode_params(theta, axes)
        assert got.dtype == np.int64 and got.tolist() == [0, 0, 1, -4, -4]
    assert np.allclose(q.ops("y", 0, np.array(0.5)), ExactProvider(2).ops("y", 0, 0.5))
    with pytest.raises(CryoctlError) as e:
        qx.ops("y", 0, np.array(0.5))  # codes only when the inputs are quantized
    assert e.value.field == "codes"
    with pytest.raises(CryoctlError) as e:  # float parameters are refused by the executor in both modes
        Executor(q).expect(circuit3(), np.zeros((1, 3)), np.full(9, 0.3))
    assert e.value.field == "params"
    assert (q.label, qx.label) == ("ideal3", "ideal3+x")
    with pytest.raises(CryoctlError) as e:
        IdealQuantizer(3, quantize_inputs="yes")
    assert e.value.field == "quantize_inputs"


def test_adjoint_gradient_with_exact_inputs_is_the_float_gradient_at_the_grid_point():
    rng = np.random.default_rng(1)
    c = circuit3()
    x = rng.uniform(0, np.pi, (4, 3))
    codes = rng.integers(-8, 8, (1, c.n_params))
    w = rng.normal(size=(1, 4, 3))
    _, g = Executor(IdealQuantizer(4)).adjoint_vjp(c, x, codes, w)
    _, ge = Executor(ExactProvider(2)).adjoint_vjp(c, x, codes * 2 * np.pi / 16, w)
    assert np.allclose(g, ge, atol=1e-12)


def test_study_task_passes_the_switch():
    from cryoctl.profile import load_profile
    from cryoctl.study.tasks import _normalise_qnn, _qnn_executor

    prof = load_profile("ideal")
    base = {"provider": "ideal", "ansatz": "compact16", "entangler": "auto", "engine": "fast", "n_noise_draws": 8}
    assert _qnn_executor(prof, {**base, "quantize_inputs": True}, 0).provider.quantize_inputs is True
    assert _qnn_executor(prof, base, 0).provider.quantize_inputs is False
    # the hardware provider always quantizes: the key is dropped from its points, kept for ideal ones
    assert "quantize_inputs" not in _normalise_qnn({**base, "provider": "hardware", "quantize_inputs": False})
    assert _normalise_qnn({**base, "quantize_inputs": False})["quantize_inputs"] is False
