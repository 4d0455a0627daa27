"""numpy vs JAX circuit backend: forward and gradient at 4, 8 and 10 qubits, d = 3, as ratios from ONE run.

Circuit: the ``compact16`` pattern on n qubits (RY(x) encoding, 2 layers of [RY, RZ] per qubit + CZ ring;
4 n parameters), 3 levels per qubit, a batch of B samples. Two workloads per size:

- table: gates from a GateTable (:func:`cryoctl.circuit.exact_table`, 8-bit codes, d = 3), parameters held
  as codes: ``expect`` (forward) and ``shift_jacobian`` (code-grid shift rule, 2 m + 1 sets in one run);
- exact: ExactProvider(3): ``expect`` and the exact gradient (numpy: the adjoint sweep
  ``Executor.adjoint_vjp``; JAX: reverse-mode autodiff ``JaxExecutor.adjoint_vjp`` = jax.vjp).

Both backends get the same inputs and must agree (max |difference| printed; 1e-10 asserted). JAX times are
steady state (median over repeats after one compiling call, whose time is printed separately; numpy and
JAX calls alternate, so load changes on a shared machine hit both; forwards are repeated 5x as often). Memory:
the state array of the largest call (P B d^n complex128), the process peak RSS after the size, and the
device's peak bytes when the JAX device reports them (GPU). The same script runs unchanged on a GPU
machine (JAX then runs on the GPU, numpy on the CPU cores) and prints the same ratios;
``--qubits 10 12`` there.

    .venv/bin/python benchmarks/bench_jax.py [--qubits 4 8 10] [--batch 16] [--repeats 3]

Target (issue "Scale and speed", item 3): JAX-CPU >= 2x faster than numpy at 8 qubits.

Measured on the IDLE 2-core development machine (load 1.6-1.8, JAX 0.10.2 on CPU, two runs a minute apart;
numpy time / JAX time, all |diff| <= 4e-15):

    qubits  table fwd  table grad  exact fwd  exact grad
         4      1.23x       1.57x      0.82x       1.30x
         8      4.40x       7.59x      4.72x       3.12x     (numpy: 7.2 / 978 / 10.0 / 34 ms; peak RSS 656 MiB)
         8      3.70x       4.66x      4.71x       3.00x     (second run)

Earlier (one run, JAX 0.10.2 on CPU, the SHARED 2-core development machine while another engineer's jobs
ran: load average 3.3 -> 3.8 during the run (`uptime`); no GPU was available, so the GPU ratios are still to
be measured; numpy time / JAX time, all |diff| <= 4e-15):

    qubits  table fwd  table grad  exact fwd  exact grad
         4      1.03x       1.74x      0.77x       1.08x
         8      2.54x       2.43x      2.45x       2.17x     (numpy: 7.5 / 635 / 7.1 / 36 ms)
        10      6.40x       5.21x      7.72x       5.18x     (B = 4; largest state 292 MiB, peak RSS 1.3 GB)

A run a minute earlier at the same load gave 2.40x / 2.36x / 2.84x / 4.22x at 8 qubits. Before the
marginals-from-the-held-state change (this script before its timing was interleaved, load ~0.9): 0.93x / 2.05x / 1.99x / 2.33x at 8 qubits.
At 4 qubits the calls take < 1 ms on both sides and the JAX host overhead (input encoding, dispatch of
2-3 compiled calls) dominates.

Compilation: 1-9 s per circuit shape at that load (paid once; the gradient compiles three programs). Runs on the same machine at load 10-15 gave ratios
from 0.9x to 4x: compare only ratios from one run.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np

from cryoctl.circuit import Executor, ExactProvider, IdealCZ, TableProvider, exact_table
from cryoctl.qnn import build_circuit

D = 3


def _time_pair(f_np, f_jx, repeats: int):
    """(median numpy time, median JAX time, last numpy result, last JAX result) with the two calls
    interleaved, so that a change of load on a shared machine hits both sides alike."""
    t_np, t_jx, r_np, r_jx = [], [], None, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        r_np = f_np()
        t1 = time.perf_counter()
        r_jx = f_jx()
        t2 = time.perf_counter()
        t_np.append(t1 - t0)
        t_jx.append(t2 - t1)
    return statistics.median(t_np), statistics.median(t_jx), r_np, r_jx


def _mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.0f} MiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", type=int, nargs="+", default=[4, 8, 10])
    ap.add_argument("--batch", type=int, default=16, help="samples B (halved at 10+ qubits to bound memory)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import jax

    from cryoctl.circuit.jax_backend import JaxExecutor

    dev = jax.devices()[0]
    print(f"numpy on {len(__import__('os').sched_getaffinity(0))} CPU cores vs JAX {jax.__version__} on "
          f"{dev.platform} ({dev.device_kind}); d = {D}, float64")
    rows = []
    for n in args.qubits:
        circuit = build_circuit("compact16", n)
        m = circuit.n_params
        B = args.batch if n < 10 else max(1, args.batch // 4)
        rng = np.random.default_rng(n)
        x = rng.uniform(0, np.pi, (B, n))
        angles = rng.uniform(-np.pi, np.pi, (1, m))
        w = rng.normal(size=(1, B, n))
        table = TableProvider(exact_table(8, D, n))
        work = {
            "table": (table, lambda ex: ex.encode_params(circuit, angles)),
            "exact": (ExactProvider(D), lambda ex: angles),
        }
        for name, (prov, params_of) in work.items():
            ne, je = Executor(prov, entangler=IdealCZ()), JaxExecutor(prov, entangler=IdealCZ())
            p = params_of(ne)
            if name == "table":
                grad_np, grad_jx = (lambda: ne.shift_jacobian(circuit, x, p)[1]), (lambda: je.shift_jacobian(circuit, x, p)[1])
                sets = 2 * m + 1
            else:
                grad_np, grad_jx = (lambda: ne.adjoint_vjp(circuit, x, p, w)[1]), (lambda: je.adjoint_vjp(circuit, x, p, w)[1])
                sets = 1
            for what, f_np, f_jx in (("forward", lambda: ne.expect(circuit, x, p), lambda: je.expect(circuit, x, p)),
                                     ("gradient", grad_np, grad_jx)):
                t0 = time.perf_counter()
                f_jx()
                compile_s = time.perf_counter() - t0
                reps = args.repeats * (5 if what == "forward" else 1)  # forwards take milliseconds
                t_np, t_jx, r_np, r_jx = _time_pair(f_np, f_jx, reps)
                diff = float(np.abs(np.asarray(r_np) - np.asarray(r_jx)).max())
                assert diff < 1e-10, (n, name, what, diff)
                state = (sets if what == "gradient" else 1) * B * D**n * 16
                rows.append((n, name, what, B, t_np, t_jx, compile_s, diff, state))
                print(f"n={n:2d} {name:5s} {what:8s} B={B:3d}  numpy {t_np * 1e3:9.1f} ms  jax {t_jx * 1e3:9.1f} ms  "
                      f"ratio numpy/jax {t_np / t_jx:6.2f}x  (jax compile {compile_s:5.1f} s, |diff| {diff:.1e}, "
                      f"state {_mib(state)})", flush=True)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        stats = dev.memory_stats() or {}
        dev_peak = f", device peak {_mib(stats['peak_bytes_in_use'])}" if "peak_bytes_in_use" in stats else ""
        print(f"n={n:2d} memory: largest state {_mib(max(r[8] for r in rows if r[0] == n))}, process peak RSS "
              f"{_mib(peak)}{dev_peak}", flush=True)
    print("\nspeed-up numpy time / jax time (one run):")
    print(f"{'qubits':>6} {'table fwd':>10} {'table grad':>11} {'exact fwd':>10} {'exact grad':>11}")
    for n in args.qubits:
        r = {(row[1], row[2]): row[4] / row[5] for row in rows if row[0] == n}
        print(f"{n:>6} {r[('table', 'forward')]:>9.2f}x {r[('table', 'gradient')]:>10.2f}x "
              f"{r[('exact', 'forward')]:>9.2f}x {r[('exact', 'gradient')]:>10.2f}x")


if __name__ == "__main__":
    main()
