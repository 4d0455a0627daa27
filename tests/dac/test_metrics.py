"""DAC metrics: DNL/INL/monotonicity on hand-made transfers, sine test against closed forms
(ideal SQNR, noise- and jitter-limited SNR, cubic-nonlinearity SFDR)."""

import numpy as np
import pytest

from cryoctl.dac import Dac, dnl, inl, is_monotonic, sine_codes, sine_test
from cryoctl.errors import CryoctlError
from cryoctl.profile import DacSpec


def test_dnl_inl_by_hand():
    v = np.array([0.0, 1.0, 2.5, 3.0]) * 0.2  # average step 0.2 V = 1 LSB
    np.testing.assert_allclose(dnl(v), [0.0, 0.5, -0.5], atol=1e-12)
    np.testing.assert_allclose(inl(v), [0.0, 0.0, 0.5, 0.0], atol=1e-12)
    # best fit: least-squares line through (k, V_k), INL in units of its slope
    b, a = np.polyfit(np.arange(4), v, 1)
    np.testing.assert_allclose(inl(v, "bestfit"), (v - a - b * np.arange(4)) / b, atol=1e-12)
    assert abs(inl(v, "bestfit").sum()) < 1e-12  # residuals of a LS fit sum to zero
    assert is_monotonic(v) is True
    assert is_monotonic(np.array([0.0, 1.0, 0.9, 2.0])) is False


def test_metrics_are_batched():
    rng = np.random.default_rng(0)
    lv = np.cumsum(rng.uniform(0.2, 1.8, size=(7, 64)), axis=-1)
    lv[3, 10] = lv[3, 9] - 0.1  # one non-monotonic chip
    d, i_ep, i_bf = dnl(lv), inl(lv), inl(lv, "bestfit")
    assert d.shape == (7, 63) and i_ep.shape == i_bf.shape == (7, 64)
    for row in range(7):
        np.testing.assert_allclose(d[row], dnl(lv[row]), atol=1e-12)
        np.testing.assert_allclose(i_bf[row], inl(lv[row], "bestfit"), atol=1e-12)
    # endpoint INL is the running sum of DNL
    np.testing.assert_allclose(i_ep[:, 1:], np.cumsum(d, axis=-1), atol=1e-9)
    assert list(is_monotonic(lv)) == [True, True, True, False, True, True, True]


def test_metric_input_errors():
    with pytest.raises(CryoctlError) as exc:
        inl(np.arange(4.0), method="chord")
    assert exc.value.field == "method"
    with pytest.raises(CryoctlError) as exc:
        dnl(np.array([1.0]))
    assert exc.value.field == "levels"


@pytest.mark.parametrize("bits", range(4, 17))
def test_ideal_dac_enob_and_sqnr(bits):
    res = sine_test(Dac(DacSpec(bits=bits)), n_fft=8192, cycles=811)
    sqnr = 6.02 * bits + 1.76
    assert abs(res.sinad_db - sqnr) < 0.5
    assert abs(res.enob - bits) < 0.1


def test_sine_codes_span_full_scale_without_clipping():
    for bits in (1, 4, 12):
        codes, amp = sine_codes(bits, 4096, 401)
        assert codes.max() == 2 ** (bits - 1) - 1 and codes.min() == -(2 ** (bits - 1))
        assert 2 ** (bits - 1) - amp < 0.01
    # every code of a 6-bit DAC is hit
    codes, _ = sine_codes(6, 4096, 401)
    assert np.unique(codes).size == 64


def test_noise_limited_snr():
    """SNR = P_sig / (LSB^2/12 + sigma_n^2), sigma_n from the Nyquist-band noise formula."""
    bits, fs = 10, 2.0
    lsb = 1.0 / 2 ** (bits - 1)
    sigma_n = 2.0 * lsb
    s = DacSpec(bits=bits, sample_rate_gsps=fs, noise_v_per_sqrt_hz=sigma_n / np.sqrt(fs * 1e9 / 2))
    res = sine_test(Dac(s), n_fft=8192, rng=np.random.default_rng(3))
    p_sig = (res.amplitude_lsb * lsb) ** 2 / 2
    expected = 10 * np.log10(p_sig / (lsb**2 / 12 + sigma_n**2))
    assert res.snr_db == pytest.approx(expected, abs=0.2)
    assert res.sinad_db == pytest.approx(expected, abs=0.2)
    assert res.frequency_ghz == pytest.approx(res.cycles / 8192 * fs)
    # without rng the noise is not applied
    assert sine_test(Dac(s), n_fft=8192).snr_db == pytest.approx(6.02 * bits + 1.76, abs=0.2)


def test_jitter_limited_snr():
    """Published jitter limit SNR = -20 log10(2 pi f sigma_t) (times the ZOH backward-difference
    factor sinc(f/f_s)); 16-bit quantisation (98 dB) is negligible."""
    jit_ps = 5.0
    s = DacSpec(bits=16, sample_rate_gsps=1.0, jitter_rms_ps=jit_ps)
    res = sine_test(Dac(s), n_fft=16384, cycles=1637, rng=np.random.default_rng(0))
    f_hz = res.frequency_ghz * 1e9
    expected = -20 * np.log10(2 * np.pi * f_hz * jit_ps * 1e-12 * np.sinc(res.frequency_ghz / 1.0))
    assert res.snr_db == pytest.approx(expected, abs=0.3)


def test_cubic_nonlinearity_sfdr_and_thd():
    """V/LSB = c + beta c^3 / M^2 (M = 2^(N-1)): for c ~ A sin, the third harmonic has amplitude
    beta A^3 / (4 M^2) and the carrier A (1 + 3 beta A^2 / (4 M^2)) -> SFDR, THD in closed form."""
    bits, beta = 12, 0.02
    m = 2 ** (bits - 1)
    c = np.arange(-m, m, dtype=float)
    table = beta * c**3 / m**2
    dac = Dac(DacSpec(bits=bits, inl_table_lsb=tuple(table)))
    res = sine_test(dac, n_fft=8192, cycles=811)
    a = res.amplitude_lsb
    hd3 = beta * a**3 / (4 * m**2)
    fund = a * (1 + 3 * beta * a**2 / (4 * m**2))
    assert res.sfdr_db == pytest.approx(20 * np.log10(fund / hd3), abs=0.05)
    assert res.thd_db == pytest.approx(-20 * np.log10(fund / hd3), abs=0.05)
    # the spur is the third harmonic
    assert 3 * 811 in res.harmonic_bins
    spectrum = res.spectrum_dbfs.copy()
    spectrum[[0, 811]] = -np.inf
    assert int(np.argmax(spectrum)) == 3 * 811
    assert res.sinad_db < res.snr_db - 20  # distortion dominates


def test_spectrum_is_in_dbfs():
    res = sine_test(Dac(DacSpec(bits=14, full_scale_v=0.5)), n_fft=4096, cycles=409)
    assert res.spectrum_dbfs[409] == pytest.approx(0.0, abs=0.01)  # full-scale carrier = 0 dBFS
    assert res.freqs_ghz.shape == res.spectrum_dbfs.shape == (2049,)


@pytest.mark.parametrize("kw", [dict(cycles=512), dict(cycles=4096), dict(cycles=0), dict(n_fft=8)])
def test_sine_test_rejects_incoherent_settings(kw):
    kw = {"n_fft": 4096, **kw}
    with pytest.raises(CryoctlError) as exc:
        sine_test(Dac(DacSpec(bits=8)), **kw)
    assert exc.value.field in ("cycles", "n_fft")
