"""The ``jax`` engine against closed forms and the ``fast`` engine (float64: agreement to 1e-12), and a gate
table built with engine="jax" against the one built with engine="fast" (1e-10).

The registry-wide checks (unitarity, exact rotations, the DESIGN.md pi pulse, T1/T2 closed forms, batching,
coupled transmons) run for "jax" in tests/physics/test_engine_base.py; these add the pieces specific to it
(DRAG pulses with a batch of amplitudes, a T1 + T2 channel with both quadratures driven, the associative scan
against a plain loop, whole gate tables) and the install hint when JAX is absent.
"""

import sys

import numpy as np
import pytest

from cryoctl.errors import CryoctlError
from cryoctl.physics import SystemModel, get_engine
from cryoctl.physics.fast import propagate as fast_propagate
from cryoctl.physics.lindblad import channel_fast

ALPHA_GHZ = -0.3


def drag_pulse(k=40, area=np.pi, beta=0.5):
    t = np.arange(k) + 0.5
    sigma, t0 = k / 4, k / 2
    g = np.exp(-((t - t0) ** 2) / (2 * sigma**2))
    edge = np.exp(-(t0**2) / (2 * sigma**2))
    env, denv = (g - edge) / (1 - edge), -(t - t0) / sigma**2 * g / (1 - edge)
    scale = area / env.sum()
    return scale * env, -beta * scale * denv / (2 * np.pi * ALPHA_GHZ)


@pytest.fixture(scope="module")
def jax_engine():
    pytest.importorskip("jax")
    return get_engine("jax")


def test_missing_jax_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # import now raises ImportError
    with pytest.raises(CryoctlError) as exc:
        get_engine("jax")
    assert exc.value.field == "engine"
    assert "pip install cryoctl[jax]" in str(exc.value)


def test_exact_rotation_and_unitarity(jax_engine):
    """Two levels, area theta on xy_q: RY(theta) exactly; a random I/Q drive on 3 levels is unitary."""
    theta = 2.1
    env, _ = drag_pulse(16)
    ry = np.array([[np.cos(theta / 2), -np.sin(theta / 2)], [np.sin(theta / 2), np.cos(theta / 2)]])
    u = jax_engine.propagate(SystemModel.transmon(2, ALPHA_GHZ), {"xy_q": theta * env / env.sum()}, 1.0)
    assert np.abs(u - ry).max() < 1e-12
    rng = np.random.default_rng(3)
    u = jax_engine.propagate(SystemModel.transmon(3, ALPHA_GHZ, 0.02),
                             {"xy_i": rng.normal(0, 0.3, 25), "xy_q": rng.normal(0, 0.3, 25)}, 0.5)
    assert np.abs(u.conj().T @ u - np.eye(3)).max() < 1e-13


def test_drag_pulse_batch_matches_fast(jax_engine):
    """A batch (5 amplitudes x 40 samples) of DRAG pulses on a 4-level transmon: the same U as fast."""
    i, q = drag_pulse(40)
    amps = np.linspace(-1.0, 1.0, 5)[:, None]
    model = SystemModel.transmon(4, ALPHA_GHZ, 0.003)
    signals = {"xy_i": amps * i, "xy_q": amps * q}
    u_jax = jax_engine.propagate(model, signals, 1.0)
    u_fast = fast_propagate(model, signals, 1.0)
    assert u_jax.shape == (5, 4, 4)
    assert np.abs(u_jax - u_fast).max() < 1e-12
    # and the pi pulse (amplitude 1) is far from trivial: the check can fail
    assert abs(abs(u_fast[4, 1, 0]) - 1) < 0.05


def test_associative_scan_is_the_time_ordered_product(jax_engine):
    """K = 13 (odd, not a power of two) random steps: the scan equals U_13 ... U_1 from a loop."""
    from cryoctl.physics.jax_engine import time_ordered_scan

    rng = np.random.default_rng(5)
    steps = rng.normal(size=(2, 13, 3, 3)) + 1j * rng.normal(size=(2, 13, 3, 3))
    ref = np.stack([np.eye(3)] * 2).astype(complex)
    for k in range(13):
        ref = steps[:, k] @ ref
    assert np.abs(np.asarray(time_ordered_scan(steps)) - ref).max() < 1e-10 * np.abs(ref).max()


def test_t1_t2_channel_matches_fast_and_closed_form(jax_engine):
    """Driven (I and Q) 3-level transmon with T1 = 2 us, T2 = 3 us: the channel equals fast's; an idle
    of 200 ns is amplitude damping + dephasing on the qubit block."""
    i, q = drag_pulse(24)
    model = SystemModel.transmon(3, ALPHA_GHZ, 0.0, t1_us=2.0, t2_us=3.0)
    signals = {"xy_i": np.stack([i, 0.5 * i]), "xy_q": np.stack([q, 0.5 * q])}
    s_jax = jax_engine.channel(model, signals, 1.0)
    s_fast = channel_fast(model, signals, 1.0)
    assert s_jax.shape == (2, 9, 9)
    assert np.abs(s_jax - s_fast).max() < 1e-12
    s_idle = jax_engine.channel(model, {"xy_i": np.zeros(200)}, 1.0)
    gamma, coh = 1 - np.exp(-200 / 2000), np.exp(-200 / 3000)
    idx = [0, 1, 3, 4]  # row-major (i, j) in {0, 1}^2 of a 3-level vec
    block = s_idle[np.ix_(idx, idx)]
    expected = np.array([[1, 0, 0, gamma], [0, coh, 0, 0], [0, 0, coh, 0], [0, 0, 0, 1 - gamma]])
    assert np.abs(block - expected).max() < 1e-12
    # a closed model's channel is kron(U, U*) of its propagator
    closed = model.closed()
    u = jax_engine.propagate(closed, signals, 1.0)
    s_closed = jax_engine.channel(closed, signals, 1.0)
    assert np.abs(s_closed - np.einsum("bik,bjl->bijkl", u, u.conj()).reshape(2, 9, 9)).max() < 1e-14


def test_coupled_pair_with_flux_matches_fast(jax_engine):
    pair = SystemModel.coupled_transmons(3, (0.0, -0.1), (-0.3, -0.25), 0.01, t1_us=(20.0, None))
    rng = np.random.default_rng(9)
    signals = {"flux0": rng.normal(0, 0.3, 30), "xy_i1": rng.normal(0, 0.1, 30)}
    assert np.abs(jax_engine.propagate(pair, signals, 1.0) - fast_propagate(pair.closed(), signals, 1.0)).max() < 1e-12
    assert np.abs(jax_engine.channel(pair, signals, 1.0) - channel_fast(pair, signals, 1.0)).max() < 1e-12


def _profile(bits, **qubits):
    from cryoctl.profile import validate_profile

    return validate_profile({"name": "t", "dac": {"bits": bits}, "qubits": {"count": 1, "levels": 3, **qubits}})


@pytest.mark.parametrize("qubits", [{}, {"t1_us": 5.0, "t2_us": 6.0}], ids=["unitary", "lindblad"])
def test_gate_table_built_with_jax_equals_fast(jax_engine, qubits):
    """Calibration (Rabi/DRAG scans) and the whole 5-bit table, engine='jax' vs engine='fast'."""
    from cryoctl.gates import build_gate_table, calibrate

    p = _profile(5, **qubits)
    tables = {}
    for name in ("fast", "jax"):
        cal = calibrate(p, name, use_cache=False)
        tables[name] = build_gate_table(p, name, calibration=cal)
    fast, jx = tables["fast"], tables["jax"]
    assert jx.kind == fast.kind == ("channel" if qubits else "unitary")
    for axis in fast.ops:
        assert jx.ops[axis].shape == fast.ops[axis].shape
        assert np.abs(jx.ops[axis] - fast.ops[axis]).max() < 1e-10
    codes = np.arange(fast.code_min, fast.code_max + 1)
    for axis in ("x", "y"):
        np.testing.assert_allclose(jx.calibration.angle(axis, 0, codes), fast.calibration.angle(axis, 0, codes),
                                   atol=1e-10, rtol=0)
