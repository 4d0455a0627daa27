"""Forward throughput and parameter-shift gradient time of `compact16` from gate tables.

Reference (same process): a plain numpy statevector simulation of the same circuit on 2-level
qubits with ideal gates, written the way PennyLane's default.qubit applies gates: one einsum per
gate with the (batched) 2x2 matrix on the state tensor (B, 2, 2, 2, 2), CZ as a +-1 diagonal,
<Z_q> from |psi|^2. Its gradient: one forward per parameter-shift set (2 m + 1 = 33 sets).

Ours: an Executor on a TableProvider (parameters held as codes; data angles -> codes by the table's
calibration -> GateTable lookups) at 2 and 3 levels: Executor.expect, and Executor.shift_jacobian
(all 33 sets in one batched call).
Ratios are ours / reference (median of repeats). Target: 3-level forward <= 3.5x the reference.

    .venv/bin/python benchmarks/bench_qnn_forward.py [--batch 256] [--repeats 15]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cryoctl.circuit import Executor, TableProvider, exact_table
from cryoctl.qnn import build_circuit

N = 4


def ref_forward(x: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Plain numpy, 2 levels, ideal gates: compact16 = RY(x) encoding, 2 x [RY, RZ per qubit, CZ ring]."""
    b = x.shape[0]
    psi = np.zeros((b, 2, 2, 2, 2), dtype=np.complex128)
    psi[:, 0, 0, 0, 0] = 1.0
    letters = "abcd"

    def apply(psi, u, q):
        out = letters.replace(letters[q], "i")
        inp = letters.replace(letters[q], "j")
        if u.ndim == 3:
            return np.einsum(f"zij,z{inp}->z{out}", u, psi)
        return np.einsum(f"ij,z{inp}->z{out}", u, psi)

    def ry(t):
        c, s = np.cos(t / 2), np.sin(t / 2)
        return np.array([[c, -s], [s, c]], dtype=np.complex128) if np.ndim(t) == 0 else \
            np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2).astype(np.complex128)

    def rz(t):
        return np.array([[np.exp(-0.5j * t), 0], [0, np.exp(0.5j * t)]])

    cz = np.ones((2, 2))
    cz[1, 1] = -1
    for q in range(N):
        psi = apply(psi, ry(x[:, q]), q)
    k = 0
    for _ in range(2):
        for q in range(N):
            psi = apply(psi, ry(theta[k]), q)
            psi = apply(psi, rz(theta[k + 1]), q)
            k += 2
        for q in range(N):
            a, bq = q, (q + 1) % N
            shape = [1] * N
            shape[a], shape[bq] = 2, 2
            psi = psi * cz.reshape(shape)
    p = np.abs(psi) ** 2
    return np.stack([p.sum(axis=tuple(i + 1 for i in range(N) if i != q))[:, 0] * 2 - 1 for q in range(N)], -1)


def ref_gradient(x, theta):
    m = theta.size
    sets = [theta] + [theta + np.pi / 2 * np.eye(m)[k] for k in range(m)] + \
        [theta - np.pi / 2 * np.eye(m)[k] for k in range(m)]
    e = np.array([ref_forward(x, t) for t in sets])
    return e[0], (e[1: 1 + m] - e[1 + m:]) / 2


def median_time(fn, repeats):
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--bits", type=int, default=8)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, np.pi, (args.batch, N))
    circuit = build_circuit("compact16", N)
    tables = {d: Executor(TableProvider(exact_table(args.bits, levels=d, n_qubits=N))) for d in (2, 3)}
    codes = tables[2].encode_params(circuit, rng.uniform(-np.pi, np.pi, circuit.n_params))
    theta = tables[2].param_angles(circuit, codes)
    step = 2 * np.pi / 2**args.bits
    xq = np.round(x / step) * step  # the data angles the table's (linear) calibration plays
    # correctness first: the 2-level table on grid angles is the ideal circuit
    assert np.allclose(tables[2].expect(circuit, x, codes)[0], ref_forward(xq, theta), atol=1e-12)
    e_ref, j_ref = ref_gradient(xq, theta)
    assert np.allclose(tables[2].shift_jacobian(circuit, x, codes)[1], j_ref, atol=1e-10)

    t_ref = median_time(lambda: ref_forward(x, theta), args.repeats)
    t_ref_grad = median_time(lambda: ref_gradient(x, theta), max(3, args.repeats // 5))
    print(f"reference (numpy einsum, 2 levels, ideal gates): forward {t_ref * 1e3:.3f} ms "
          f"({args.batch / t_ref:,.0f} samples/s), shift gradient {t_ref_grad * 1e3:.1f} ms")
    ok = True
    for d, ex in tables.items():
        t_f = median_time(lambda: ex.expect(circuit, x, codes), args.repeats)
        t_g = median_time(lambda: ex.shift_jacobian(circuit, x, codes), max(3, args.repeats // 5))
        print(f"gate table, {d} levels: forward {t_f * 1e3:.3f} ms ({args.batch / t_f:,.0f} samples/s), "
              f"ratio {t_f / t_ref:.2f}x; shift gradient {t_g * 1e3:.1f} ms, ratio {t_g / t_ref_grad:.2f}x")
        if d == 3:
            ok = t_f / t_ref <= 3.5
            print(f"target: 3-level forward <= 3.5x reference: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
