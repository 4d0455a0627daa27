"""Solve plan: the method a table needs, its counts (quadrature nodes per noise rank), memory refusal
before allocating, and the T1/T2 idle floor."""

import numpy as np
import pytest

from cryoctl.errors import CryoctlError
from cryoctl.gates import build_gate_table, realize
from cryoctl.gates.plan import (
    UNIT_COSTS,
    expansion_bound,
    idle_floor_infidelity,
    measure_unit_costs,
    solve_plan,
)
from cryoctl.physics import get_engine
from cryoctl.profile import load_profile, validate_profile
from cryoctl.pulse import Drive


def _profile(dac=None, pulse=None, qubits=None):
    return validate_profile({"name": "t", "dac": {"bits": 4, **(dac or {})}, "pulse": pulse or {},
                             "qubits": {"count": 1, **(qubits or {})}})


class SpyEngine:
    """The fast engine, recording the shape of every batch of signals it is given."""

    name = "fast"

    def __init__(self):
        self._eng = get_engine("fast")
        self.calls = []

    def propagate(self, model, signals, dt_ns):
        self.calls.append(("propagate", np.broadcast_shapes(*(np.shape(v) for v in signals.values()))))
        return self._eng.propagate(model, signals, dt_ns)

    def channel(self, model, signals, dt_ns):
        self.calls.append(("channel", np.broadcast_shapes(*(np.shape(v) for v in signals.values()))))
        return self._eng.channel(model, signals, dt_ns)


@pytest.mark.parametrize("name, sets, kind, method", [
    ("cryo_cmos_6bit", {}, "channel", "levels"),
    ("rfsoc_14bit", {}, "channel", "levels"),
    ("awg_16bit_rt", {}, "channel", "levels"),
    ("cryo_cmos_6bit", {"pulse.amplitude_mode": "scaled"}, "channel", "quadrature"),
    ("cryo_cmos_6bit", {"dac.reconstruction_filter": {"cutoff_ghz": 0.5}, "dac.oversampling": 4}, "channel", "montecarlo"),
    ("cryo_cmos_6bit", {"dac.noise_v_per_sqrt_hz": 0, "dac.jitter_rms_ps": 0, "pulse.amplitude_mode": "scaled"},
     "channel", "lindblad"),
    ("cryo_cmos_6bit", {"dac.noise_v_per_sqrt_hz": 0, "dac.jitter_rms_ps": 0}, "channel", "levels"),
    ("ideal", {}, "unitary", "unitary"),
])
def test_auto_method(name, sets, kind, method):
    plan = solve_plan(load_profile(name, sets))
    assert (plan.kind, plan.method) == (kind, method)
    assert f"method {method}" in plan.describe()


def test_node_count_per_noise_rank_and_the_nodes_realize_uses():
    """White noise makes both DACs noisy even where the pulse leaves the Q DAC at code 0 (Gaussian, no
    DRAG): 3^2 = 9 nodes per sample (the former CLI count said 3). Jitter alone is one shared draw: 3."""
    white = _profile(dac={"noise_v_per_sqrt_hz": 1e-9})
    jitter = _profile(dac={"jitter_rms_ps": 2.0})
    for prof, rank in ((white, 2), (jitter, 1)):
        plan = solve_plan(prof)
        assert (plan.method, plan.noise_rank, plan.nodes) == ("quadrature", rank, 3**rank)
        k = plan.samples
        assert plan.solves == 2 * 16 * k * 3**rank and plan.matmuls == 2 * 16 * (k - 1)
        spy = SpyEngine()
        realize(Drive(prof, 0), np.arange(-8, 8), "x", plan=plan, engine=spy)
        (what, shape), = spy.calls  # one batched call: (distinct samples, nodes, one sample)
        assert what == "propagate" and shape[1:] == (3**rank, 1)
    plan = solve_plan(white, n_nodes=5)
    assert plan.nodes == 25


def test_level_plan_counts():
    p = load_profile("cryo_cmos_6bit")  # 4 qubits, 6 bit, 80 samples, white noise + jitter, T1/T2
    plan = solve_plan(p)
    assert (plan.level_pairs, plan.stencil) == (64, 5)
    assert plan.solves == 8 * 64 * (5 + 1)  # 5 stencil points + the Lindblad step per level
    assert plan.matmuls == 8 * 64 * 79
    assert plan.table_bytes == 4 * 2 * 64 * 81 * 16
    assert plan.expansion_bound < 1e-15  # the shipped noise: the second-order average is exact here
    loud = load_profile("cryo_cmos_6bit", {"dac.noise_v_per_sqrt_hz": 1e-6})
    assert expansion_bound(loud) > 1e-12 and solve_plan(loud).method == "quadrature"


def test_forcing_a_wrong_method_is_an_error():
    sampled = load_profile("cryo_cmos_6bit")
    filtered = load_profile("cryo_cmos_6bit", {"dac.reconstruction_filter": {"cutoff_ghz": 0.5}, "dac.oversampling": 4})
    quiet = load_profile("ideal")
    for prof, method in ((filtered, "levels"), (filtered, "quadrature"), (quiet, "montecarlo"), (quiet, "quadrature"),
                         (sampled, "unitary"), (sampled, "lindblad"), (quiet, "lindblad"),
                         (load_profile("cryo_cmos_6bit", {"pulse.amplitude_mode": "scaled"}), "levels")):
        with pytest.raises(CryoctlError) as err:
            solve_plan(prof, method=method)
        assert err.value.field == "method" and repr(method) in str(err.value)
    for bad, field in (({"engine": "warp"}, "engine"), ({"n_nodes": 0}, "n_nodes"), ({"n_draws": 0}, "n_draws"),
                       ({"kind": "both"}, "kind"), ({"method": "bogus"}, "method")):
        with pytest.raises(CryoctlError) as err:
            solve_plan(sampled, **bad)
        assert err.value.field == field
    # kind="unitary": the static closed pulse, whatever the noise and T1/T2 (what calibration scans)
    assert (solve_plan(sampled, kind="unitary").kind, solve_plan(sampled, kind="unitary").method) == ("unitary", "levels")


def test_realize_refuses_arguments_its_method_would_ignore():
    p = _profile(dac={"noise_v_per_sqrt_hz": 1e-9})
    drive = Drive(p, 0)
    plan = solve_plan(p)
    for kw in ({"rng": np.random.default_rng(0)}, {"n_draws": 8}):
        with pytest.raises(CryoctlError) as err:
            realize(drive, np.array([3]), "x", plan=plan, **kw)
        assert err.value.field == next(iter(kw))
    other = solve_plan(_profile(dac={"bits": 5}))
    with pytest.raises(CryoctlError) as err:
        realize(drive, np.array([3]), "x", plan=other)
    assert err.value.field == "plan"
    with pytest.raises(CryoctlError) as err:
        realize(drive, np.array([3]), "x", plan=solve_plan(p, engine="qutip"), engine=get_engine("fast"))
    assert err.value.field == "engine"


def test_check_memory_names_the_bytes_and_build_refuses_before_allocating(monkeypatch):
    p = load_profile("cryo_cmos_6bit", {"dac.bits": 24})
    plan = solve_plan(p)
    assert plan.table_bytes == 4 * 2 * 2**24 * 81 * 16  # 174 GB of channels
    assert plan.memory_bytes == plan.table_bytes + plan.table_bytes // 8 + plan.working_bytes  # + one channel's block
    with pytest.raises(CryoctlError) as err:
        plan.check_memory(limit_bytes=10**9)
    assert err.value.field == "memory" and "196 GB" in str(err.value) and "\n" not in str(err.value)
    plan.check_memory(limit_bytes=10**12)  # fits: no error
    monkeypatch.setenv("CRYOCTL_MEMORY_LIMIT_GB", "0.001")  # 1 MB: even a 6-bit table is refused
    small = load_profile("cryo_cmos_6bit", {"qubits.count": 1})

    def calibrate_must_not_run(*a, **k):
        raise AssertionError("calibration ran before the memory check")

    monkeypatch.setattr("cryoctl.gates.build.calibrate", calibrate_must_not_run)
    with pytest.raises(CryoctlError) as err:
        build_gate_table(small)
    assert err.value.field == "memory" and "CRYOCTL_MEMORY_LIMIT_GB" in str(err.value)
    monkeypatch.setenv("CRYOCTL_MEMORY_LIMIT_GB", "lots")
    with pytest.raises(CryoctlError) as err:
        solve_plan(small).check_memory()
    assert err.value.field == "CRYOCTL_MEMORY_LIMIT_GB"


def test_time_estimate_is_counts_times_unit_costs():
    plan = solve_plan(load_profile("cryo_cmos_6bit"))
    assert plan.lindblad_solves == 8 * 64  # one Lindblad step per level; the stencil points are unitary
    want = (plan.lindblad_solves * UNIT_COSTS["expm_channel"] + (plan.solves - plan.lindblad_solves)
            * UNIT_COSTS["expm_unitary"] + plan.matmuls * UNIT_COSTS["matmul_channel"]
            + 8 * 64 * plan.samples * UNIT_COSTS["sample"])
    assert plan.seconds == pytest.approx(want, rel=1e-12)
    doubled = plan.with_unit_costs({k: 2 * v for k, v in UNIT_COSTS.items()})
    assert doubled.seconds == pytest.approx(2 * plan.seconds, rel=1e-12)
    costs = measure_unit_costs()
    assert set(costs) == set(UNIT_COSTS) - {"sample"} and all(v > 0 for v in costs.values())


def _block_trace(levels, t_ns, dt_ns, t1_us, t2_us):
    """Tr of the qubit block of the fast engine's idle channel (zero drive for t_ns)."""
    from cryoctl.physics import SystemModel

    k = int(round(t_ns / dt_ns))
    model = SystemModel.transmon(levels, -0.3, t1_us=t1_us, t2_us=t2_us)
    s = get_engine("fast").channel(model, {"xy_i": np.zeros(k)}, dt_ns)
    idx = np.array([i * levels + j for i in (0, 1) for j in (0, 1)])
    return np.trace(s[np.ix_(idx, idx)]).real


@pytest.mark.parametrize("t1,t2", [(0.5, 0.3), (0.5, None), (None, 0.2), (0.2, 0.4)])
def test_idle_floor_matches_the_engine_idle_channel(t1, t2):
    """1 - F_avg of the closed form == (2 Tr S / 4 + 1) / 3 of the fast engine's zero-drive channel."""
    sets = ["qubits.levels=3", "pulse.duration_ns=60", "pulse.sigma_ns=15", "dac.sample_rate_gsps=1"]
    sets += [f"qubits.t1_us={t1}" if t1 else "qubits.t1_us=null", f"qubits.t2_us={t2}" if t2 else "qubits.t2_us=null"]
    prof = load_profile("cryo_cmos_6bit", sets)
    infid, t_ns = idle_floor_infidelity(prof)
    assert t_ns == pytest.approx(60.0)
    f_engine = (2 * _block_trace(3, t_ns, prof.dac.dt_ns, t1, t2) / 4 + 1) / 3
    assert infid == pytest.approx(1 - f_engine, rel=1e-9, abs=1e-15)
    if t1 and t2:  # the closed form (3 + e^{-t/T1} + 2 e^{-t/T2}) / 6
        assert 1 - infid == pytest.approx((3 + np.exp(-60 / (t1 * 1e3)) + 2 * np.exp(-60 / (t2 * 1e3))) / 6, abs=1e-15)
    assert infid > 1e-5  # visibly non-zero: the comparison can fail


def test_idle_floor_none_without_decoherence():
    prof = load_profile("cryo_cmos_6bit", ["qubits.t1_us=null", "qubits.t2_us=null"])
    assert idle_floor_infidelity(prof) is None
