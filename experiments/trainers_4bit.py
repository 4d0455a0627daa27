"""How close do the code-space trainers get to float at 4 bits? (issue "The seed study, reproduced and beaten")

Abstract 4-bit quantizer, parameters only (``IdealQuantizer(4)``, the papers' model; data angles exact),
Iris and Breast Cancer x compact16 and deep48, seeds 0..S-1 (the seed draws theta_0 and the mini-batch
order; the dataset split is seed 0 for every run, as in the study tasks). Final-epoch test accuracy.

    float       ExactProvider, Adam lr 0.05, EPOCHS epochs, batch 16 (the reference)
    stochastic  the seed trainer, T = 1, Adam lr 0.05, EPOCHS epochs (what the seed study measured)
    latent      controller-side float copy + straight-through gradient at the applied codes, same Adam,
                EPOCHS epochs
    linesearch  exact line search over all 16 codes per coordinate (3 runs per line), one sweep per
                mini-batch of 16, LINESEARCH_EPOCHS epochs
    anneal      QUBO of the mini-batch loss in +-1-code increments (8-parameter blocks) solved by
                simulated annealing (dwave-samplers), ANNEAL_EPOCHS epochs of batch 32
    The three code trainers end with their default polish: full-batch exact line-search sweeps (at most
    20) to a coordinate-wise exact minimum of the training loss. Their defaults are what runs here.

    .venv/bin/python experiments/trainers_4bit.py [--seeds 5] [--jobs 3] [--trainers float latent ...] > experiments/trainers_4bit.md
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from cryoctl.circuit import ExactProvider, Executor, IdealQuantizer
from cryoctl.qnn import QNNModel, TrainConfig, load_dataset, train

BITS = 4
EPOCHS = 30
ANNEAL_EPOCHS = 8
LINESEARCH_EPOCHS = 10
DATASETS = ("iris", "breast_cancer")
ANSATZE = ("compact16", "deep48")
TRAINERS = ("float", "stochastic", "latent", "linesearch", "anneal")


def run(job):
    name, ansatz, trainer, seed = job
    ds = load_dataset(name, seed=0)
    model = QNNModel(ansatz, 4, ds.n_classes)
    t0 = time.perf_counter()
    if trainer == "float":
        res = train(model, ds, Executor(ExactProvider(2)), TrainConfig("float", epochs=EPOCHS, seed=seed))
    else:
        epochs, batch = {"anneal": (ANNEAL_EPOCHS, 32), "linesearch": (LINESEARCH_EPOCHS, 16)}.get(trainer, (EPOCHS, 16))
        res = train(model, ds, Executor(IdealQuantizer(BITS)), TrainConfig(trainer, epochs=epochs, batch_size=batch,
                                                                           seed=seed))
    print(job, f"{100 * res.final['test_acc']:.1f}", f"{time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
    return job, res.final["test_acc"], res.final["train_acc"], len(res.history) - 1, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--trainers", nargs="+", default=list(TRAINERS))
    args = ap.parse_args()
    jobs = [(d, a, t, s) for d in DATASETS for a in ANSATZE for t in args.trainers for s in range(args.seeds)]
    cost = {"anneal": 3, "linesearch": 2}
    jobs.sort(key=lambda j: -(j[0] == "breast_cancer") * (1 + (j[1] == "deep48")) * cost.get(j[2], 0.1))
    acc: dict = {}
    meta: dict = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        for (d, a, t, s), te, tr, ep, sec in pool.map(run, jobs):
            acc.setdefault((d, a, t), {})[s] = 100 * te
            meta.setdefault((d, a, t), []).append((tr, ep, sec))
    print(f"# Test accuracy at {BITS} bits (abstract quantizer, parameters only) vs float\n")
    print(f"{args.seeds} seeds (0..{args.seeds - 1}); mean +- sample std over seeds (min..max); gap = trainer - float "
          "(mean over seeds of the per-seed difference, +- its std); final epoch.\n")
    print("| dataset | ansatz | trainer | test acc % | min..max | gap to float (points) | epochs run (incl. polish) | s/run |")
    print("|---|---|---|---|---|---|---|---|")
    worst: dict = {}
    for d in DATASETS:
        for a in ANSATZE:
            ref = acc.get((d, a, "float"))
            for t in args.trainers:
                v = np.array([acc[(d, a, t)][s] for s in range(args.seeds)])
                gap = ""
                if ref is not None and t != "float":
                    g = v - np.array([ref[s] for s in range(args.seeds)])
                    gap = f"{g.mean():+.1f} +- {g.std(ddof=1):.1f}"
                    worst.setdefault(t, []).append((g.mean(), d, a))
                ep = np.mean([m[1] for m in meta[(d, a, t)]])
                sec = np.mean([m[2] for m in meta[(d, a, t)]])
                print(f"| {d} | {a} | {t} | {v.mean():.1f} +- {v.std(ddof=1):.1f} | {v.min():.1f}..{v.max():.1f} | "
                      f"{gap} | {ep:.0f} | {sec:.1f} |")
    print("\n| trainer | mean gap over the 4 pairs | worst pair |")
    print("|---|---|---|")
    for t, rows in worst.items():
        g, d, a = min(rows)
        print(f"| {t} | {np.mean([r[0] for r in rows]):+.1f} | {g:+.1f} ({d} / {a}) |")


if __name__ == "__main__":
    main()
