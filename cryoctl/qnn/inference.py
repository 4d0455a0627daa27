"""Inference of a trained model at any DAC resolution: the accuracy-vs-bits elbow.

A float-trained model (angles theta) is evaluated on a quantized provider by encoding its angles into
that provider's codes ONCE (:meth:`cryoctl.circuit.Executor.encode_params`: the ideal b-bit grid
2 pi / 2^b, or per channel the code of nearest measured angle of a hardware profile's calibration);
data-encoding angles go through codes inside the executor. Finite shots and readout errors come with
the executor.
"""

from __future__ import annotations

import numpy as np

from cryoctl.circuit.executor import Executor
from cryoctl.circuit.providers import ExactProvider, IdealQuantizer
from cryoctl.qnn.train import accuracy


def evaluate(model, params, dataset, executor: Executor | None = None, *, split: str = "test",
             rng: np.random.Generator | None = None) -> dict:
    """{"accuracy", "loss"} of a parameter set (what the executor plays: codes, or angles on exact
    gates) on a split ("test" or "train"). Default executor: exact 2-level gates, exact readout."""
    executor = executor if executor is not None else Executor(ExactProvider(2))
    x, y = (dataset.x_test, dataset.y_test) if split == "test" else (dataset.x_train, dataset.y_train)
    acc, loss = accuracy(model, executor, x, y, params, rng=rng)
    return {"accuracy": acc, "loss": loss}


def evaluate_angles(model, angles, dataset, executor: Executor | None = None, *, split: str = "test",
                    rng: np.random.Generator | None = None) -> dict:
    """:func:`evaluate` of float angles: encoded once into the executor's codes (per channel)."""
    executor = executor if executor is not None else Executor(ExactProvider(2))
    return evaluate(model, executor.encode_params(model.circuit, angles), dataset, executor, split=split, rng=rng)


def accuracy_vs_bits(model, angles, dataset, bits, *, levels: int = 2, split: str = "test") -> dict[int, float]:
    """Test accuracy of float angles on the ideal b-bit quantizer for every b in ``bits``."""
    return {int(b): evaluate_angles(model, angles, dataset, Executor(IdealQuantizer(int(b), levels)),
                                    split=split)["accuracy"] for b in bits}
