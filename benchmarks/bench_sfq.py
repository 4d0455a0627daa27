"""Benchmark: build an SFQ gate table (every code, both axes, 4 qubits, 3 levels) vs QuTiP per bitstream.

Profile: hw_profiles/sfq_ersfq.yaml (f_01 = 5 GHz, clock 20 GHz = 4 f_01, dtheta = 0.0297 rad, 512-bit
memory), jitter off (unitary tables). Printed (best of --repeats, all measured in this run):

- resonant table: seconds for ``build_sfq_table(mode="resonant")`` (2^8 codes x 2 axes x 4 qubits; the trains
  are prefixes of each other, one cumulative product per qubit), and the bitstreams it realizes;
- compiled table: seconds for ``build_sfq_table(mode="compiled")`` including the Y(pi/2) bitstream search
  (qubits are identical, so one search; stopped at 1 - F <= 1e-5), 1 - F of the optimized Y90; and the same
  table from the stored Y90 bitstream (what a controller with the bitstream in memory rebuilds);
- qutip: seconds for ONE bitstream (the resonant pi/2 train, 212 ticks) with 2 ps Gaussian pulses
  (``qutip_gaussian_train``, atol = rtol = 1e-10, Verner 9), and |F_kick - F_qutip| on it;
- ratio qutip-per-bitstream / table build (target >= 100: a whole table costs less than 1 % of one QuTiP
  bitstream), and the per-bitstream speed-up (qutip x bitstreams / build).

Usage: .venv/bin/python benchmarks/bench_sfq.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cryoctl.gates.metrics import average_gate_fidelity
from cryoctl.gates.sfq import SfqQubit, build_sfq_table
from cryoctl.physics.sfq import qutip_gaussian_train
from cryoctl.profile import load_profile
from cryoctl.pulse.sfq import resonant_train


def best_of(repeats: int, fn):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    profile = load_profile("sfq_ersfq", ["sfq.jitter_rms_ps=0.0"])
    sq = SfqQubit.from_profile(profile, 0)
    m = sq.ticks_per_period

    t_res, table = best_of(args.repeats, lambda: build_sfq_table(profile, "resonant"))
    n_streams = table.n_qubits * len(table.ops) * 2**table.bits
    t_cmp, ctable = best_of(args.repeats, lambda: build_sfq_table(profile, "compiled"))
    stored = ctable.meta["y90_bitstreams"][0], ctable.meta["y90_ticks"][0]
    y90 = np.unpackbits(np.frombuffer(bytes.fromhex(stored[0]), np.uint8), count=stored[1]).astype(bool)
    t_stored, _ = best_of(args.repeats, lambda: build_sfq_table(profile, "compiled", y90_bits=y90))

    k = int(round(np.pi / 2 / sq.tip_angle))
    bits = resonant_train(np.array(k), m, k * m)
    t_qt, u_qt = best_of(1, lambda: qutip_gaussian_train(sq.kp, bits, profile.sfq.pulse_width_ps * 1e-3))
    df = abs(float(average_gate_fidelity(u_qt, "unitary", "y", np.pi / 2))
             - float(average_gate_fidelity(sq.kp.gate(bits), "unitary", "y", np.pi / 2)))

    print(f"resonant table: {t_res * 1e3:8.1f} ms  ({n_streams} bitstreams, {table.bits}-bit codes, d = {table.levels})")
    print(f"compiled table: {t_cmp * 1e3:8.1f} ms  (Y90 search included; Y90 1-F = {ctable.meta['y90_infidelity'][0]:.2e})")
    print(f"compiled table from the stored Y90 bitstream: {t_stored * 1e3:8.1f} ms")
    print(f"qutip, 1 bitstream ({bits.size} ticks, Gaussian 2 ps): {t_qt:6.2f} s   |dF| = {df:.1e}")
    print(f"ratio qutip-per-bitstream / resonant table build: {t_qt / t_res:8.1f}x  (target >= 100x)")
    print(f"ratio qutip-per-bitstream / compiled table build: {t_qt / t_cmp:8.1f}x (search), "
          f"{t_qt / t_stored:8.1f}x (stored Y90)")
    print(f"per-bitstream speed-up (resonant): {t_qt * n_streams / t_res:10.0f}x")


if __name__ == "__main__":
    main()
