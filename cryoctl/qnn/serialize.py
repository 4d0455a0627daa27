"""Save / load a trained QNN as one JSON document.

Format ``cryoctl.qnn/2``: model (ansatz, n_qubits, n_classes, scale); ``angles``: the calibrated
angles of the parameters (rad; for hardware-trained codes the measured angle of each code on its
channel); ``codes``: for quantized trainers, the integer codes themselves, with ``grid``: the grid they
belong to (``provider`` label -- ``idealB`` or ``tableB:<profile hash>`` --, ``bits`` and the nominal
``steps`` of every parameter's channel); quantizer, provider label, profile hash, dataset, seed,
trainer settings, the entangler the model was trained with (its label: ``ideal``, ``ideal+depol<p>`` or
``realized``; null when not recorded) and the per-epoch history.

Playing a saved model (:func:`model_params`): on the provider its codes belong to, the codes are used
as they are; on any other provider its angles are encoded once into that provider's codes.
Files of format ``cryoctl.qnn/1`` (codes with ``param_steps`` / ``angle_per_code``, angles = codes x
step) still load: their codes keep their grid, their angles are codes x step.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.qnn.models import QNNModel
from cryoctl.qnn.train import TrainResult, config_dict

FORMAT = "cryoctl.qnn/2"
FORMATS = ("cryoctl.qnn/1", FORMAT)


def model_document(model: QNNModel, result: TrainResult, *, dataset: dict, profile_hash: str | None = None,
                   quantizer: str = "float", entangler: str | None = None) -> dict:
    grid = None
    if result.codes is not None:
        grid = {"provider": result.provider_label, "bits": result.bits,
                "steps": [float(s) for s in result.param_steps]}
    return {
        "format": FORMAT,
        "model": {"ansatz": model.ansatz, "n_qubits": model.n_qubits, "n_classes": model.n_classes,
                  "scale": model.scale},
        "angles": [float(a) for a in result.angles],
        "codes": None if result.codes is None else [int(c) for c in result.codes],
        "grid": grid,
        "quantizer": quantizer,
        "provider": result.provider_label,
        "profile_hash": profile_hash,
        "entangler": entangler,
        "dataset": dataset,
        "seed": result.config.seed,
        "trainer": config_dict(result.config),
        "history": result.history,
    }


def save_model(path: str | Path, doc: dict) -> None:
    Path(path).write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")


def _upgrade_v1(doc: dict) -> dict:
    """cryoctl.qnn/1 -> /2: angles = codes x step, the codes' grid from param_steps / angle_per_code."""
    doc = dict(doc)
    if doc.get("codes") is not None:
        n = len(doc["codes"])
        steps = doc.get("param_steps") or [float(doc["angle_per_code"])] * n
        doc["angles"] = (np.asarray(doc["codes"], dtype=np.int64) * np.asarray(steps, dtype=float)).tolist()
        doc["grid"] = {"provider": doc.get("provider"), "bits": doc.get("bits"), "steps": [float(s) for s in steps]}
    else:
        doc["grid"] = None
    doc["format"] = FORMAT
    return doc


def load_model(path: str | Path) -> tuple[QNNModel, np.ndarray, dict]:
    """(model, angles, document); the document carries the codes and their grid (see :func:`model_params`)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise CryoctlError(f"cannot read model file ({exc.strerror})", field=str(path)) from None
    except json.JSONDecodeError as exc:
        raise CryoctlError(f"not valid JSON: {exc.msg} at line {exc.lineno}", field=str(path)) from None
    if not isinstance(doc, dict) or doc.get("format") not in FORMATS:
        raise CryoctlError(f"not a cryoctl model file (expected format one of {list(FORMATS)})",
                           field=f"{path}: format")
    try:
        if doc["format"] == "cryoctl.qnn/1":
            doc = _upgrade_v1(doc)
        m = doc["model"]
        model = QNNModel(m["ansatz"], int(m["n_qubits"]), int(m["n_classes"]), float(m["scale"]))
        angles = np.asarray(doc["angles"], dtype=float)
        codes = doc.get("codes")
        if codes is not None and (doc.get("grid") is None or len(codes) != model.n_params
                                  or any(int(c) != c for c in codes)):
            raise ValueError("codes need a grid and one integer per parameter")
    except (KeyError, TypeError, ValueError) as exc:
        raise CryoctlError(f"incomplete model file ({exc.__class__.__name__}: {exc})", field=str(path)) from None
    if angles.shape != (model.n_params,):
        raise CryoctlError(f"expected {model.n_params} parameters for {model.ansatz}, got {angles.shape}",
                           field=f"{path}: angles")
    return model, angles, doc


def model_params(model: QNNModel, angles: np.ndarray, doc: dict, executor) -> np.ndarray:
    """What ``executor`` plays for a loaded model: its own codes when they belong to the executor's grid
    (same provider label), else its angles encoded once into the executor's codes."""
    grid = doc.get("grid")
    if doc.get("codes") is not None and grid is not None and grid.get("provider") == executor.label:
        return np.asarray(doc["codes"], dtype=np.int64)
    return executor.encode_params(model.circuit, angles)
