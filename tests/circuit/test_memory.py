"""Memory/time estimates of circuit runs and batch chunking (cryoctl.circuit.memory)."""

import tracemalloc

import numpy as np
import pytest

from cryoctl.circuit import ExactProvider, Executor, IdealCZ, Readout
from cryoctl.circuit.memory import (
    CACHE_CHUNK_BYTES, WORK_FACTOR, ChunkedExecutor, estimate_run, shift_sets, state_bytes,
)
from cryoctl.errors import CryoctlError
from cryoctl.qnn.models import build_circuit


def test_register_bytes_follow_the_closed_forms():
    assert state_bytes(5, 3, "statevector") == 16 * 3**5 == 3888
    assert state_bytes(5, 3, "density") == 16 * 3**10 == 944_784
    assert state_bytes(8, 3, "density") == 16 * 3**16 == 688_747_536  # the 690 MB per state
    c = build_circuit("hea:2", 5)
    assert c.n_params == 20 and shift_sets(c) == 41
    # the measured case: one noisy 5-qubit gradient of 16 samples, 41 x 16 density matrices
    e = estimate_run(c, 3, "density", shift_sets(c), 16, limit_bytes=10**12)
    assert e.states_bytes == 41 * 16 * 944_784 == 619_778_304
    assert e.peak_bytes == int(4.25 * e.states_bytes) + 944_784 + 41 * 16 * 3**5 * 8 and WORK_FACTOR == 4.25
    assert e.chunk == 656 and e.calls == 1 and e.fits
    assert 1.0 < e.seconds < 100.0  # measured 10 s on the machine: an order of magnitude
    with pytest.raises(CryoctlError) as err:
        state_bytes(2, 2, "mixed")
    assert err.value.field == "mode"


def test_chunk_is_the_largest_batch_whose_peak_fits():
    c = build_circuit("hea:1", 4)
    s = state_bytes(4, 3, "density")
    pops = 9 * 10 * 3**4 * 8
    e = estimate_run(c, 3, "density", 9, 10, limit_bytes=pops + s + 7 * WORK_FACTOR * s + 5)
    assert e.chunk == 7 and e.calls == -(-90 // 7) == 13 and e.peak_bytes <= e.limit_bytes
    assert "13 chunks of 7 registers" in e.describe()
    tiny = estimate_run(c, 3, "density", 9, 10, limit_bytes=pops + s + WORK_FACTOR * s - 1)
    assert not tiny.fits and tiny.chunk == 0
    with pytest.raises(CryoctlError, match="does not fit in memory") as err:
        tiny.check()
    assert err.value.field == "memory" and "4-qubit d=3 density" in str(err.value)


@pytest.mark.parametrize("limit_registers", [5, 3])  # 5: chunks of samples (P = 2 <= 5); 3: then of sets
def test_chunked_populations_equal_one_run_and_stay_under_the_limit(limit_registers):
    c = build_circuit("hea:2", 4)
    rng = np.random.default_rng(7)
    x = rng.uniform(0, np.pi, (6, 4))
    p = rng.uniform(-np.pi, np.pi, (4 if limit_registers == 3 else 2, c.n_params))
    ref = Executor(ExactProvider(3), entangler=IdealCZ(0.02))
    s = state_bytes(4, 3, "density")
    pops = p.shape[0] * 6 * 3**4 * 8
    limit = pops + s + limit_registers * WORK_FACTOR * s
    ch = ChunkedExecutor(ExactProvider(3), entangler=IdealCZ(0.02), memory_limit_bytes=limit)
    assert ch.mode == "density" and ch.estimate(c, p.shape[0], 6).calls > 1
    want = ref.populations(c, x, p)
    tracemalloc.start()
    got = ch.populations(c, x, p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert np.allclose(got, want, atol=1e-14, rtol=0)
    assert peak <= limit  # the estimate bounds what the chunked run allocated
    # readout (assignment errors, shots) after chunking: the same draws as one run
    ro = Readout(0.02, 0.03, shots=100)
    a = Executor(ExactProvider(3), entangler=IdealCZ(0.02), readout=ro).expect(c, x, p, np.random.default_rng(1))
    b = ChunkedExecutor(ExactProvider(3), entangler=IdealCZ(0.02), readout=ro, memory_limit_bytes=limit).expect(
        c, x, p, np.random.default_rng(1))
    assert np.array_equal(a, b)


def test_a_batch_larger_than_the_cache_chunk_runs_in_chunks_with_the_same_numbers(monkeypatch):
    c = build_circuit("hea:2", 4)
    rng = np.random.default_rng(3)
    x = rng.uniform(0, np.pi, (40, 4))
    p = rng.uniform(-np.pi, np.pi, (1, c.n_params))
    s = state_bytes(4, 3, "density")
    assert CACHE_CHUNK_BYTES // s == 39  # 40 density registers of 105 kB: two calls, memory permitting one
    calls = []
    real = Executor.populations
    monkeypatch.setattr(Executor, "populations", lambda self, *a: calls.append(a[1].shape[0]) or real(self, *a))
    ch = ChunkedExecutor(ExactProvider(3), entangler=IdealCZ(0.02), memory_limit_bytes=10**12)
    got = ch.populations(c, x, p)
    assert calls == [39, 1]
    assert np.array_equal(got, real(Executor(ExactProvider(3), entangler=IdealCZ(0.02)), c, x, p))  # bit for bit


def test_a_register_that_does_not_fit_is_refused_before_allocating():
    c = build_circuit("hea:1", 8)
    ch = ChunkedExecutor(ExactProvider(3), entangler=IdealCZ(0.01), memory_limit_bytes=10**9)
    with pytest.raises(CryoctlError) as err:  # one 8-qubit d = 3 density matrix: 690 MB, ~2.8 GB peak
        ch.populations(c, np.zeros((1, 8)), np.zeros((1, c.n_params)))
    assert err.value.field == "memory" and "689 MB each" in str(err.value)
    # pure states of the same size fit easily: 105 kB per register
    sv = ChunkedExecutor(ExactProvider(3), memory_limit_bytes=10**9)
    assert sv.estimate(c, 1, 1).state_bytes == 16 * 3**8 and sv.populations(c, np.zeros((1, 8)),
                                                                              np.zeros((1, c.n_params))).shape[-1] == 3


@pytest.mark.parametrize("mode_kw", [{"entangler": IdealCZ(0.02)}, {}])  # density adjoint; pure-state adjoint
def test_chunked_adjoint_gradient_adds_up_to_the_whole_batch(mode_kw):
    """grad of sum_b w_b E_b is linear in the batch: chunks of samples add up exactly; a cotangent that
    depends on the whole batch's E (a mean, as a loss has) is evaluated once on all of it."""
    from cryoctl.circuit.memory import ADJOINT_PURE, estimate_gradient, gradient_method, recorded_ops

    c = build_circuit("hea:2", 4)
    assert recorded_ops(c) == 4  # layer 2's RY, RZ fused per qubit; the encoding + layer 1 block is first
    rng = np.random.default_rng(3)
    x = rng.uniform(0, np.pi, (6, 4))
    p = rng.uniform(-np.pi, np.pi, (1, c.n_params))
    ref = Executor(ExactProvider(3), **mode_kw)
    density = ref.mode == "density"
    assert gradient_method(ref.mode, exact_rotations=True, shots=None, entangler=ref.entangler) == "adjoint"
    assert gradient_method(ref.mode, exact_rotations=True, shots=100) == "shift"
    s = state_bytes(4, 3, ref.mode)
    factor = 4 + 4.25 if density else ADJOINT_PURE
    limit = int(2 * factor * s + s + 6 * 3**4 * 8 + 10)  # two samples per chunk
    ch = ChunkedExecutor(ExactProvider(3), memory_limit_bytes=limit, **mode_kw)
    est = ch.gradient_estimate(c, 6)
    assert est.chunk == 2 and est.calls == 3
    assert est == estimate_gradient(c, 3, ref.mode, 6, "adjoint", entangler=ch.entangler, limit_bytes=limit)

    def cot(e):
        return (e - e.mean(axis=1, keepdims=True)) ** 2

    for weights in (rng.normal(size=(1, 6, 4)), cot):
        e0, g0 = ref.vjp(c, x, p, weights)
        e1, g1 = ch.vjp(c, x, p, weights)
        assert np.allclose(e0, e1, atol=1e-13) and np.allclose(g0, g1, atol=1e-12)
        assert np.abs(g0).max() > 1e-3
