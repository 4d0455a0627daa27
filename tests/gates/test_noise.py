"""Noise-averaged channels: exact per-sample Gauss-Hermite quadrature (shared-clock covariance) vs Monte
Carlo and closed forms."""

import numpy as np
import pytest

from cryoctl.dac import Dac
from cryoctl.errors import CryoctlError
from cryoctl.gates import average_gate_fidelity, build_gate_table, calibrate, realize
from cryoctl.conventions import kron_conj
from cryoctl.physics import get_engine
from cryoctl.gates.plan import solve_plan
from cryoctl.physics import SystemModel
from cryoctl.profile import load_profile, validate_profile
from cryoctl.pulse import Drive

# exaggerated noise so the averaging is visible above the Monte Carlo error of 2000 draws
LOUD = {"noise_v_per_sqrt_hz": 1.5e-6, "jitter_rms_ps": 1000.0}  # comparable white and jitter terms


def _profile(levels, dac=None, qubits=None):
    return validate_profile({"name": "t", "dac": {"bits": 3, **(dac or {})}, "pulse": {},
                             "qubits": {"count": 1, "levels": levels, **(qubits or {})}})


def _monte_carlo(drive, codes, beta, n, seed, lindblad=False):
    """Per-code mean and standard error of n independent full-pulse draws (Drive.omegas + engine): the
    draws share one jitter value per sample between I and Q (one clock)."""
    eng = get_engine("fast")
    w_i, w_q = drive.omegas(np.broadcast_to(codes, (n, codes.size)), "x", beta, np.random.default_rng(seed))
    model = SystemModel.from_profile(drive.profile, drive.qubit)
    sig = {"xy_i": w_i, "xy_q": w_q}
    if lindblad:
        s = eng.channel(model, sig, drive.dt_sim_ns)
    else:
        s = kron_conj(eng.propagate(model.closed(), sig, drive.dt_sim_ns))
    return s.mean(axis=0), s.std(axis=0) / np.sqrt(n), s


def _process_fidelity(s, s0):
    """Tr(S0^dag S) / d^2: for S = kron(U, U*), S0 = kron(U0, U0*) it is |Tr(U0^dag U)|^2 / d^2."""
    return np.einsum("...ab,...ab->...", np.conj(s0), s).real / s0.shape[-1]


@pytest.mark.parametrize("levels, oversampling", [(2, 1), (3, 2)])
def test_quadrature_matches_monte_carlo_within_standard_error(levels, oversampling):
    """I and Q both noisy (beta != 0, white noise on both DACs, jitter on the envelope and DRAG edges,
    correlated through the shared clock: the quadrature uses the 2x2 covariance per sample); with
    oversampling the Monte Carlo draws run on the sub-sample grid, the quadrature on DAC samples."""
    p = _profile(levels, dac={**LOUD, "oversampling": oversampling})
    drive = Drive(p, 0)
    codes = np.arange(p.dac.code_min, p.dac.code_max + 1)
    beta = 0.3
    quad = realize(drive, codes, "x", beta, plan=solve_plan(p, method="quadrature", n_nodes=7))
    mean, se, draws = _monte_carlo(drive, codes, beta, 2000, seed=5)
    assert np.all(np.abs(quad - mean) <= 4.5 * se + 1e-12)
    z = np.abs(quad - mean)[se > 1e-9] / se[se > 1e-9]
    assert np.sqrt(np.mean(z**2)) < 1.3  # |complex error| / (complex std of the mean): ~1 when unbiased
    # the matrix elements move at first order in the noise, the loss of process fidelity to the static
    # gate at second order: there the averaging is visible far above the Monte Carlo error
    static = kron_conj(realize(drive, codes, "x", beta))  # no plan: the static closed pulse
    loss_draws = 1 - _process_fidelity(draws, static)
    loss_se = loss_draws.std(axis=0) / np.sqrt(loss_draws.shape[0])
    loss = 1 - _process_fidelity(quad, static)
    assert np.all(loss > 20 * loss_se)
    assert np.all(np.abs(loss - loss_draws.mean(axis=0)) <= 4.5 * loss_se)


def test_shared_clock_jitter_correlates_i_and_q():
    """Jitter only, a strong DRAG quadrature (|q| ~ |g|): one clock edge error moves both DACs, so the
    per-sample noise has rank 1 and correlates I and Q. The quadrature (3 nodes along the one direction)
    matches Monte Carlo of shared-clock draws; draws with independent I and Q jitter (the former model,
    Dac.perturb per channel) are many standard errors away, so the comparison can fail."""
    p = _profile(2, dac={"jitter_rms_ps": 3000.0})
    drive = Drive(p, 0)
    codes = np.arange(p.dac.code_min, p.dac.code_max + 1)
    beta = 30.0
    plan = solve_plan(p)
    assert (plan.method, plan.noise_rank, plan.nodes) == ("quadrature", 1, 3)
    quad = realize(drive, codes, "x", beta, plan=plan)
    np.testing.assert_allclose(quad, realize(drive, codes, "x", beta, plan=solve_plan(p, n_nodes=9)), atol=1e-8)
    mean, se, _ = _monte_carlo(drive, codes, beta, 2000, seed=5)
    assert np.all(np.abs(quad - mean) <= 4.5 * se + 1e-12)
    rng = np.random.default_rng(5)
    v_i, v_q = drive.static_volts(np.broadcast_to(codes, (2000, codes.size)), "x", beta)
    v_i, v_q = drive.dac_i.perturb(v_i, rng), drive.dac_q.perturb(v_q, rng)  # independent clocks
    model = SystemModel.from_profile(p, 0).closed()
    indep = kron_conj(get_engine("fast").propagate(model, drive.signals(v_i, v_q), drive.dt_sim_ns)).mean(axis=0)
    assert np.max(np.abs(quad - indep)[se > 1e-9] / se[se > 1e-9]) > 6.0


def test_open_system_average_factorizes_per_sample():
    """T1/T2 + noise: E[P_K ... P_1] = E[P_K] ... E[P_1] for the Lindblad steps too (exact=True),
    against Monte Carlo of full noisy Lindblad pulses; the default per-sample factorization agrees."""
    p = _profile(2, dac=LOUD, qubits={"t1_us": 0.2, "t2_us": 0.15})
    drive = Drive(p, 0)
    codes = np.arange(p.dac.code_min, p.dac.code_max + 1)
    exact = realize(drive, codes, "x", 0.3, plan=solve_plan(p, exact=True))
    mean, se, _ = _monte_carlo(drive, codes, 0.3, 2000, seed=6, lindblad=True)
    assert np.all(np.abs(exact - mean) <= 4.5 * se + 1e-12)
    fact = realize(drive, codes, "x", 0.3, plan=solve_plan(p))
    # cross term O(s^2 T_s^3 Omega / T1) per sample: far below the MC error even at this noise
    assert np.abs(fact - exact).max() < 0.05 * se.max()


def test_jitter_only_two_levels_matches_closed_form_exactly():
    """Two levels, I only, jitter only: all steps commute (H_k ~ X), the angle is theta0 + x with
    x ~ N(0, s^2), s = G jitter sqrt(sum_k (V_k - V_{k-1})^2), so F_avg = 1 - (1 - e^{-s^2/2} cos d0) / 3
    exactly; the former 4000-draw Monte Carlo matched it to 8 %, the quadrature matches to rounding."""
    jit_ps = 1500.0
    p = validate_profile({"name": "t", "dac": {"bits": 10, "jitter_rms_ps": jit_ps},
                          "qubits": {"count": 1, "levels": 2}})
    drive = Drive(p, 0)
    code = np.array([300])
    plan = solve_plan(p)
    assert (plan.method, plan.noise_rank, plan.nodes) == ("quadrature", 1, 3)  # one shared jitter draw
    s_chan = realize(drive, code, "x", plan=plan)  # no generator: deterministic
    v = drive.static_volts(code, "x", 0.0)[0][0]
    s = drive.gain * jit_ps * 1e-3 * np.sqrt(np.sum(np.diff(v, prepend=v[0]) ** 2))
    theta0 = drive.gain * p.dac.dt_ns * v.sum()
    d0 = theta0 - np.pi
    want = 1 - (1 - np.exp(-(s**2) / 2) * np.cos(d0)) / 3
    assert 0.02 < s < 0.2 and abs(d0) > 0.01
    assert average_gate_fidelity(s_chan, "channel", "x", np.pi)[0] == pytest.approx(want, abs=1e-13)
    assert Dac(p.dac, 0).static(code)[0] > 0


def test_quadrature_converges_and_is_deterministic_at_realistic_noise():
    p = load_profile("cryo_cmos_6bit", {"qubits.count": 1})
    drive = Drive(p, 0)
    codes = np.arange(p.dac.code_min, p.dac.code_max + 1)
    q = {n: realize(drive, codes, "y", 0.4, plan=solve_plan(p, method="quadrature", n_nodes=n)) for n in (3, 5, 9)}
    np.testing.assert_allclose(q[5], q[9], rtol=0, atol=1e-12)
    np.testing.assert_allclose(q[3], q[9], rtol=0, atol=1e-12)  # the default node count
    np.testing.assert_array_equal(q[3], realize(drive, codes, "y", 0.4, plan=solve_plan(p, method="quadrature")))
    # per-sample noise x T1/T2 factorization vs averaging the Lindblad steps themselves
    exact = realize(drive, codes, "y", 0.4, plan=solve_plan(p, method="quadrature", exact=True))
    np.testing.assert_allclose(q[3], exact, rtol=0, atol=1e-11)
    # the default for this sampled profile is the level look-up: the same channels
    plan = solve_plan(p)
    assert plan.method == "levels"
    np.testing.assert_allclose(realize(drive, codes, "y", 0.4, plan=plan), q[9], rtol=0, atol=1e-12)


def test_zero_noise_limit_is_the_unitary_table():
    """Noise far below rounding: the quadrature path (DAC-sample steps, here with 4 sub-samples each)
    gives kron(U, U*) of the unitary table up to rounding."""
    p = _profile(3, dac={"noise_v_per_sqrt_hz": 1e-30, "oversampling": 4})
    plan = solve_plan(p)
    assert (plan.method, plan.kind) == ("quadrature", "channel")
    drive = Drive(p, 0)
    codes = np.arange(p.dac.code_min, p.dac.code_max + 1)
    chan = realize(drive, codes, "x", 0.5, plan=plan)
    u = realize(drive, codes, "x", 0.5)
    np.testing.assert_allclose(chan, kron_conj(u), rtol=0, atol=1e-13)


def test_reconstruction_filter_falls_back_to_monte_carlo():
    p = _profile(2, dac={"noise_v_per_sqrt_hz": 1e-7, "oversampling": 4,
                         "reconstruction_filter": {"kind": "bessel", "order": 2, "cutoff_ghz": 0.5}})
    plan = solve_plan(p)
    assert plan.method == "montecarlo"
    drive = Drive(p, 0)
    with pytest.raises(CryoctlError, match="reconstruction filter") as err:
        solve_plan(p, method="quadrature")
    assert err.value.field == "method"
    with pytest.raises(CryoctlError) as err:  # Monte Carlo needs its generator
        realize(drive, np.array([1]), "x", plan=plan)
    assert err.value.field == "rng"
    t = build_gate_table(p, calibration=calibrate(p, use_cache=False), n_noise_draws=4)
    assert t.meta["noise_average"] == "montecarlo" and t.meta["n_noise_draws"] == 4
    with pytest.raises(CryoctlError) as err:
        solve_plan(p, method="bogus")
    assert err.value.field == "method"


def test_monte_carlo_noise_x_decoherence_factorization_still_matches_its_exact_mode():
    """The whole-pulse factorization E_noise S_dec of the Monte Carlo path (used with a filter) vs
    every draw through Lindblad, same draws: the cross term is (noise) x (T/T1) small."""
    p = _profile(3, dac={"noise_v_per_sqrt_hz": 1e-7, "jitter_rms_ps": 5.0, "oversampling": 2,
                         "reconstruction_filter": {"order": 2, "cutoff_ghz": 0.8}},
                 qubits={"t1_us": 2.0, "t2_us": 3.0})
    drive = Drive(p, 0)
    codes = np.arange(p.dac.code_min, p.dac.code_max + 1)
    fact = realize(drive, codes, "y", rng=np.random.default_rng(2), plan=solve_plan(p, n_draws=16))
    exact = realize(drive, codes, "y", rng=np.random.default_rng(2), plan=solve_plan(p, n_draws=16, exact=True))
    static = realize(drive, codes, "y")
    assert np.abs(exact - kron_conj(static)).max() > 1e-3  # T1/T2 and noise are visible
    np.testing.assert_allclose(fact, exact, rtol=0, atol=1e-4)
