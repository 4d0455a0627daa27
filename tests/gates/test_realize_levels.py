"""Level look-up composition: one step per distinct DAC level pair, composed per code, against the
per-(code, sample) realizations (quadrature, whole-pulse propagators and Lindblad channels)."""

import numpy as np
import pytest

from cryoctl.gates import realize
from cryoctl.conventions import kron_conj
from cryoctl.gates.realize import realize_pulses
from cryoctl.gates.plan import solve_plan
from cryoctl.physics import get_engine
from cryoctl.profile import load_profile, validate_profile
from cryoctl.pulse import Drive


def _sampled(dac=None, pulse=None, qubits=None):
    return validate_profile({
        "name": "lv", "dac": {"bits": 5, "sample_rate_gsps": 1.0, "unit_mismatch_sigma": 0.02, "mismatch_seed": 3,
                               **(dac or {})},
        "pulse": {"amplitude_mode": "sampled", **(pulse or {})}, "qubits": {"count": 1, **(qubits or {})}})


class CountingEngine:
    """The fast engine, counting the single-sample steps (points) it is asked for."""

    name = "fast"

    def __init__(self):
        self._eng = get_engine("fast")
        self.points = 0

    def _count(self, signals):
        shape = np.broadcast_shapes(*(np.shape(v) for v in signals.values()))
        self.points += int(np.prod(shape[:-1])) * shape[-1]

    def propagate(self, model, signals, dt_ns):
        self._count(signals)
        return self._eng.propagate(model, signals, dt_ns)

    def channel(self, model, signals, dt_ns):
        self._count(signals)
        return self._eng.channel(model, signals, dt_ns)


NOISY = {"noise_v_per_sqrt_hz": 1e-9, "jitter_rms_ps": 10.0}


@pytest.mark.parametrize("dac, qubits, beta", [
    (NOISY, {"t1_us": 5.0, "t2_us": 4.0}, 0.0),  # white + jitter + T1/T2, Gaussian
    (NOISY, {}, 0.8),  # DRAG: both DACs slope, the shared clock correlates them (cross stencil)
    ({"jitter_rms_ps": 15.0}, {"t1_us": 5.0}, 0.8),  # jitter only: rank-1 noise
    ({"noise_v_per_sqrt_hz": 2e-9, "oversampling": 3}, {"t1_us": 5.0, "t2_us": 4.0}, 0.5),  # white only
])
def test_levels_equal_the_per_sample_quadrature(dac, qubits, beta):
    p = _sampled(dac=dac, pulse={"shape": "drag" if beta else "gaussian"}, qubits=qubits)
    drive = Drive(p, 0)
    codes = np.arange(p.dac.code_min, p.dac.code_max + 1)
    plan = solve_plan(p)
    assert plan.method == "levels" and plan.expansion_bound < 1e-12
    for axis in ("x", "y"):
        lv = realize(drive, codes, axis, beta, plan=plan)
        quad = realize(drive, codes, axis, beta, plan=solve_plan(p, method="quadrature"))
        static = realize(drive, codes, axis, beta)
        np.testing.assert_allclose(lv, quad, rtol=0, atol=2e-13)
        # the noise and T1/T2 are visible: the comparison can fail
        assert np.abs(quad - kron_conj(static)).max() > 100 * 2e-13
    # averaging the Lindblad steps themselves (exact=True) agrees the same way
    if qubits:
        lv = realize(drive, codes, "x", beta, plan=solve_plan(p, exact=True))
        quad = realize(drive, codes, "x", beta, plan=solve_plan(p, method="quadrature", exact=True))
        np.testing.assert_allclose(lv, quad, rtol=0, atol=2e-13)


def test_levels_equal_whole_pulse_solves_without_noise():
    """Closed static pulse: unitary per level == propagators of whole pulses on the oversampled grid;
    T1/T2 only: Lindblad steps per level == whole-pulse Lindblad channels."""
    p = _sampled(dac={"oversampling": 2}, pulse={"shape": "drag"}, qubits={"t1_us": 3.0, "t2_us": 2.0})
    drive = Drive(p, 0)
    codes = np.arange(p.dac.code_min, p.dac.code_max + 1)
    u_lv = realize(drive, codes, "y", 0.6)  # no plan: the closed static pulse, by level look-up
    assert solve_plan(p, kind="unitary").method == "levels"
    u_ref = realize_pulses(drive, codes, "y", 0.6, solve_plan(p, kind="unitary"), get_engine("fast"))
    np.testing.assert_allclose(u_lv, u_ref, rtol=0, atol=1e-13)
    plan = solve_plan(p)
    assert plan.method == "levels" and plan.noise_rank == 0
    s_ref = realize(drive, codes, "y", 0.6, plan=solve_plan(p, method="lindblad"))
    np.testing.assert_allclose(realize(drive, codes, "y", 0.6, plan=plan), s_ref, rtol=0, atol=1e-13)
    assert np.abs(s_ref[1:] - s_ref[:-1]).max() > 1e-2  # different codes, different channels


def test_each_level_pair_is_solved_once_for_the_whole_request():
    """A Gaussian x pulse keeps the Q DAC at code 0: the distinct pairs are the distinct I codes of all
    samples of all codes; each is solved once (x its 5 stencil points with white noise + jitter on both
    DACs, + its Lindblad step), however many codes and samples use it."""
    p = _sampled(dac={**NOISY, "bits": 7}, qubits={"t1_us": 5.0, "t2_us": 4.0})
    drive = Drive(p, 0)
    codes = np.arange(p.dac.code_min, p.dac.code_max + 1)
    ci, cq = drive.channel_codes(codes, "x", 0.0)
    assert np.all(cq == 0)
    n_levels = np.unique(ci).size
    spy = CountingEngine()
    realize(drive, codes, "x", plan=solve_plan(p), engine=spy)
    assert spy.points == n_levels * 5 + n_levels  # stencil unitaries + one P0 per level
    assert spy.points < codes.size * drive.n_samples * 9 / 5  # the quadrature: 9 nodes per (code, sample)


def test_second_order_error_stays_below_the_stated_bound():
    """At loud noise the expansion's error is visible, and below the plan's bound K 4 (d-1)^2 tau^4."""
    p = _sampled(dac={"noise_v_per_sqrt_hz": 3e-7, "jitter_rms_ps": 300.0}, qubits={"levels": 2})
    drive = Drive(p, 0)
    codes = np.arange(p.dac.code_min, p.dac.code_max + 1)
    plan = solve_plan(p, method="levels")
    assert 1e-9 < plan.expansion_bound < 1e-2
    lv = realize(drive, codes, "x", plan=plan)
    quad = realize(drive, codes, "x", plan=solve_plan(p, method="quadrature", n_nodes=7))
    err = np.abs(lv - quad).max()
    assert 1e-14 < err <= plan.expansion_bound
    assert solve_plan(p).method == "quadrature"  # auto does not accept that bound


def test_shipped_rfsoc_subset_matches_quadrature():
    """rfsoc_14bit at its own 14 bits (256 samples, white noise, jitter, T1/T2), a spread of codes."""
    p = load_profile("rfsoc_14bit", {"qubits.count": 1})
    drive = Drive(p, 0)
    codes = np.array([-8192, -5000, -1, 0, 7, 300, 4095, 8191])
    lv = realize(drive, codes, "x", plan=solve_plan(p))
    quad = realize(drive, codes, "x", plan=solve_plan(p, method="quadrature"))
    np.testing.assert_allclose(lv, quad, rtol=0, atol=1e-12)


def test_per_qubit_parameters_reach_the_levels():
    """qubits.per_qubit: qubit 1 has its own anharmonicity and a T1 (qubit 0 none): each channel is
    realized with its own transmon, and the level look-up still equals the per-sample quadrature."""
    p = _sampled(dac={**NOISY, "bits": 4},
                 qubits={"count": 2, "per_qubit": [{"index": 1, "anharmonicity_ghz": -0.22, "t1_us": 2.0}]})
    codes = np.arange(p.dac.code_min, p.dac.code_max + 1)
    plan = solve_plan(p)
    assert plan.kind == "channel" and plan.method == "levels"
    out = []
    for q in (0, 1):
        drive = Drive(p, q)
        lv = realize(drive, codes, "x", plan=plan)
        np.testing.assert_allclose(lv, realize(drive, codes, "x", plan=solve_plan(p, method="quadrature")),
                                   rtol=0, atol=2e-13)
        out.append(lv)
    # qubit 0 is closed: its noise average is unital (maps 1 to 1); qubit 1 relaxes (not unital)
    eye = np.eye(3).reshape(-1)
    assert np.abs(out[0] @ eye - eye).max() < 1e-12
    assert np.abs(out[1] @ eye - eye).max() > 1e-4
