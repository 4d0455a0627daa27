"""Accuracy vs DAC bits of float-trained QNNs (the inference 'elbow'), ideal quantizer, 3 seeds.

Published shape to compare with: accuracy stays at its float value down to ~5-6 bits and collapses
below an elbow at 3-5 bits depending on the dataset.

    .venv/bin/python experiments/qnn_elbow.py [--datasets iris breast_cancer digits] [--ansatz compact16]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from cryoctl.circuit import ExactProvider, Executor
from cryoctl.qnn import QNNModel, TrainConfig, accuracy_vs_bits, load_dataset, train

SETTINGS = {"iris": dict(epochs=30, batch_size=16), "breast_cancer": dict(epochs=10, batch_size=32),
            "digits": dict(epochs=15, batch_size=32), "moons": dict(epochs=30, batch_size=16)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="+", default=["iris", "breast_cancer", "digits"])
    ap.add_argument("--ansatz", default="compact16")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--bits", type=int, nargs="+", default=list(range(1, 11)))
    args = ap.parse_args()
    out = {}
    for name in args.datasets:
        rows = []
        for seed in range(args.seeds):
            ds = load_dataset(name, seed=seed)
            model = QNNModel(args.ansatz, 4, ds.n_classes)
            r = train(model, ds, Executor(ExactProvider(2)), TrainConfig(seed=seed, **SETTINGS.get(name, {})))
            accs = accuracy_vs_bits(model, r.angles, ds, args.bits)
            rows.append([r.final["test_acc"]] + [accs[b] for b in args.bits])
        mean = 100 * np.mean(rows, axis=0)
        out[name] = {"float": mean[0], **{int(b): a for b, a in zip(args.bits, mean[1:])}}
        print(f"{name:>14} float {mean[0]:5.1f} % | " + " ".join(f"{b}b {a:5.1f}" for b, a in zip(args.bits, mean[1:])),
              flush=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
