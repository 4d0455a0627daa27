"""The three engines agree on ZOH Gaussian and DRAG pulses; the interface rejects bad input."""

import sys

import numpy as np
import pytest

from cryoctl.errors import CryoctlError
from cryoctl.physics.engines import ENGINE_NAMES, get_engine

ALPHA_GHZ = -0.3
ALPHA = 2 * np.pi * ALPHA_GHZ  # rad/ns
DT = 1.0
K = 40
SIGMA = 10.0


def lifted_gaussian_and_derivative():
    """Lifted Gaussian 40 ns, sigma 10 ns, at sample midpoints (1 GS/s), and its time derivative."""
    t = (np.arange(K) + 0.5) * DT
    t0 = K * DT / 2
    g = np.exp(-((t - t0) ** 2) / (2 * SIGMA**2))
    edge = np.exp(-(t0**2) / (2 * SIGMA**2))
    return (g - edge) / (1 - edge), -(t - t0) / SIGMA**2 * g / (1 - edge)


def pulse(kind, area=np.pi, beta=0.5):
    """(omega_i, omega_q) rad/ns: Gaussian (Q = None) or DRAG, Q = -beta dI/dt / alpha."""
    env, denv = lifted_gaussian_and_derivative()
    scale = area / (env.sum() * DT)
    wi = scale * env
    if kind == "gaussian":
        return wi, None
    return wi, -beta * scale * denv / ALPHA


CASES = [
    ("gaussian", 2, 0.0),
    ("drag", 2, 0.0),
    ("gaussian", 3, 0.0),
    ("drag", 3, 0.0),
    ("gaussian", 4, 0.0),
    ("drag", 4, 0.0),
    ("drag", 3, 0.002),  # detuned by 2 MHz
    ("gaussian", 4, -0.003),
]


def _is_pi_ish(u):
    """The comparison is not trivial: the pulse really transfers |0> -> |1>."""
    return abs(u[1, 0]) ** 2 > 0.9


@pytest.mark.parametrize("kind,levels,detuning", CASES)
def test_fast_agrees_with_qiskit_dynamics(kind, levels, detuning):
    pytest.importorskip("qiskit_dynamics")
    wi, wq = pulse(kind)
    u_fast = get_engine("fast").propagate(wi, wq, DT, levels, ALPHA_GHZ, detuning)
    u_ref = get_engine("dynamics").propagate(wi, wq, DT, levels, ALPHA_GHZ, detuning)
    assert _is_pi_ish(u_fast)
    assert np.abs(u_fast - u_ref).max() <= 1e-8


@pytest.mark.parametrize("kind,levels,detuning", CASES)
def test_fast_agrees_with_qutip(kind, levels, detuning):
    wi, wq = pulse(kind)
    u_fast = get_engine("fast").propagate(wi, wq, DT, levels, ALPHA_GHZ, detuning)
    u_ref = get_engine("qutip").propagate(wi, wq, DT, levels, ALPHA_GHZ, detuning)
    assert _is_pi_ish(u_fast)
    assert np.abs(u_fast - u_ref).max() <= 1e-6


def test_detuning_matters():
    """The detuned case is a real test: 2 MHz changes U by far more than the tolerance."""
    wi, wq = pulse("drag")
    fast = get_engine("fast")
    diff = np.abs(fast.propagate(wi, wq, DT, 3, ALPHA_GHZ, 0.002) - fast.propagate(wi, wq, DT, 3, ALPHA_GHZ)).max()
    assert diff > 1e-2


def test_reference_engines_batch_like_fast():
    """Leading batch axes: each row of a (2, K) drive is its own waveform, in every engine."""
    wi, wq = pulse("drag")
    batch_i = np.stack([wi, 0.5 * wi])
    fast = get_engine("fast").propagate(batch_i, wq, DT, 3, ALPHA_GHZ)
    qt = get_engine("qutip").propagate(batch_i, wq, DT, 3, ALPHA_GHZ)
    assert fast.shape == qt.shape == (2, 3, 3)
    assert np.abs(fast - qt).max() <= 1e-6
    assert np.abs(fast[1] - get_engine("fast").propagate(0.5 * wi, wq, DT, 3, ALPHA_GHZ)).max() <= 1e-14


def test_unknown_engine_names_the_field():
    with pytest.raises(CryoctlError) as exc:
        get_engine("magic")
    assert exc.value.field == "engine"
    for name in ENGINE_NAMES:
        assert name in str(exc.value)


def test_missing_qiskit_dynamics_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "qiskit_dynamics", None)  # import now raises ImportError
    with pytest.raises(CryoctlError) as exc:
        get_engine("dynamics")
    assert exc.value.field == "engine"
    assert "pip install cryoctl[dynamics]" in str(exc.value)


@pytest.mark.parametrize(
    "kwargs,field",
    [
        (dict(dt_ns=0.0), "dt_ns"),
        (dict(dt_ns=-1.0), "dt_ns"),
        (dict(levels=1), "levels"),
        (dict(levels=2.5), "levels"),
        (dict(omega_i=np.array([0.1, np.nan])), "omega_i"),
        (dict(omega_i=np.zeros((3, 0))), "omega_i"),
        (dict(omega_q=np.zeros(5)), "omega_q"),
    ],
)
def test_bad_drive_input_names_the_field(kwargs, field):
    args = dict(omega_i=np.zeros(4), omega_q=None, dt_ns=1.0, levels=3, anharmonicity_ghz=ALPHA_GHZ)
    args.update(kwargs)
    with pytest.raises(CryoctlError) as exc:
        get_engine("fast").propagate(**args)
    assert exc.value.field == field


@pytest.mark.parametrize(
    "t1,t2,field", [(-1.0, None, "t1_us"), (None, 0.0, "t2_us"), (10.0, 25.0, "t2_us"), (np.inf, None, "t1_us")]
)
def test_bad_coherence_times_name_the_field(t1, t2, field):
    with pytest.raises(CryoctlError) as exc:
        get_engine("fast").channel(np.zeros(4), None, 1.0, 3, ALPHA_GHZ, t1_us=t1, t2_us=t2)
    assert exc.value.field == field
