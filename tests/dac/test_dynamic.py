"""DAC dynamic errors (white noise, clock jitter), zero-order hold, reconstruction filter, render."""

import numpy as np
import pytest
from scipy import signal

from cryoctl.dac import Dac, reconstruction_sos
from cryoctl.errors import CryoctlError
from cryoctl.profile import DacSpec


def test_noise_rms_matches_nyquist_band_formula():
    s = DacSpec(bits=12, sample_rate_gsps=2.0, noise_v_per_sqrt_hz=50e-9)
    dac = Dac(s)
    expected = 50e-9 * np.sqrt(2.0e9 / 2)  # = 1.58 mV
    assert dac.noise_sigma_v == pytest.approx(expected, rel=1e-12)
    v = np.full((400, 500), 0.1)
    out = dac.perturb(v, np.random.default_rng(0))
    assert out.shape == v.shape
    err = out - v
    assert abs(err.std() / expected - 1) < 0.01  # 200k samples: std error 0.16 %
    assert abs(err.mean()) < 4 * expected / np.sqrt(err.size)
    # per shot and per sample independent: no correlation between shots or neighbouring samples
    assert abs(np.corrcoef(err[0], err[1])[0, 1]) < 0.2
    assert abs(np.mean(err[:, 1:] * err[:, :-1])) / expected**2 < 0.01


def test_jitter_error_is_slope_times_jitter():
    s = DacSpec(bits=12, sample_rate_gsps=1.0, jitter_rms_ps=2.0)
    dac = Dac(s)
    k = np.arange(2000)
    slopes = np.array([1e-3, 2e-3, 8e-3])  # V per ns (dt = 1 ns)
    ramps = slopes[:, None] * k  # (3, K)
    err = dac.perturb(ramps, np.random.default_rng(1)) - ramps
    assert np.all(err[:, 0] == 0)  # no edge before the first sample
    rms = np.sqrt(np.mean(err[:, 1:] ** 2, axis=-1))
    np.testing.assert_allclose(rms, slopes * 2e-3, rtol=0.05)  # slope [V/ns] x 2 ps
    # same draws for every row: error exactly proportional to the slope
    e_a = dac.perturb(ramps[0], np.random.default_rng(5)) - ramps[0]
    e_b = dac.perturb(ramps[2], np.random.default_rng(5)) - ramps[2]
    np.testing.assert_allclose(e_b, 8 * e_a, rtol=1e-9, atol=1e-18)
    # a constant waveform has no edges, hence no jitter error
    flat = np.full(100, 0.3)
    assert np.array_equal(dac.perturb(flat, np.random.default_rng(0)), flat)


def test_jitter_on_a_sine_matches_closed_form():
    """Sine A sin(2 pi f t): mean squared slope (2 pi f A)^2 / 2 -> rms error 2 pi f A sigma_t / sqrt 2
    (to first order in the sample period; the backward difference is 2 sin(pi f T)/(pi f T) of the slope)."""
    f_ghz, amp, jit_ps = 0.01, 0.5, 3.0
    s = DacSpec(bits=14, jitter_rms_ps=jit_ps)
    t = np.arange(100_000)
    v = amp * np.sin(2 * np.pi * f_ghz * t)
    err = Dac(s).perturb(v, np.random.default_rng(2)) - v
    expected = 2 * np.pi * f_ghz * amp * jit_ps * 1e-3 / np.sqrt(2) * np.sinc(f_ghz)
    assert abs(err.std() / expected - 1) < 0.02


def test_perturb_needs_a_generator_and_is_a_noop_without_errors():
    dac = Dac(DacSpec(bits=8, noise_v_per_sqrt_hz=1e-9))
    with pytest.raises(CryoctlError) as exc:
        dac.perturb(np.zeros(4), None)
    assert exc.value.field == "rng"
    with pytest.raises(CryoctlError):
        dac.perturb(np.zeros(4), 42)
    clean = Dac(DacSpec(bits=8))
    v = np.linspace(-1, 1, 9)
    assert np.array_equal(clean.perturb(v, np.random.default_rng(0)), v)


def test_zero_order_hold_repeats_samples():
    dac = Dac(DacSpec(bits=6, oversampling=4))
    v = np.random.default_rng(0).normal(size=(2, 3, 5))
    out = dac.hold(v)
    assert out.shape == (2, 3, 20)
    for j in range(4):
        assert np.array_equal(out[..., j::4], v)
    assert np.array_equal(Dac(DacSpec(bits=6)).hold(v), v)  # oversampling 1, no filter: identity


@pytest.mark.parametrize("kind", ["bessel", "butterworth"])
def test_reconstruction_filter_dc_gain_and_cutoff(kind):
    s = DacSpec(bits=10, sample_rate_gsps=1.0, oversampling=8,
                reconstruction_filter={"kind": kind, "order": 5, "cutoff_ghz": 0.4})
    sos = reconstruction_sos(s)
    fs = 8.0
    _, h = signal.sosfreqz(sos, worN=[0.0, 0.4], fs=fs)
    assert abs(h[0]) == pytest.approx(1.0, abs=1e-12)  # unit DC gain
    assert abs(h[1]) == pytest.approx(1 / np.sqrt(2), rel=1e-6)  # -3 dB at cutoff_ghz (pre-warped)
    dac = Dac(s)
    const = np.full((3, 40), 0.25)
    np.testing.assert_allclose(dac.hold(const), 0.25, rtol=0, atol=1e-12)  # starts in steady state
    # a step settles to its final value (DC gain 1) and is smoothed (no instant jump)
    step = np.concatenate([np.zeros(5), np.ones(60)])
    y = dac.hold(step)
    assert y.shape == (65 * 8,)
    assert abs(y[-1] - 1) < 1e-6 and y[5 * 8] < 0.1


def test_filter_attenuates_zoh_images():
    """The ZOH image of a 0.1 GHz tone at f_s - f = 0.9 GHz is suppressed by a 0.3 GHz 6th-order filter."""
    base = dict(bits=14, sample_rate_gsps=1.0, oversampling=16)
    t = np.arange(1000)
    codes = np.round(8000 * np.sin(2 * np.pi * 0.1 * t)).astype(int)

    def image_db(spec):
        y = Dac(spec).render(codes)[16 * 200:]  # skip the start transient
        p = np.abs(np.fft.rfft(y * np.hanning(y.size))) ** 2
        f = np.fft.rfftfreq(y.size, d=1 / 16.0)
        band = lambda f0: p[np.abs(f - f0) < 0.01].max()
        return 10 * np.log10(band(0.9) / band(0.1))

    raw = image_db(DacSpec(**base))
    filt = image_db(DacSpec(**base, reconstruction_filter={"kind": "butterworth", "order": 6, "cutoff_ghz": 0.3}))
    # ZOH alone: sinc(0.9)/sinc(0.1) -> -19.1 dB; 6th-order Butterworth at 3x cutoff adds ~ -57 dB
    assert raw == pytest.approx(20 * np.log10(np.sinc(0.9) / np.sinc(0.1)), abs=0.5)
    assert filt < raw - 45


def test_cutoff_above_nyquist_is_a_user_error():
    s = DacSpec(bits=8, sample_rate_gsps=1.0, reconstruction_filter={"cutoff_ghz": 0.6})
    with pytest.raises(CryoctlError) as exc:
        Dac(s).hold(np.zeros(4))
    assert exc.value.field == "dac.reconstruction_filter.cutoff_ghz"


def test_render_is_hold_of_perturbed_static_and_reproducible():
    s = DacSpec(bits=8, architecture="segmented", unary_msbs=3, unit_mismatch_sigma=0.02, mismatch_seed=4,
                noise_v_per_sqrt_hz=2e-9, jitter_rms_ps=1.5, oversampling=4,
                reconstruction_filter={"cutoff_ghz": 0.45})
    dac = Dac(s, channel=1)
    codes = np.random.default_rng(0).integers(-128, 128, size=(5, 64))
    a = dac.render(codes, np.random.default_rng(7))
    b = Dac(s, channel=1).render(codes, np.random.default_rng(7))
    assert a.shape == (5, 256)
    assert np.array_equal(a, b)  # bit-identical
    manual = dac.hold(dac.perturb(dac.static(codes), np.random.default_rng(7)))
    assert np.array_equal(a, manual)
    assert not np.array_equal(a, dac.render(codes, np.random.default_rng(8)))
    assert not np.array_equal(a, Dac(s, channel=0).render(codes, np.random.default_rng(7)))
    assert np.array_equal(dac.render(codes), dac.hold(dac.static(codes)))  # rng=None: no perturbation


def test_pair_covariance_of_one_clock_matches_draws():
    """I and Q on one clock: the empirical covariance of perturb_pair draws is pair_covariance, whose
    off-diagonal slope_I slope_Q j^2 comes from the shared edge error; with white noise only the two
    channels are uncorrelated, with jitter only they are perfectly (anti)correlated."""
    from cryoctl.dac.dynamic import pair_covariance, perturb_pair

    s = DacSpec(bits=8, noise_v_per_sqrt_hz=2e-6, jitter_rms_ps=800.0, sample_rate_gsps=1.0)
    t = np.arange(6)
    v_i, v_q = 0.3 * np.sin(t), 0.2 * np.cos(1.3 * t)  # slopes of both signs on both channels
    n = 200_000
    e_i, e_q = (e - v for e, v in zip(perturb_pair(s, np.broadcast_to(v_i, (n, 6)), np.broadcast_to(v_q, (n, 6)),
                                                    np.random.default_rng(3)), (v_i, v_q)))
    c_ii, c_iq, c_qq = pair_covariance(s, v_i, v_q)
    for emp, want in ((np.mean(e_i * e_i, 0), c_ii), (np.mean(e_i * e_q, 0), c_iq), (np.mean(e_q * e_q, 0), c_qq)):
        np.testing.assert_allclose(emp, want, rtol=0, atol=5 * np.sqrt(c_ii * c_qq / n).max() * 1.5)
    assert np.abs(c_iq).max() > 20 * np.sqrt(c_ii * c_qq / n).max()  # the cross term is resolved
    jit = DacSpec(bits=8, jitter_rms_ps=800.0, sample_rate_gsps=1.0)
    a, b = (e - v for e, v in zip(perturb_pair(jit, v_i, v_q, np.random.default_rng(4)), (v_i, v_q)))
    slope_i, slope_q = np.diff(v_i, prepend=v_i[0]), np.diff(v_q, prepend=v_q[0])
    np.testing.assert_allclose(a[1:] / slope_i[1:], b[1:] / slope_q[1:], rtol=1e-12)  # one draw d_k per sample
    assert a[0] == b[0] == 0.0  # no edge before the first sample


def test_perturb_pair_draw_order_and_generator():
    from cryoctl.dac.dynamic import noise_sigma_v, perturb_pair, slopes

    s = DacSpec(bits=8, noise_v_per_sqrt_hz=1e-7, jitter_rms_ps=5.0)
    v_i, v_q = np.linspace(0, 0.4, 7), np.linspace(0.1, -0.2, 7)
    got_i, got_q = perturb_pair(s, v_i, v_q, np.random.default_rng(9))
    rng = np.random.default_rng(9)
    n_i, n_q, d = (rng.standard_normal(7) for _ in range(3))  # noise I, noise Q, then the shared jitter
    sig = noise_sigma_v(s)
    np.testing.assert_allclose(got_i, v_i + sig * n_i - slopes(s, v_i) * 5e-3 * d, rtol=0, atol=1e-15)
    np.testing.assert_allclose(got_q, v_q + sig * n_q - slopes(s, v_q) * 5e-3 * d, rtol=0, atol=1e-15)
    with pytest.raises(CryoctlError) as err:
        perturb_pair(s, v_i, v_q, 7)
    assert err.value.field == "rng"
