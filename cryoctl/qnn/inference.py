"""Inference of a trained model at any DAC resolution: the accuracy-vs-bits elbow.

A float-trained model (angles theta) is evaluated on a quantized provider: the ideal b-bit quantizer
(every angle, data encoding included, rounded to the grid 2 pi / 2^b) or a hardware profile's gate
table (angles -> DAC codes -> realized operations). Optional finite shots and readout errors.
"""

from __future__ import annotations

import numpy as np

from cryoctl.circuit.providers import ExactProvider, IdealQuantizer
from cryoctl.circuit.readout import Readout
from cryoctl.qnn.train import accuracy


def evaluate(model, angles, dataset, provider=None, *, split: str = "test", readout: Readout | None = None,
             cz_error: float = 0.0, rng: np.random.Generator | None = None) -> dict:
    """{"accuracy", "loss"} of parameter angles on a split ("test" or "train")."""
    provider = provider or ExactProvider(2)
    x, y = (dataset.x_test, dataset.y_test) if split == "test" else (dataset.x_train, dataset.y_train)
    acc, loss = accuracy(model, provider, x, y, np.asarray(angles, float), readout=readout, cz_error=cz_error,
                         rng=rng)
    return {"accuracy": acc, "loss": loss}


def accuracy_vs_bits(model, angles, dataset, bits, *, levels: int = 2, split: str = "test") -> dict[int, float]:
    """Test accuracy of float angles on the ideal b-bit quantizer for every b in ``bits``."""
    return {int(b): evaluate(model, angles, dataset, IdealQuantizer(int(b), levels), split=split)["accuracy"]
            for b in bits}
