"""The three engines agree on ZOH Gaussian and DRAG pulses; the interface rejects bad input.

The same physics checks for every engine live in test_engine_base.py."""

import sys

import numpy as np
import pytest

from cryoctl.conventions import ENGINE_NAMES
from cryoctl.errors import CryoctlError
from cryoctl.physics import SystemModel, get_engine
from cryoctl.physics.engines import validate_signals

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
    """Transmon channel signals (rad/ns): Gaussian on xy_i only, or DRAG with xy_q = -beta dI/dt / alpha."""
    env, denv = lifted_gaussian_and_derivative()
    scale = area / (env.sum() * DT)
    wi = scale * env
    if kind == "gaussian":
        return {"xy_i": wi}
    return {"xy_i": wi, "xy_q": -beta * scale * denv / ALPHA}


def transmon(levels, detuning_ghz=0.0, **coherence):
    return SystemModel.transmon(levels, ALPHA_GHZ, detuning_ghz, **coherence)


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
    model, signals = transmon(levels, detuning), pulse(kind)
    u_fast = get_engine("fast").propagate(model, signals, DT)
    u_ref = get_engine("dynamics").propagate(model, signals, DT)
    assert _is_pi_ish(u_fast)
    assert np.abs(u_fast - u_ref).max() <= 1e-8


@pytest.mark.parametrize("kind,levels,detuning", CASES)
def test_fast_agrees_with_qutip(kind, levels, detuning):
    model, signals = transmon(levels, detuning), pulse(kind)
    u_fast = get_engine("fast").propagate(model, signals, DT)
    u_ref = get_engine("qutip").propagate(model, signals, DT)
    assert _is_pi_ish(u_fast)
    assert np.abs(u_fast - u_ref).max() <= 1e-6


def test_detuning_matters():
    """The detuned case is a real test: 2 MHz changes U by far more than the tolerance."""
    signals = pulse("drag")
    fast = get_engine("fast")
    diff = np.abs(fast.propagate(transmon(3, 0.002), signals, DT) - fast.propagate(transmon(3), signals, DT)).max()
    assert diff > 1e-2


def test_reference_engines_batch_like_fast():
    """Leading batch axes: each row of a (2, K) drive is its own waveform, in every engine."""
    signals = pulse("drag")
    batch = {"xy_i": np.stack([signals["xy_i"], 0.5 * signals["xy_i"]]), "xy_q": signals["xy_q"]}
    model = transmon(3)
    fast = get_engine("fast").propagate(model, batch, DT)
    qt = get_engine("qutip").propagate(model, batch, DT)
    assert fast.shape == qt.shape == (2, 3, 3)
    assert np.abs(fast - qt).max() <= 1e-6
    single = {"xy_i": 0.5 * signals["xy_i"], "xy_q": signals["xy_q"]}
    assert np.abs(fast[1] - get_engine("fast").propagate(model, single, DT)).max() <= 1e-14


def test_unknown_engine_names_the_field():
    with pytest.raises(CryoctlError) as exc:
        get_engine("magic")
    assert exc.value.field == "engine"
    for name in ENGINE_NAMES:
        assert name in str(exc.value)


def test_engine_registry():
    """One registry: every conventions.ENGINE_NAMES entry resolves (case-insensitive); instances pass through."""
    for name in ENGINE_NAMES:
        if name in ("dynamics", "jax"):
            pytest.importorskip({"dynamics": "qiskit_dynamics", "jax": "jax"}[name])
        engine = get_engine(name.upper())
        assert engine.name == name
        assert get_engine(engine) is engine
    with pytest.raises(CryoctlError) as exc:
        get_engine("fast", bogus=1)
    assert exc.value.field == "engine"


def test_missing_qiskit_dynamics_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "qiskit_dynamics", None)  # import now raises ImportError
    with pytest.raises(CryoctlError) as exc:
        get_engine("dynamics")
    assert exc.value.field == "engine"
    assert "pip install cryoctl[dynamics]" in str(exc.value)


# ---- bad input: validate_signals runs before any solve, for every engine --------------------------------

@pytest.fixture(params=ENGINE_NAMES)
def any_engine(request):
    if request.param in ("dynamics", "jax"):
        pytest.importorskip({"dynamics": "qiskit_dynamics", "jax": "jax"}[request.param])
    return get_engine(request.param)


BAD_SIGNALS = [
    (dict(signals={"flux0": np.zeros(4)}), "signals"),  # unknown channel for a single transmon
    (dict(signals={"xy": np.zeros(4)}), "signals"),
    (dict(signals={}), "signals"),
    (dict(signals=np.zeros(4)), "signals"),  # not a dict
    (dict(signals={"xy_i": np.array([0.1, np.nan])}), "signals.xy_i"),
    (dict(signals={"xy_q": np.array([0.1, np.inf])}), "signals.xy_q"),
    (dict(signals={"xy_i": np.zeros((3, 0))}), "signals.xy_i"),  # K = 0
    (dict(signals={"xy_i": np.zeros(0)}), "signals.xy_i"),
    (dict(signals={"xy_i": 0.3}), "signals.xy_i"),  # a scalar has no sample axis
    (dict(signals={"xy_i": ["a", "b"]}), "signals.xy_i"),
    (dict(signals={"xy_i": np.zeros(4), "xy_q": np.zeros(5)}), "signals"),  # shapes do not broadcast
    (dict(signals={"xy_i": np.zeros((2, 4)), "xy_q": np.zeros((3, 4))}), "signals"),
    (dict(dt_ns=0.0), "dt_ns"),
    (dict(dt_ns=-1.0), "dt_ns"),
    (dict(dt_ns=np.nan), "dt_ns"),
    (dict(dt_ns=np.inf), "dt_ns"),
    (dict(dt_ns=np.array([1.0, 2.0])), "dt_ns"),
    (dict(model="transmon"), "model"),
]


@pytest.mark.parametrize("method", ["propagate", "channel"])
@pytest.mark.parametrize("kwargs,field", BAD_SIGNALS)
def test_bad_signal_input_names_the_field(request, any_engine, method, kwargs, field):
    args = dict(model=transmon(3, t1_us=10.0), signals={"xy_i": np.zeros(4) + 0.1}, dt_ns=1.0)
    args.update(kwargs)
    with pytest.raises(CryoctlError) as exc:
        getattr(any_engine, method)(**args)
    assert exc.value.field == field


def test_unknown_channel_lists_the_model_channels():
    pair = SystemModel.coupled_transmons(2, (0.0, 0.0), (-0.3, -0.3), 0.01)
    with pytest.raises(CryoctlError) as exc:
        validate_signals(pair, {"xy_i": np.zeros(3)}, 1.0)  # single-transmon name on the pair model
    assert exc.value.field == "signals"
    for name in ("flux0", "flux1", "xy_i0", "xy_q0", "xy_i1", "xy_q1"):
        assert name in str(exc.value)


def test_validate_signals_returns_float_arrays():
    out = validate_signals(transmon(2), {"xy_i": [1, 2, 3], "xy_q": np.arange(3)}, 2)
    assert set(out) == {"xy_i", "xy_q"}
    assert all(v.dtype == float and v.shape == (3,) for v in out.values())


@pytest.mark.parametrize("levels", [1, 0, -3, 2.5, "3", True])
def test_bad_levels_name_the_field(levels):
    with pytest.raises(CryoctlError) as exc:
        SystemModel.transmon(levels, ALPHA_GHZ)
    assert exc.value.field == "levels"


@pytest.mark.parametrize("levels", [None, "three"])
def test_non_numeric_levels_name_the_field(levels):
    with pytest.raises(CryoctlError) as exc:
        SystemModel.transmon(levels, ALPHA_GHZ)
    assert exc.value.field == "levels"


def test_integral_float_levels_are_accepted():
    assert SystemModel.transmon(3.0, ALPHA_GHZ).dims == (3,)


COHERENCE = [(-1.0, None, "t1_us"), (None, 0.0, "t2_us"), (10.0, 25.0, "t2_us"), (np.inf, None, "t1_us"),
             (np.nan, None, "t1_us"), (None, -2.0, "t2_us")]


@pytest.mark.parametrize("t1,t2,field", COHERENCE)
def test_bad_coherence_times_name_the_field(t1, t2, field):
    with pytest.raises(CryoctlError) as exc:
        SystemModel.transmon(3, ALPHA_GHZ, t1_us=t1, t2_us=t2)
    assert exc.value.field == field


@pytest.mark.parametrize("qubit", [0, 1])
@pytest.mark.parametrize("t1,t2,field", COHERENCE)
def test_bad_coherence_times_of_a_pair_name_the_field(qubit, t1, t2, field):
    t1s, t2s = [None, None], [None, None]
    t1s[qubit], t2s[qubit] = t1, t2
    with pytest.raises(CryoctlError) as exc:
        SystemModel.coupled_transmons(2, (0.0, 0.0), (-0.3, -0.3), 0.01, t1_us=tuple(t1s), t2_us=tuple(t2s))
    assert exc.value.field == field


@pytest.mark.parametrize("levels", [1, 2.5])
def test_bad_levels_of_a_pair_name_the_field(levels):
    with pytest.raises(CryoctlError) as exc:
        SystemModel.coupled_transmons(levels, (0.0, 0.0), (-0.3, -0.3), 0.01)
    assert exc.value.field == "levels"


def test_model_rejects_bad_operators():
    """SystemModel checks shapes against dims and Hermiticity of static/drive operators."""
    eye = np.eye(2)
    with pytest.raises(CryoctlError) as exc:
        SystemModel((3,), eye, {})
    assert exc.value.field == "static"
    with pytest.raises(CryoctlError) as exc:
        SystemModel((2,), eye, {"xy_i": np.eye(3)})
    assert exc.value.field == "xy_i"
    with pytest.raises(CryoctlError) as exc:
        SystemModel((2,), eye, {"xy_i": np.array([[0, 1], [0, 0]])})  # not Hermitian
    assert exc.value.field == "xy_i"
    with pytest.raises(CryoctlError) as exc:
        SystemModel((2,), eye, {}, collapse=(np.zeros((3, 3)),))
    assert exc.value.field == "collapse"
    SystemModel((2,), eye, {}, collapse=(np.array([[0, 1], [0, 0]]),))  # collapse need not be Hermitian


def test_model_channels_and_closed():
    m = transmon(3, t1_us=1.0, t2_us=1.5)
    assert m.channels == ("xy_i", "xy_q") and m.dim == 3 and m.is_open and len(m.collapse) == 2
    c = m.closed()
    assert not c.is_open and c.channels == m.channels and c.static is m.static
    pair = SystemModel.coupled_transmons(3, (0.0, 0.1), (-0.3, -0.2), 0.01, t1_us=(1.0, None))
    assert pair.dims == (3, 3) and pair.dim == 9 and len(pair.collapse) == 1
    assert set(pair.channels) == {"flux0", "flux1", "xy_i0", "xy_q0", "xy_i1", "xy_q1"}
    assert not pair.iq_transmon and m.iq_transmon
