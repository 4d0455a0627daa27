"""Issue 4 'Done means' on the ideal quantizer: 3 seeds, means, numbers printed with -s.

Settings that are shared: scale 5, Adam lr 0.05 unless stated, Iris 30 epochs / batch 16, Breast
Cancer 10 epochs / batch 32; dataset split seed = training seed.
"""

from functools import lru_cache

import numpy as np
import pytest

from cryoctl.circuit import ExactProvider, Executor, IdealQuantizer, Readout
from cryoctl.qnn import QNNModel, TrainConfig, accuracy_vs_bits, evaluate, load_dataset, train

SEEDS = (0, 1, 2)
SETTINGS = {"iris": dict(epochs=30, batch_size=16), "breast_cancer": dict(epochs=10, batch_size=32)}


@lru_cache(maxsize=None)
def data(name, seed):
    return load_dataset(name, seed=seed)


@lru_cache(maxsize=None)
def run(name, ansatz, seed, trainer="float", bits=None, optimizer="adam", lr=0.05):
    ds = data(name, seed)
    model = QNNModel(ansatz, 4, ds.n_classes, 5.0)
    ex = Executor(ExactProvider(2) if bits is None else IdealQuantizer(bits))
    cfg = TrainConfig(trainer, optimizer, lr, seed=seed, **SETTINGS[name])
    return model, train(model, ds, ex, cfg)


def mean_test(results):
    return 100 * float(np.mean([r.final["test_acc"] for _, r in results]))


def test_iris_compact16_float_and_inference_elbow():
    floats = [run("iris", "compact16", s) for s in SEEDS]
    f = mean_test(floats)
    acc = {b: 100 * np.mean([accuracy_vs_bits(m, r.angles, data("iris", s), [b])[b]
                             for s, (m, r) in zip(SEEDS, floats)]) for b in (2, 6)}
    print(f"\niris compact16: float {f:.1f} %, 6-bit {acc[6]:.1f} %, 2-bit {acc[2]:.1f} %")
    assert f >= 90.0
    assert abs(acc[6] - f) <= 2.0
    assert acc[2] <= f - 10.0


def test_deadlock_round_adam_4_bits_changes_no_code():
    rs = [run("iris", "compact16", s, "round", 4) for s in SEEDS]
    changed = [np.mean([h["changed_frac"] for h in r.history[1:]]) for _, r in rs]
    start = 100 * np.mean([r.start["test_acc"] for _, r in rs])
    final = mean_test(rs)
    print(f"\nround/adam/4 bit: codes changed {100 * np.mean(changed):.2f} %, start {start:.1f} % -> final {final:.1f} %")
    assert max(changed) == 0.0  # |Adam step| ~ lr = 0.05 < half a step (0.196 rad): every move rounds to 0
    assert final == pytest.approx(start)
    assert final < mean_test([run("iris", "compact16", s) for s in SEEDS]) - 30


def test_deadlock_round_sgd_10_bits_worse_than_float():
    """SGD lr 0.01 at 10 bits: a move needs |grad| > step / (2 lr) = 0.31; small gradients stall."""
    rnd = [run("iris", "compact16", s, "round", 10, "sgd", 0.01) for s in SEEDS]
    flt = [run("iris", "compact16", s, "float", None, "sgd", 0.01) for s in SEEDS]
    fa = [run("iris", "compact16", s) for s in SEEDS]
    changed = np.mean([np.mean([h["changed_frac"] for h in r.history[1:]]) for _, r in rnd])
    loss_r = np.mean([r.final["loss"] for _, r in rnd])
    loss_f = np.mean([r.final["loss"] for _, r in flt])
    print(f"\nSGD 0.01: round@10 bit {mean_test(rnd):.1f} % (loss {loss_r:.3f}, codes changed {100 * changed:.1f} %), "
          f"float SGD {mean_test(flt):.1f} % (loss {loss_f:.3f}), float Adam {mean_test(fa):.1f} %")
    assert changed < 0.3  # most updates are deadlocked (float changes 100 %)
    assert mean_test(rnd) <= mean_test(flt) - 3.0
    assert loss_r > loss_f + 0.03
    assert mean_test(rnd) <= mean_test(fa) - 20.0


def test_round_at_14_bits_matches_float():
    rnd = mean_test([run("iris", "compact16", s, "round", 14) for s in SEEDS])
    flt = mean_test([run("iris", "compact16", s) for s in SEEDS])
    print(f"\nround@14 bit {rnd:.1f} % vs float {flt:.1f} %")
    assert abs(rnd - flt) <= 2.0


@pytest.mark.parametrize("name", ["iris", "breast_cancer"])
@pytest.mark.parametrize("ansatz", ["compact16", "deep48"])
def test_stochastic_unbiased_within_3_points_of_float(name, ansatz):
    flt = mean_test([run(name, ansatz, s) for s in SEEDS])
    out = {}
    for bits in (6, 8, 10):
        rs = [run(name, ansatz, s, "stochastic", bits) for s in SEEDS]
        out[bits] = mean_test(rs)
        assert all(r.config.temperature == 1.0 for _, r in rs)  # T = 1: p = frac(u), unbiased
    print(f"\nstochastic {name} {ansatz}: float {flt:.1f} %, " + ", ".join(f"{b} bit {a:.1f} %" for b, a in out.items()))
    for bits, acc in out.items():
        assert abs(acc - flt) <= 3.0, (bits, acc, flt)


def test_finite_shot_accuracy_converges_to_exact():
    errs = {}
    for s in SEEDS:
        model, r = run("iris", "compact16", s)
        ds = data("iris", s)
        exact = evaluate(model, r.angles, ds)["accuracy"]
        for k in (4, 64, 1024, 16384):
            ex = Executor(ExactProvider(2), readout=Readout(shots=k))
            accs = [evaluate(model, r.angles, ds, ex, rng=np.random.default_rng([s, k, j]))["accuracy"]
                    for j in range(3)]
            errs.setdefault(k, []).append(np.mean(np.abs(np.array(accs) - exact)))
    e = {k: 100 * np.mean(v) for k, v in errs.items()}
    print("\n|acc(shots) - acc(exact)| in points:", {k: round(v, 2) for k, v in e.items()})
    assert e[4] > e[1024] and e[64] >= e[16384]
    assert e[16384] <= 1.0


def test_same_seed_bit_identical():
    ds = data("iris", 0)
    model = QNNModel("compact16", 4, 3)
    cfg = TrainConfig("stochastic", epochs=2, seed=5)
    a = train(model, ds, Executor(IdealQuantizer(6)), cfg)
    b = train(model, ds, Executor(IdealQuantizer(6)), cfg)
    assert np.array_equal(a.codes, b.codes) and a.history == b.history
