"""Circuit layer: execution engines, gate providers, entanglers, readout — against closed forms
and a second, naive engine (full 2^n / d^n matrices built with np.kron)."""

import numpy as np
import pytest
import scipy.linalg

from cryoctl.circuit import (
    CZ, Circuit, ExactProvider, Executor, IdealCZ, IdealQuantizer, Readout, Rot, TableProvider, cz_diagonal,
    exact_table, frame_rz, generator, ring, rotation,
)
from cryoctl.conventions import kron_conj
from cryoctl.errors import CryoctlError
from cryoctl.gates import GateTable
from cryoctl.gates.calibration import Calibration


def small_circuit(n=3):
    gates = [Rot("y", q, "x", q) for q in range(n)]
    k = 0
    for _ in range(2):
        for q in range(n):
            for a in ("x", "y", "z"):
                gates.append(Rot(a, q, "p", k))
                k += 1
        gates += ring(n)
    return Circuit(n, tuple(gates))


def naive_state(circuit, x, theta, d):
    """Second engine: full-register matrices via np.kron, one sample, one parameter set."""
    n = circuit.n_qubits
    psi = np.zeros(d**n, complex)
    psi[0] = 1
    for g in circuit.gates:
        if isinstance(g, Rot):
            ang = x[g.index] if g.source == "x" else theta[g.index]
            mats = [rotation(g.axis, ang, d) if q == g.qubit else np.eye(d) for q in range(n)]
            full = mats[0]
            for m in mats[1:]:
                full = np.kron(full, m)
            psi = full @ psi
        else:
            psi = cz_diagonal([(g.a, g.b)], n, d).reshape(-1) * psi
    return psi


@pytest.mark.parametrize("axis", ["x", "y", "z"])
def test_rotation_is_exp_of_generator_and_identity_on_leakage(axis):
    theta = 0.731
    u = rotation(axis, theta, 3)
    ref = scipy.linalg.expm(-0.5j * theta * generator(axis, 2))
    assert np.allclose(u[:2, :2], ref, atol=1e-14)
    assert u[2, 2] == 1 and np.all(u[2, :2] == 0) and np.all(u[:2, 2] == 0)


def test_cz_phase_only_on_11_and_identity_on_leakage():
    diag = cz_diagonal([(0, 1)], 2, 3)
    expected = np.ones((3, 3))
    expected[1, 1] = -1
    assert np.array_equal(diag, expected)


@pytest.mark.parametrize("d", [2, 3])
def test_statevector_matches_naive_kron_engine(d):
    rng = np.random.default_rng(3)
    c = small_circuit(3)
    x = rng.uniform(0, np.pi, (4, 3))
    th = rng.uniform(-np.pi, np.pi, (2, c.n_params))
    psi = Executor(ExactProvider(d)).final_state(c, x, th).reshape(2, 4, -1)
    for p in range(2):
        for b in range(4):
            assert np.allclose(psi[p, b], naive_state(c, x[b], th[p], d), atol=1e-12)


@pytest.mark.parametrize("d", [2, 3])
def test_density_matrix_matches_statevector(d):
    rng = np.random.default_rng(4)
    c = small_circuit(3)
    x = rng.uniform(0, np.pi, (3, 3))
    th = rng.uniform(-np.pi, np.pi, (2, c.n_params))
    psi = Executor(ExactProvider(d)).final_state(c, x, th).reshape(2, 3, -1)
    rho = Executor(ExactProvider(d), mode="density").final_state(c, x, th)
    assert np.allclose(rho, psi[..., :, None] * psi[..., None, :].conj(), atol=1e-12)


def test_channel_table_equals_unitary_table_on_density_path():
    rng = np.random.default_rng(5)
    c = small_circuit(3)
    x = rng.uniform(0, np.pi, (3, 3))
    th = rng.uniform(-np.pi, np.pi, c.n_params)
    eu = Executor(TableProvider(exact_table(6, levels=3, n_qubits=3)))
    ec = Executor(TableProvider(exact_table(6, levels=3, n_qubits=3, kind="channel")))
    assert (eu.mode, ec.mode) == ("statevector", "density")  # chosen once, from the provider
    codes = eu.encode_params(c, th)
    assert codes.dtype == np.int64 and np.array_equal(codes, ec.encode_params(c, th))
    assert np.allclose(eu.expect(c, x, codes), ec.expect(c, x, codes), atol=1e-12)


def test_single_qubit_closed_form_and_readout_affine_map():
    c = Circuit(2, (Rot("y", 0, "x", 0), Rot("x", 1, "x", 1)))
    x = np.array([[0.3, 1.1], [2.0, -0.4]])
    z = Executor(ExactProvider(3)).expect(c, x)[0]
    assert np.allclose(z, np.cos(x), atol=1e-14)
    r = Readout(p01=0.02, p10=0.05)
    zr = Executor(ExactProvider(3), readout=r).expect(c, x)[0]
    assert np.allclose(zr, (0.05 - 0.02) + (1 - 0.07) * np.cos(x), atol=1e-14)


def test_leaked_population_reads_as_one():
    # A "gate table" whose x-op sends |0> to |2>: <Z> must be -1 (leakage read as 1).
    t = exact_table(3, levels=3, n_qubits=1)
    swap02 = np.eye(3, dtype=complex)[[2, 1, 0]]
    t.ops["x"][0][:] = swap02
    c = Circuit(1, (Rot("x", 0, "p", 0),))
    z = Executor(TableProvider(t)).expect(c, None, np.array([1]))
    assert np.allclose(z, -1.0)


def test_cz_depolarizing_closed_form():
    """After CZ + depolarizing p on a product state: <Z_a> = (1 - p) cos(x_a) (CZ is diagonal)."""
    c = Circuit(3, (Rot("y", 0, "x", 0), Rot("y", 1, "x", 1), Rot("y", 2, "x", 2), CZ(0, 1)))
    x = np.array([[0.4, 1.3, 2.2]])
    for d in (2, 3):
        ex = Executor(ExactProvider(d), entangler=IdealCZ(error=0.2))
        assert ex.mode == "density" and not ex.can_adjoint  # a noisy entangler needs density matrices
        z = ex.expect(c, x)[0, 0]
        assert np.allclose(z, [0.8 * np.cos(0.4), 0.8 * np.cos(1.3), np.cos(2.2)], atol=1e-13)
    with pytest.raises(CryoctlError) as e:
        Executor(ExactProvider(2), entangler=IdealCZ(0.1), mode="statevector")
    assert e.value.field == "mode"
    with pytest.raises(CryoctlError) as e:
        IdealCZ(1.5)
    assert e.value.field == "qubits.cz_error"


def test_populations_normalised_and_batched_over_params_and_samples():
    c = small_circuit(4)
    rng = np.random.default_rng(0)
    pops = Executor(ExactProvider(3)).populations(c, rng.uniform(0, 3, (7, 4)), rng.uniform(-3, 3, (5, c.n_params)))
    assert pops.shape == (5, 7, 3, 3, 3, 3)
    assert np.allclose(pops.sum(axis=(2, 3, 4, 5)), 1.0)


def test_shots_are_seeded_unbiased_and_shrink_like_one_over_sqrt_k():
    c = Circuit(2, (Rot("y", 0, "x", 0), Rot("y", 1, "x", 1), CZ(0, 1)))
    x = np.tile([[1.0, 2.0]], (400, 1))
    r = Readout(0.01, 0.03, shots=200)
    ex = Executor(ExactProvider(2), readout=r)
    z1 = ex.expect(c, x, rng=np.random.default_rng(7))[0]
    z2 = ex.expect(c, x, rng=np.random.default_rng(7))[0]
    assert np.array_equal(z1, z2)
    exact = Executor(ExactProvider(2), readout=Readout(0.01, 0.03)).expect(c, x)[0, 0]
    # 400 independent 200-shot estimates: mean within 4 standard errors, variance ~ (1 - Z^2)/K
    var = (1 - exact**2) / 200
    assert np.all(np.abs(z1.mean(axis=0) - exact) < 4 * np.sqrt(var / 400))
    assert np.allclose(z1.var(axis=0), var, rtol=0.25)
    with pytest.raises(CryoctlError):
        ex.expect(c, x)  # shots need an explicit Generator


def test_ideal_quantizer_grid_and_wrap():
    q = IdealQuantizer(3, quantize_inputs=True)
    assert q.step("x") == q.step("z") == pytest.approx(np.pi / 4)
    codes = q.encode("y", 0, np.array([0.0, 0.39, 0.40, np.pi - 1e-9, -np.pi, 3 * np.pi / 4 + 2 * np.pi]))
    assert codes.tolist() == [0, 0, 1, -4, -4, 3]
    assert q.wrap("x", 0, np.array([4, 5, -5])).tolist() == [-4, -3, 3]
    assert np.allclose(q.ops("y", 0, np.array(1)), rotation("y", np.pi / 4))
    with pytest.raises(CryoctlError) as e:
        q.ops("y", 0, np.array(0.5))  # codes, not angles
    assert e.value.field == "codes"
    with pytest.raises(CryoctlError):
        IdealQuantizer(0)


def test_table_provider_matches_ideal_quantizer_and_frame_rz_convention():
    rng = np.random.default_rng(1)
    c = small_circuit(3)
    x = rng.uniform(0, np.pi, (5, 3))
    th = rng.uniform(-np.pi, np.pi, (3, c.n_params))
    t = exact_table(5, levels=2, n_qubits=3, phase_bits=5)
    et, eq = Executor(TableProvider(t)), Executor(IdealQuantizer(5, quantize_inputs=True))
    codes = et.encode_params(c, th)
    assert np.array_equal(codes, eq.encode_params(c, th))
    assert np.allclose(et.expect(c, x, codes), eq.expect(c, x, codes), atol=1e-12)
    assert np.allclose(frame_rz(0.7, 2), rotation("z", 0.7, 2))
    with pytest.raises(CryoctlError):
        t.lookup("x", 0, np.array([99]))


def test_adjoint_equals_finite_difference_on_d_levels():
    rng = np.random.default_rng(2)
    c = small_circuit(3)
    x = rng.uniform(0, np.pi, (4, 3))
    th = rng.uniform(-np.pi, np.pi, (2, c.n_params))
    w = rng.normal(size=(2, 4, 3))
    ex = Executor(ExactProvider(3))
    _, g = ex.adjoint_vjp(c, x, th, w)
    eps = 1e-6
    m = c.n_params
    for p in range(2):
        sets = np.repeat(th[p][None], 2 * m, axis=0)
        sets[np.arange(m), np.arange(m)] += eps
        sets[m + np.arange(m), np.arange(m)] -= eps
        e = (ex.expect(c, x, sets) * w[p]).sum(axis=(1, 2))
        assert np.allclose(g[p], (e[:m] - e[m:]) / (2 * eps), atol=1e-7)


def grid_angles(ex, circuit, x):
    """The angles the data gates of ``circuit`` realize on ``ex``'s linear-calibration table (per channel)."""
    prov = ex.provider
    out = np.array(x, dtype=float)
    for g in circuit.gates:
        if isinstance(g, Rot) and g.source == "x":
            out[:, g.index] = prov.angle(g.axis, g.qubit, prov.encode(g.axis, g.qubit, x[:, g.index]))
    return out


def test_code_grid_shift_generalised_rule_is_exact_and_textbook_rule_is_biased():
    """pi/2 not a whole number of codes (pi pulse at 0.9 of full scale): s != pi/2."""
    rng = np.random.default_rng(3)
    c = small_circuit(2)
    bits = 6
    apc = np.pi / (0.9 * 2 ** (bits - 1))  # pi_code = 28.8 codes
    ex = Executor(TableProvider(exact_table(bits, levels=2, n_qubits=2, angle_per_code=apc, phase_bits=32)))
    k, s = ex.code_shift(c)
    drive = np.array(c.param_axes) != "z"
    assert np.all(k[drive] == 14) and not np.allclose(s[drive], np.pi / 2)
    # codes held as codes; theta +- s stays inside the DAC range (|c| <= 13, +-14 codes)
    codes = ex.encode_params(c, rng.uniform(-1.4, 1.4, c.n_params))
    x = rng.uniform(0, np.pi, (3, 2))
    _, jac = ex.shift_jacobian(c, x, codes)
    w = rng.normal(size=(3, 2))
    th = ex.param_angles(c, codes)
    assert np.allclose(th[drive], codes[drive] * apc)
    _, g = Executor(ExactProvider(2)).adjoint_vjp(c, grid_angles(ex, c, x), th, w[None])  # exact, at the grid point
    ps = np.einsum("mbn,bn->m", jac, w)
    assert np.allclose(ps, g[0], atol=1e-8)
    textbook = ps * np.sin(s)  # what dividing by 2 instead of 2 sin(s) would give: biased by sin(s)
    assert 1 - np.sin(s[0]) > 9e-4
    assert not np.allclose(textbook, g[0], rtol=5e-4, atol=1e-12)


def test_bad_inputs_raise_cryoctl_error():
    c = small_circuit(2)
    ex = Executor(ExactProvider(2))
    with pytest.raises(CryoctlError) as e:
        ex.expect(c, np.zeros((2, 1)), np.zeros(c.n_params))
    assert e.value.field == "x"
    with pytest.raises(CryoctlError) as e:  # a quantized executor plays codes: float parameters are refused
        Executor(IdealQuantizer(6)).expect(c, np.zeros((2, 2)), np.full(c.n_params, 0.3))
    assert e.value.field == "params"
    with pytest.raises(CryoctlError) as e:
        Executor(ExactProvider(2), mode="fast")
    assert e.value.field == "mode"
    with pytest.raises(CryoctlError):
        Circuit(2, (CZ(0, 2),))
    with pytest.raises(CryoctlError):
        Readout(p01=0.7)
    with pytest.raises(CryoctlError):
        rotation("w", 0.1)


def test_superop_row_major_convention():
    u = rotation("x", 0.9, 3)
    rho = np.diag([0.5, 0.3, 0.2]).astype(complex)
    s = kron_conj(u)
    assert np.allclose((s @ rho.reshape(-1)).reshape(3, 3), u @ rho @ u.conj().T)


def test_virtual_z_has_phase_word_resolution_not_amplitude_resolution():
    """DESIGN: RZ is a frame update with `phase_bits` of resolution. On a 4-bit table (drive step
    pi/7.2) a requested RZ(0.2) must not collapse onto the amplitude grid (it would give 0 or 0.44)."""
    apc = np.pi / 7.2
    prov = TableProvider(exact_table(4, levels=3, n_qubits=1, angle_per_code=apc, phase_bits=10))
    step = 2 * np.pi / 2**10
    for phi in (0.1, 0.2, 1.0, -2.5):
        u = prov.ops("z", 0, prov.encode("z", 0, np.array(phi)))
        want = np.round(phi / step) * step
        assert np.allclose(u, frame_rz(want, 3), atol=1e-12), phi
        assert np.allclose(u[:2, :2], rotation("z", want, 2), atol=1e-12), phi
        assert abs(want - phi) <= step / 2
    axes, qubits = np.array(["x", "z", "y", "z"]), np.zeros(4, dtype=int)
    assert np.allclose(prov.param_steps(axes, qubits), [apc, step, apc, step])
    codes = prov.encode_params(np.array([0.2, 0.2, 0.2, np.pi - 1e-6]), axes, qubits)
    assert codes.tolist() == [0, round(0.2 / step), 0, -(2**9)]  # phase words wrap: +pi == -pi
    # drive code 9 is out of the 4-bit range: 1.25 pi -> wraps to -0.75 pi = code -5 (nearest measured
    # angle); phase word 2^9 + 3 wraps modulo 2^10; in-range drive codes are playable words, kept
    assert prov.wrap_codes(np.array([9, 2**9 + 3, -8]), np.array(["x", "z", "y"]), [0, 0, 0]).tolist() == \
        [-5, -(2**9) + 3, -8]


def test_code_grid_shift_is_exact_with_mixed_drive_and_phase_grids():
    """Per-parameter shift: drive parameters shift by whole amplitude codes (s != pi/2), RZ parameters
    by whole phase words; the generalised rule stays exact for both."""
    rng = np.random.default_rng(4)
    c = small_circuit(2)
    axes = np.array(c.param_axes)
    assert axes.tolist() == ["x", "y", "z"] * 4
    ex = Executor(TableProvider(exact_table(5, levels=2, n_qubits=2, angle_per_code=np.pi / 14.4, phase_bits=10)))
    k, s = ex.code_shift(c)
    assert np.all(k[axes == "z"] == 2**8) and np.allclose(s[axes == "z"], np.pi / 2)
    assert np.all(k[axes != "z"] == 7) and not np.allclose(s[axes != "z"], np.pi / 2)
    codes = ex.encode_params(c, rng.uniform(-1.4, 1.4, c.n_params))
    x = rng.uniform(0, np.pi, (3, 2))
    _, jac = ex.shift_jacobian(c, x, codes)
    w = rng.normal(size=(3, 2))
    _, g = Executor(ExactProvider(2)).adjoint_vjp(c, grid_angles(ex, c, x), ex.param_angles(c, codes), w[None])
    assert np.allclose(np.einsum("mbn,bn->m", jac, w), g[0], atol=1e-8)


def test_per_channel_calibration_sets_codes_and_shift_of_each_channel():
    """Every (qubit, axis) channel has its own pi code: the same requested angle becomes different codes
    on different channels, each parameter shifts by whole codes of ITS channel, and the rule stays exact."""
    rng = np.random.default_rng(5)
    c = small_circuit(2)
    steps = np.pi / np.array([[10.0, 11.0], [14.0, 12.0]])  # pi codes 10, 11 (qubit 0), 14, 12 (qubit 1)
    ex = Executor(TableProvider(exact_table(5, levels=2, n_qubits=2, angle_per_code=steps, phase_bits=12)))
    axes, qubits = np.array(c.param_axes), np.array(c.param_qubits)
    assert qubits.tolist() == [0, 0, 0, 1, 1, 1] * 2
    want = np.where(axes == "z", 2 * np.pi / 2**12, steps[qubits, np.where(axes == "y", 1, 0)])
    assert np.allclose(ex.param_steps(c), want)
    k, _ = ex.code_shift(c)
    assert np.array_equal(k, np.maximum(1, np.round(np.pi / 2 / want)).astype(int))
    assert (k[0], k[1], k[3], k[4]) == (5, 6, 7, 6)  # RX, RY on qubit 0 and on qubit 1: round(pi_code / 2)
    theta = np.full(c.n_params, 1.0)
    codes = ex.encode_params(c, theta)
    assert np.array_equal(codes[axes != "z"], np.round(1.0 / want[axes != "z"]).astype(int))
    # data encoding goes through each qubit's own channel too
    x = rng.uniform(0, np.pi, (4, 2))
    xg = grid_angles(ex, c, x)
    assert np.allclose(xg[:, 0], np.round(x[:, 0] / steps[0, 1]) * steps[0, 1])
    assert np.allclose(xg[:, 1], np.round(x[:, 1] / steps[1, 1]) * steps[1, 1])
    codes = ex.encode_params(c, rng.uniform(-1.2, 1.2, c.n_params))
    _, jac = ex.shift_jacobian(c, x, codes)
    w = rng.normal(size=(4, 2))
    _, g = Executor(ExactProvider(2)).adjoint_vjp(c, xg, ex.param_angles(c, codes), w[None])
    assert np.allclose(np.einsum("mbn,bn->m", jac, w), g[0], atol=1e-8)
    shared = Circuit(2, (Rot("x", 0, "p", 0), Rot("x", 1, "p", 0)))  # one code on two channels: refused
    with pytest.raises(CryoctlError) as e:
        ex.param_steps(shared)
    assert e.value.field == "qubit"


def test_circuits_play_the_code_of_nearest_measured_angle():
    """A 3-bit channel whose pi is out of reach (pi at 1.1 x full scale) and whose transfer is bent:
    the circuit plays calibration.code_for (nearest MEASURED angle), not round(theta / step), and the
    realized error is within half the largest gap between measured angles on the circle."""
    bits, nq = 3, 1
    codes = np.arange(-4, 4)
    measured = 0.95 * np.pi * codes / 3.0 * (1 - 0.04 * codes**2 / 16)  # bent, under-rotating transfer
    ops = {ax: rotation(ax, measured, 2)[None] for ax in ("x", "y")}
    base = Calibration.linear(nq, bits, np.pi / 3.0)
    cal = Calibration(base.profile_hash, "test", base.pi_codes, base.drag_beta, base.pi_angle,
                      angles=np.broadcast_to(measured, (nq, 2, 8)).copy())
    prov = TableProvider(GateTable(profile_hash="bent", bits=bits, levels=2, n_qubits=nq, phase_bits=8,
                                   kind="unitary", ops=ops, calibration=cal))
    theta = np.linspace(-np.pi, np.pi, 201, endpoint=False)
    got = prov.encode("x", 0, theta)
    err = np.abs((measured[got - codes[0]] - theta + np.pi) % (2 * np.pi) - np.pi)
    circle = np.sort((measured + np.pi) % (2 * np.pi) - np.pi)
    gaps = np.diff(np.append(circle, circle[0] + 2 * np.pi))
    assert err.max() <= gaps.max() / 2 + 1e-12
    linear = np.clip(np.round(theta / (np.pi / 3.0)), -4, 3).astype(int)
    err_lin = np.abs((measured[linear - codes[0]] - theta + np.pi) % (2 * np.pi) - np.pi)
    assert err.mean() < 0.9 * err_lin.mean() and err.max() < 0.8 * err_lin.max()  # 0.216 vs 0.247, 0.48 vs 0.64 rad
    z = Executor(prov).expect(Circuit(1, (Rot("x", 0, "x", 0),)), theta[:, None])[0, :, 0]
    assert np.allclose(z, np.cos(measured[got - codes[0]]), atol=1e-12)  # the op of that code, nothing else
