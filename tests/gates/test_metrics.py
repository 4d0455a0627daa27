"""One Calibration per channel, used by gate metrics and circuits alike (measured angle per code)."""

import numpy as np
import pytest

from cryoctl.circuit import TableProvider
from cryoctl.conventions import DRIVE_AXES, wrap_angle
from cryoctl.errors import CryoctlError
from cryoctl.gates import (
    Calibration,
    GateTable,
    build_gate_table,
    calibrate,
    code_metrics,
    realized_angle,
    request_grid,
    request_metrics,
    rotation,
    table_metrics,
)
from cryoctl.profile import bits_overrides, load_profile, validate_profile


def _brute_code_for(angles: np.ndarray, theta: np.ndarray, code_min: int) -> np.ndarray:
    """argmin over every code of |wrap(angle(c) - theta)| (first = lowest code on ties)."""
    d = np.abs(wrap_angle(angles[None, :] - np.ravel(theta)[:, None]))
    return (np.argmin(d, axis=1) + code_min).reshape(np.shape(theta))


def _cal(angles: np.ndarray) -> Calibration:
    """A one-qubit calibration with the given measured angles on both axes."""
    n = angles.size
    return Calibration("k", "fast", np.array([[n // 4, n // 4]]), np.zeros((1, 2)), np.zeros((1, 2)),
                       angles=np.broadcast_to(angles, (1, 2, n)))


@pytest.fixture(scope="module")
def cmos6():
    p = load_profile("cryo_cmos_6bit")
    return build_gate_table(p, calibration=calibrate(p, use_cache=False))


# -- the angle <-> code rule ---------------------------------------------------------------------


def test_code_for_is_the_argmin_on_the_circle():
    rng = np.random.default_rng(3)
    # 5 bits of arbitrary measured angles with repeats (several codes, one angle) and values near +-pi
    angles = rng.uniform(-np.pi, np.pi, 32)
    angles[[3, 17, 30]] = angles[9]
    angles[[0, 1]] = [-np.pi, np.pi - 1e-13]
    cal = _cal(angles)
    theta = np.concatenate([rng.uniform(-4 * np.pi, 4 * np.pi, 4000), [np.pi, -np.pi, 0.0],
                            wrap_angle(angles), (angles[:-1] + angles[1:]) / 2])  # exact hits and midpoints
    for axis in DRIVE_AXES:
        got = cal.code_for(axis, 0, theta)
        np.testing.assert_array_equal(got, _brute_code_for(cal.angles[0, 0], theta, -16))
    # any shape in, same shape out
    assert cal.code_for("y", 0, theta[:12].reshape(3, 4)).shape == (3, 4)
    np.testing.assert_array_equal(cal.angle("x", 0, np.array([-16, 15])), wrap_angle(angles[[0, -1]]))
    # 16 bits (65536 codes), brute force on a sample of requests
    big = _cal(wrap_angle(np.cumsum(rng.uniform(0, 2 * 2 * np.pi / 65536, 65536)) - 2.0))
    req = rng.uniform(-np.pi, np.pi, 300)
    np.testing.assert_array_equal(big.code_for("x", 0, req), _brute_code_for(big.angles[0, 0], req, -32768))


def test_linear_calibration_is_the_ideal_grid():
    """angles = wrap(c step); away from ties code_for = the ideal quantizer's round(wrap(theta)/step)."""
    cal = Calibration.linear(2, 4, 2 * np.pi / 16)
    codes = np.arange(-8, 8)
    np.testing.assert_allclose(cal.angles, np.broadcast_to(codes * 2 * np.pi / 16, (2, 2, 16)), atol=0)
    np.testing.assert_array_equal(cal.pi_codes, 8)
    assert cal.step("y", 1) == 2 * np.pi / 16 and cal.bits == 4 and cal.code_min == -8
    theta = np.random.default_rng(0).uniform(-np.pi, np.pi, 1000)
    want = np.round(theta / (2 * np.pi / 16)).astype(int)
    want = (want + 8) % 16 - 8  # +8 (= +pi) is the same rotation as -8
    np.testing.assert_array_equal(cal.code_for("x", 1, theta), want)
    # per-channel steps, e.g. pi / 7.2: the nominal grid is the step, pi code the nearest integer
    per = Calibration.linear(1, 4, np.array([[np.pi / 7.2, np.pi / 7]]))
    assert per.step("x", 0) == np.pi / 7.2 and per.step("y", 0) == np.pi / 7
    np.testing.assert_array_equal(per.pi_codes, [[7, 7]])


def test_calibration_errors_name_the_field():
    scans = calibrate(validate_profile({"name": "t", "dac": {"bits": 4}, "qubits": {"count": 1, "levels": 2}}),
                      use_cache=False)
    assert scans.angles is None
    with pytest.raises(CryoctlError, match="measured angle") as e:
        scans.code_for("x", 0, 0.1)
    assert e.value.field == "calibration"
    cal = Calibration.linear(1, 3, 0.5)
    for call, fld in ((lambda: cal.code_for("z", 0, 0.1), "axis"), (lambda: cal.angle("x", 1, [0]), "qubit"),
                      (lambda: cal.angle("x", 0, [4]), "code"), (lambda: cal.code_for("x", 0, np.nan), "theta"),
                      (lambda: Calibration.linear(1, 3, 0.0), "step")):
        with pytest.raises(CryoctlError) as e:
            call()
        assert e.value.field == fld


# -- metrics and circuits use the same calibration -------------------------------------------------


def test_request_metrics_closed_form_on_an_exact_table():
    """Exact rotations c * step: realized = c * step, error = wrap(c step - theta), F = 1 - (2/3) sin^2(err/2)."""
    step = np.pi / 3.6  # pi unreachable by the top code 3 of a 3-bit grid
    cal = Calibration.linear(1, 3, step)
    codes = np.arange(-4, 4)
    ops = {ax: rotation(ax, codes * step)[None] for ax in DRIVE_AXES}
    t = GateTable(profile_hash="exact", bits=3, levels=2, n_qubits=1, phase_bits=8, kind="unitary", ops=ops,
                  calibration=cal)
    theta = np.linspace(-np.pi, np.pi, 401).reshape(1, 401)
    for ax in DRIVE_AXES:
        r = request_metrics(t, ax, 0, theta)
        assert r["code"].shape == theta.shape
        err = wrap_angle(r["code"] * step - theta)
        np.testing.assert_allclose(r["angle_error"], err, atol=1e-12)
        np.testing.assert_allclose(r["fidelity"], 1 - 2 / 3 * np.sin(err / 2) ** 2, atol=1e-12)
        np.testing.assert_allclose(r["leakage"], 0.0, atol=1e-15)
        # nearest on the circle: never worse than the nearest code of the unwrapped grid
        assert np.abs(err).max() <= step / 2 + 1e-12
        m = code_metrics(t, ax, 0)
        np.testing.assert_allclose(m["fidelity"], 1.0, atol=1e-12)
        np.testing.assert_allclose(m["linear_map_error"], 0.0, atol=1e-12)


def test_circuit_applies_the_angle_error_the_metrics_report(cmos6):
    """cryo_cmos_6bit, every channel: the op the circuit gets for a requested angle (TableProvider:
    encode -> ops) has exactly the angle error request_metrics reports (1e-12), and table_metrics'
    rms is the rms of those errors. The old split (metrics per channel, circuits one shared step
    pi / median(pi codes)) gave 0.028 rad vs 0.050 rad on qubit 2 axis y."""
    t = cmos6
    np.testing.assert_array_equal(t.calibration.pi_codes, [[28, 28], [28, 28], [28, 29], [28, 28]])
    prov = TableProvider(t)
    grid = request_grid(t.bits)
    assert grid.size == 256 and grid[0] == -np.pi and grid[-1] < np.pi
    theta = np.concatenate([grid, [np.pi, -np.pi, 1e-3, np.pi / 2, 2.5]])
    errs, shared = [], []
    for q in range(t.n_qubits):
        for ax in DRIVE_AXES:
            applied = prov.ops(ax, q, prov.encode(ax, q, theta))
            circuit_err = wrap_angle(realized_angle(applied, t.kind, ax) - theta)
            metric = request_metrics(t, ax, q, theta)
            np.testing.assert_allclose(circuit_err, metric["angle_error"], rtol=0, atol=1e-12)
            np.testing.assert_array_equal(prov.encode(ax, q, theta), metric["code"])
            errs.append(request_metrics(t, ax, q, grid)["angle_error"])
            # what the old shared linear step would have applied on this channel
            old = np.clip(np.round(grid / (np.pi / np.median(t.calibration.pi_codes))), -32, 31).astype(int)
            shared.append(wrap_angle(realized_angle(t.lookup(ax, q, old), t.kind, ax) - grid))
    rms = np.sqrt(np.mean(np.concatenate(errs) ** 2))
    assert table_metrics(t)["angle_error_rms"] == pytest.approx(rms, rel=1e-12)
    # ~ step / sqrt(12) = (pi / 28) / sqrt(12) = 0.032 on every channel; the shared step was worse
    per_channel = np.sqrt(np.mean(np.array(errs) ** 2, axis=1))
    old_channel = np.sqrt(np.mean(np.array(shared) ** 2, axis=1))
    np.testing.assert_allclose(per_channel, np.pi / 28 / np.sqrt(12), rtol=0.06)
    assert np.all(old_channel > 1.4 * per_channel), (per_channel, old_channel)


def test_code_metrics_use_the_measured_angle(cmos6):
    t = cmos6
    for q in range(t.n_qubits):
        for a, ax in enumerate(DRIVE_AXES):
            m = code_metrics(t, ax, q)
            measured = wrap_angle(realized_angle(t.ops[ax][q], t.kind, ax))
            np.testing.assert_array_equal(m["measured_angle"], measured)
            np.testing.assert_allclose(m["linear_map_error"],
                                       wrap_angle(measured - t.codes * np.pi / t.calibration.pi_codes[q, a]))
            assert m["fidelity"].min() > 0.998  # against the measured angle: no amplitude quantization left


@pytest.mark.parametrize("bits, under", [(2, 0.44), (3, 0.17), (4, 0.03)])
def test_pi_unreachable_no_systematic_under_rotation(bits, under):
    """pi at 0.9 of full scale, LSB = FS / 2^(N-1): the top code rotates by (2^(N-1) - 1) / (0.9 2^(N-1)) pi < pi,
    so the linear map c * pi / pi_code (pi_code = top code) under-rotates every gate by 44/17/3 %. With the
    measured angles a request lands within half the largest gap of adjacent measured angles on the circle,
    and the error has no systematic sign."""
    base = load_profile("cryo_cmos_6bit")
    p = load_profile("cryo_cmos_6bit", overrides=bits_overrides(base, bits))
    t = build_gate_table(p, calibration=calibrate(p, use_cache=False))
    cal = t.calibration
    top = t.code_max
    assert 1 - top / (0.9 * 2 ** (bits - 1)) == pytest.approx(under, abs=0.01)
    n = 2**14
    grid = -np.pi + 2 * np.pi * np.arange(n) / n
    theta = np.concatenate([grid, [np.pi]])
    ratio_old = []
    for q in range(t.n_qubits):
        for a, ax in enumerate(DRIVE_AXES):
            assert cal.pi_codes[q, a] == top  # the top code is the closest to pi ...
            assert 0 < cal.angle(ax, q, top) < np.pi - 1e-2  # ... and does not reach it
            u = np.sort(cal.angles[q, a])
            max_gap = np.diff(np.append(u, u[0] + 2 * np.pi)).max()
            r = request_metrics(t, ax, q, theta)
            assert np.abs(r["angle_error"]).max() <= max_gap / 2 + 1e-12
            # mean signed error over the circle is exactly 0 for nearest-neighbour assignment (cell
            # integrals (g_-^2 - g_+^2)/8 telescope); on the grid it is within one grid step
            assert abs(r["angle_error"][:n].mean()) < 2 * np.pi / n
            # the old linear map: a requested pi realizes the top code's angle, pi_code / (0.9 2^(N-1)) of it
            ratio_old.append(cal.angle(ax, q, top) / np.pi)
            # radial bias <err sign(theta)> (< 0: under-rotation) of the old map and of code_for
            nz = grid != 0
            old = np.clip(np.round(grid / cal.step(ax, q)), t.code_min, top).astype(int)
            bias_old = np.mean((wrap_angle(cal.angle(ax, q, old) - grid) * np.sign(grid))[nz])
            bias_new = np.mean((r["angle_error"][:n] * np.sign(grid))[nz])
            assert bias_old < 0 and abs(bias_new) < 0.2 * abs(bias_old), (bias_new, bias_old)
    assert 1 - np.mean(ratio_old) == pytest.approx(under, abs=0.02 if bits > 2 else 0.03)


# -- serialisation ---------------------------------------------------------------------------------


def test_table_round_trips_through_npz_arrays(tmp_path, cmos6):
    t = cmos6
    path = tmp_path / "t.npz"
    np.savez(path, **t.to_npz_arrays())
    with np.load(path, allow_pickle=False) as z:
        back = GateTable.from_npz_arrays({k: z[k] for k in z.files})
    assert (back.profile_hash, back.bits, back.levels, back.n_qubits, back.phase_bits, back.kind) == (
        t.profile_hash, t.bits, t.levels, t.n_qubits, t.phase_bits, t.kind)
    assert back.meta == t.meta
    for ax in DRIVE_AXES:
        np.testing.assert_array_equal(back.ops[ax], t.ops[ax])
    for name in ("pi_codes", "drag_beta", "pi_angle", "steps", "angles"):
        np.testing.assert_array_equal(getattr(back.calibration, name), getattr(t.calibration, name))
    assert (back.calibration.profile_hash, back.calibration.engine) == (t.calibration.profile_hash, "fast")
    theta = np.linspace(-4, 4, 99)
    np.testing.assert_array_equal(back.calibration.code_for("y", 2, theta), t.calibration.code_for("y", 2, theta))
    arrays = t.to_npz_arrays()
    for broken in ({k: v for k, v in arrays.items() if k != "cal_angles"},
                   {**arrays, "cal_angles": arrays["cal_angles"][:, :, :10]},
                   {**arrays, "ops_x": arrays["ops_x"][:2]},
                   {k: v for k, v in arrays.items() if k != "cal_pi_codes"}):
        with pytest.raises(ValueError):
            GateTable.from_npz_arrays(broken)
