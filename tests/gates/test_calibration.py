"""Calibration through the emulated DAC: Rabi scan on integer codes, DRAG scan, on-disk reuse."""

import numpy as np
import pytest

import cryoctl.gates.calibration as calmod
from cryoctl.dac import Dac
from cryoctl.gates import calibrate, rabi_scan, realize, realized_angle
from cryoctl.profile import validate_profile
from cryoctl.pulse import Drive, drive_gain, lifted_gaussian


def _profile(bits, levels=3, count=1, dac=None, pulse=None):
    return validate_profile(
        {"name": "t", "dac": {"bits": bits, **(dac or {})}, "pulse": pulse or {},
         "qubits": {"count": count, "levels": levels}}
    )


def test_coarse_dac_has_a_real_systematic_pi_error():
    """4 bits, pi at 0.9 of full scale: the continuous pi code is 0.9 * 8 = 7.2, the DAC offers 7.

    On two levels the rotation is exactly the pulse area, theta(c) = pi c / 7.2, so the calibrated
    pi pulse under-rotates by pi (7/7.2 - 1) = -0.0873 rad. No sub-code interpolation hides it.
    """
    cal = calibrate(_profile(4, levels=2, count=2), use_cache=False)
    np.testing.assert_array_equal(cal.pi_codes, 7)
    np.testing.assert_allclose(cal.pi_error, np.pi * (7 / 7.2 - 1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(cal.steps, np.pi / 7)
    # on the transmon (3 levels) the error is still there and of the same size
    cal3 = calibrate(_profile(4, levels=3), use_cache=False)
    assert cal3.pi_codes[0, 0] == 7
    assert -0.1 < cal3.pi_error[0, 0] < -0.07


def test_pi_code_is_the_exhaustive_argmin_with_mismatch():
    """Two-stage scan (12 bits: coarse step 8) == argmin over every code of |theta(c) - pi|,
    and on two levels theta(c) = G dt sum(e) V(c) (area theorem) with the channel's own DAC levels."""
    p = _profile(12, levels=2, count=2, dac={"unit_mismatch_sigma": 0.05, "mismatch_seed": 7})
    cal = calibrate(p, use_cache=False)
    area = drive_gain(p) * p.dac.dt_ns * lifted_gaussian(40.0, 10.0, 1.0).sum()
    for q in range(2):
        for a, ch in enumerate((2 * q, 2 * q + 1)):
            v = Dac(p.dac, ch).levels[-p.dac.code_min + 1 :]  # codes 1..code_max
            assert cal.pi_codes[q, a] == 1 + np.argmin(np.abs(area * v - np.pi))
    # the physics agrees with the area theorem for every code of one channel
    drive = Drive(p, 0)
    codes = np.arange(1, 2048)
    theta = realized_angle(realize(drive, codes, "x"), "unitary", "x")
    np.testing.assert_allclose(theta, (area * Dac(p.dac, 0).static(codes) + np.pi) % (2 * np.pi) - np.pi, atol=1e-10)
    # channels differ: different DAC mismatch -> (generally) different pi codes
    assert len(np.unique(cal.pi_codes)) > 1


def test_first_rabi_lobe_is_selected_when_full_scale_exceeds_3pi():
    p = _profile(6, levels=2, pulse={"pi_amplitude_fraction": 0.25})  # full scale = 4 pi
    code, theta = rabi_scan(Drive(p, 0), "x")
    assert code == 8 and theta == pytest.approx(np.pi)  # 0.25 * 32 = 8 exactly


def test_drag_scan_finds_beta_and_recalibrates():
    p = _profile(12, pulse={"shape": "drag"})
    cal = calibrate(p, use_cache=False)
    # the DRAG coefficient that cancels the AC-Stark phase error of this pulse is beta = 1/2
    np.testing.assert_allclose(cal.drag_beta, 0.5, atol=0.02)
    fixed = calibrate(_profile(12, pulse={"shape": "drag", "drag_beta": 0.3}), use_cache=False)
    np.testing.assert_array_equal(fixed.drag_beta, 0.3)
    plain = calibrate(_profile(12), use_cache=False)
    np.testing.assert_array_equal(plain.drag_beta, 0.0)


def test_calibration_is_cached_by_profile_hash(tmp_path, monkeypatch):
    p = _profile(5, count=2)
    first = calibrate(p, cache_dir=tmp_path)
    assert not first.from_cache
    files = list(tmp_path.glob("calibration-*.json"))
    assert len(files) == 1

    def boom(*a, **k):
        raise AssertionError("calibration recomputed instead of reused")

    monkeypatch.setattr(calmod, "_run", boom)
    again = calibrate(p, cache_dir=tmp_path)
    assert again.from_cache
    np.testing.assert_array_equal(again.pi_codes, first.pi_codes)
    np.testing.assert_array_equal(again.pi_angle, first.pi_angle)
    # a different profile (other hash) is not served from that entry
    with pytest.raises(AssertionError, match="recomputed"):
        calibrate(_profile(6, count=2), cache_dir=tmp_path)
    monkeypatch.undo()
    # a corrupt entry is recomputed, not an error
    files[0].write_text("{not json")
    fixed = calibrate(p, cache_dir=tmp_path)
    assert not fixed.from_cache
    np.testing.assert_array_equal(fixed.pi_codes, first.pi_codes)


def test_drag_scan_on_a_coarse_sampled_dac_keeps_beta_zero():
    """3-bit sampled mode: round(c q_k) = 0 for every sample and code at any scanned beta (<= 2), so
    DRAG cannot act and the scan must not report a spurious coefficient."""
    p = _profile(3, pulse={"shape": "drag", "amplitude_mode": "sampled"})
    drive = Drive(p, 0)
    _, cq = drive.channel_codes(np.arange(-4, 4), "x", 2.0)
    assert np.all(cq == 0)
    cal = calibrate(p, use_cache=False)
    np.testing.assert_array_equal(cal.drag_beta, 0.0)


def test_calibration_of_another_profile_is_refused(tmp_path):
    """A calibration belongs to one chip and setting: reusing it for another profile is an error."""
    from cryoctl.errors import CryoctlError
    from cryoctl.gates import build_gate_table, calibrate
    from cryoctl.profile import validate_profile

    doc = {"name": "c", "dac": {"bits": 4}, "qubits": {"count": 1, "levels": 2}}
    a = validate_profile(doc)
    b = validate_profile({**doc, "dac": {"bits": 4, "mismatch_seed": 1, "unit_mismatch_sigma": 0.01}})
    cal = calibrate(a, cache_dir=tmp_path)
    assert build_gate_table(a, calibration=cal, cache_dir=tmp_path).bits == 4
    with pytest.raises(CryoctlError, match="calibration"):
        build_gate_table(b, calibration=cal, cache_dir=tmp_path)
