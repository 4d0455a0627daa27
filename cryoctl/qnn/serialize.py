"""Save / load a trained QNN as one JSON document.

Fields: format, model (ansatz, n_qubits, n_classes, scale), parameters as angles (rad) and, for
quantized trainers, as integer codes with the bit width and angle_per_code, the provider label and
profile hash (hardware training), dataset (name, seed, test fraction), seed, trainer settings, and
the per-epoch history.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.qnn.models import QNNModel
from cryoctl.qnn.train import TrainResult, config_dict

FORMAT = "cryoctl.qnn/1"


def model_document(model: QNNModel, result: TrainResult, *, dataset: dict, profile_hash: str | None = None,
                   quantizer: str = "float") -> dict:
    return {
        "format": FORMAT,
        "model": {"ansatz": model.ansatz, "n_qubits": model.n_qubits, "n_classes": model.n_classes,
                  "scale": model.scale},
        "angles": [float(a) for a in result.angles],
        "codes": None if result.codes is None else [int(c) for c in result.codes],
        "bits": result.bits,
        "angle_per_code": result.angle_per_code,
        "param_steps": None if result.param_steps is None else [float(s) for s in result.param_steps],
        "quantizer": quantizer,
        "provider": result.provider_label,
        "profile_hash": profile_hash,
        "dataset": dataset,
        "seed": result.config.seed,
        "trainer": config_dict(result.config),
        "history": result.history,
    }


def save_model(path: str | Path, doc: dict) -> None:
    Path(path).write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")


def load_model(path: str | Path) -> tuple[QNNModel, np.ndarray, dict]:
    """(model, angles, document). Angles are rebuilt from codes * angle_per_code when codes are stored."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise CryoctlError(f"cannot read model file ({exc.strerror})", field=str(path)) from None
    except json.JSONDecodeError as exc:
        raise CryoctlError(f"not valid JSON: {exc.msg} at line {exc.lineno}", field=str(path)) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CryoctlError(f"not a cryoctl model file (expected format {FORMAT!r})", field=f"{path}: format")
    try:
        m = doc["model"]
        model = QNNModel(m["ansatz"], int(m["n_qubits"]), int(m["n_classes"]), float(m["scale"]))
        if doc.get("codes") is not None:
            steps = doc.get("param_steps") or float(doc["angle_per_code"])
            angles = np.asarray(doc["codes"], dtype=np.int64) * np.asarray(steps, dtype=float)
        else:
            angles = np.asarray(doc["angles"], dtype=float)
    except (KeyError, TypeError, ValueError) as exc:
        raise CryoctlError(f"incomplete model file ({exc.__class__.__name__}: {exc})", field=str(path)) from None
    if angles.shape != (model.n_params,):
        raise CryoctlError(f"expected {model.n_params} parameters for {model.ansatz}, got {angles.shape}",
                           field=f"{path}: angles")
    return model, angles, doc
