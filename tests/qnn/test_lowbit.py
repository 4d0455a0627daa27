"""Hardware training from 1 bit up (cryo_cmos_6bit with a 1- and 2-bit XY DAC, full noise).

At 1 and 2 bits the Rabi scan finds pi code 1 (the only positive code), so the nominal grid is pi per
code and every whole-code shift is a multiple of pi: the drive parameters use the code difference
[E(c+1) - E(c-1)] / (2 step) (Executor.shift_rule). The virtual-Z phase words keep 10 bits and the
generalised shift rule. At 1 bit c + 1 and c - 1 are the same code, so drive slopes are 0 and drive
codes never move; at 2 bits they are real slopes and drive codes move."""

from functools import lru_cache

import numpy as np
import pytest

from cryoctl.profile import bits_overrides, load_profile
from cryoctl.qnn import QNNModel, TrainConfig, hardware_executor, load_dataset, train

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("gates")


@lru_cache(maxsize=None)
def run(bits, seed, cache):
    ds = load_dataset("iris", seed=seed)
    model = QNNModel("compact16", 4, ds.n_classes)
    base = load_profile("cryo_cmos_6bit")
    ex = hardware_executor(load_profile("cryo_cmos_6bit", bits_overrides(base, bits)), model.circuit, cache_dir=cache)
    cfg = TrainConfig("stochastic", lr=0.05, epochs=3, batch_size=16, seed=seed)
    return model, ex, train(model, ds, ex, cfg)


@pytest.mark.parametrize("bits", [1, 2])
def test_hardware_training_at_low_bits_decreases_the_loss(bits, cache):
    results = [run(bits, s, cache) for s in SEEDS]
    model, ex, _ = results[0]
    assert ex.provider.bits == bits and ex.mode == "density"
    axes = np.array(model.circuit.param_axes)
    drive = axes != "z"
    steps = ex.param_steps(model.circuit)
    assert np.allclose(np.abs(steps[drive]), np.pi)  # pi code +-1: no whole-code shift with a usable sine
    start = np.mean([r.start["loss"] for _, _, r in results])
    final = np.mean([r.final["loss"] for _, _, r in results])
    moved = [np.any(ex.encode_params(model.circuit, r.extra["init_angles"])[drive] != r.codes[drive])
             for _, ex, r in results]
    print(f"\n{bits}-bit hardware, stochastic trainer, 3 epochs: loss {start:.3f} -> {final:.3f} (mean of "
          f"{len(SEEDS)} seeds); drive codes moved in {sum(moved)} of {len(SEEDS)} runs")
    assert all(np.isfinite(r.final["loss"]) for _, _, r in results)
    assert final < start - 0.03
    if bits == 1:
        assert not any(moved)  # two codes: slope 0, and a zero Adam step moves no code
    else:
        assert any(moved)
