"""DAC throughput: vectorised paths vs straightforward Python-loop references, same run.

    .venv/bin/python benchmarks/bench_dac.py

Prints, for each case, the reference time, the vectorised time and their ratio (speed-up), after
checking that both give the same numbers.
"""

from __future__ import annotations

import time

import numpy as np

from cryoctl.dac import Dac, draw_mismatch, element_currents, levels_from_mismatch
from cryoctl.profile import DacSpec


def _best(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _levels_loop(spec: DacSpec, z: np.ndarray) -> np.ndarray:
    """Reference: one chip, one code at a time, summing the switched elements."""
    w = element_currents(spec, z)
    b = spec.bits - spec.n_unary
    out = np.empty(2**spec.bits)
    for u in range(2**spec.bits):
        hi, lo = u >> b, u & (2**b - 1)
        i_on = sum(w[i] for i in range(b) if lo >> i & 1) + w[b : b + hi].sum()
        out[u] = (i_on - 2 ** (spec.bits - 1)) * spec.lsb_v
    return out


def main() -> None:
    rows = []
    # 1. static transfer of 200 chips (12-bit segmented) vs a per-code loop
    spec = DacSpec(bits=12, architecture="segmented", unary_msbs=5, unit_mismatch_sigma=0.02)
    z = draw_mismatch(spec, np.random.default_rng(0), 200)
    ref_one = _levels_loop(spec, z[0])
    assert np.allclose(levels_from_mismatch(spec, z)[0], ref_one, rtol=0, atol=1e-12)
    t_ref = _best(lambda: _levels_loop(spec, z[0]), 1) * z.shape[0]
    t_vec = _best(lambda: levels_from_mismatch(spec, z))
    rows.append(("levels, 200 chips x 4096 codes", t_ref, t_vec))

    # 2. render 2000 shots x 256 samples with noise, jitter, 4x oversampling and a filter
    spec = DacSpec(bits=14, architecture="segmented", unary_msbs=5, unit_mismatch_sigma=0.003,
                   noise_v_per_sqrt_hz=3.5e-9, jitter_rms_ps=0.1, sample_rate_gsps=6.4, oversampling=4,
                   reconstruction_filter={"cutoff_ghz": 3.0})
    dac = Dac(spec)
    codes = np.broadcast_to(np.round(6000 * np.sin(np.linspace(0, np.pi, 256))).astype(int), (2000, 256))
    gen = np.random.default_rng
    assert np.array_equal(dac.render(codes[:1], gen(1)), dac.render(codes[:1], gen(1)))
    t_vec = _best(lambda: dac.render(codes, gen(1)))
    t_ref = _best(lambda: [dac.render(codes[k], gen(k)) for k in range(200)], 1) * 10
    rows.append(("render, 2000 shots x 256 samples (ref: shot loop)", t_ref, t_vec))

    print(f"{'case':52s} {'ref [s]':>9s} {'vec [s]':>9s} {'speed-up':>9s}")
    for name, t_ref, t_vec in rows:
        print(f"{name:52s} {t_ref:9.4f} {t_vec:9.4f} {t_ref / t_vec:9.1f}x")


if __name__ == "__main__":
    main()
