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
Loading checks the whole document (:func:`load_model`): required and known keys, types, lengths and finite
numbers; every problem is one CryoctlError naming the file and the field.
Files of format ``cryoctl.qnn/1`` (codes with ``param_steps`` / ``angle_per_code``, angles = codes x
step) still load: their codes keep their grid, their angles are codes x step.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.qnn.data import DATASETS
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


#: Keys of a ``cryoctl.qnn/2`` document: those that decide what is played and on which data are required,
#: the rest is provenance (``entangler`` was not recorded by early /2 files). Any other key is an error.
V2_REQUIRED = ("format", "model", "angles", "codes", "grid", "dataset")
V2_OPTIONAL = ("quantizer", "provider", "profile_hash", "entangler", "seed", "trainer", "history")
#: ``cryoctl.qnn/1``: model and angles required (its files may lack the dataset: iris, seed 0, as before).
V1_REQUIRED = ("format", "model", "angles")
V1_OPTIONAL = ("codes", "bits", "angle_per_code", "param_steps", "dataset", *V2_OPTIONAL)
MODEL_KEYS = ("ansatz", "n_qubits", "n_classes", "scale")
GRID_KEYS = ("provider", "bits", "steps")
MAX_QUBITS = 16  # a model file naming more qubits is refused before a 2^n statevector is allocated


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_finite(v) -> bool:
    """A JSON number that is a finite float (NaN, Infinity and integers beyond the float range are not)."""
    try:
        return _is_real(v) and math.isfinite(float(v))
    except OverflowError:
        return False


def _bad(message: str, field: str) -> CryoctlError:
    return CryoctlError(f"invalid or incomplete model file: {message}", field=field)


def _numbers(v, n: int | None, where: str, what: str, *, integer: bool = False, positive: bool = False) -> list:
    """A JSON list of ``n`` finite numbers (integers / > 0 if asked), else one CryoctlError naming ``where``."""
    kind = "integers in (-2^31, 2^31)" if integer else ("positive finite numbers" if positive else "finite numbers")
    expect = f"a list of {n} {kind}" if n is not None else f"a list of {kind}"
    if not isinstance(v, list):
        raise _bad(f"expected {expect} ({what}), got {type(v).__name__}", field=where)
    if n is not None and len(v) != n:
        raise _bad(f"expected {expect} ({what}), got {len(v)}", field=where)
    for i, x in enumerate(v):
        ok = (_is_int(x) and abs(x) < 2**31) if integer else (_is_finite(x) and (x > 0 or not positive))
        if not ok:
            raise _bad(f"expected {expect} ({what}); item {i} is {x!r}", field=where)
    return v


def _keys(doc: dict, required, optional, where: str) -> None:
    missing = [k for k in required if k not in doc]
    if missing:
        raise _bad(f"missing key(s) {', '.join(map(repr, missing))}; expected keys {', '.join(required)}"
                   f" (optional: {', '.join(optional)})", field=where)
    extra = sorted(str(k) for k in doc if k not in required and k not in optional)
    if extra:
        raise _bad(f"unknown key(s) {', '.join(map(repr, extra))}; expected keys {', '.join(required)}"
                   f" (optional: {', '.join(optional)})", field=where)


def _check_model(m, where: str) -> QNNModel:
    if not isinstance(m, dict):
        raise _bad(f"expected a mapping with keys {', '.join(MODEL_KEYS)}, got {type(m).__name__}",
                   field=where)
    _keys(m, MODEL_KEYS, (), where)
    if not isinstance(m["ansatz"], str):
        raise _bad(f"expected an ansatz name such as compact16, got {m['ansatz']!r}", field=f"{where}.ansatz")
    if not _is_int(m["n_qubits"]) or not 1 <= m["n_qubits"] <= MAX_QUBITS:
        raise _bad(f"expected an integer in [1, {MAX_QUBITS}], got {m['n_qubits']!r}", field=f"{where}.n_qubits")
    if not _is_int(m["n_classes"]) or m["n_classes"] < 2:
        raise _bad(f"expected an integer >= 2, got {m['n_classes']!r}", field=f"{where}.n_classes")
    if not _is_finite(m["scale"]) or m["scale"] <= 0:
        raise _bad(f"expected a positive finite number, got {m['scale']!r}", field=f"{where}.scale")
    try:  # the models layer knows the ansatz names (and what fits on n qubits)
        return QNNModel(m["ansatz"], m["n_qubits"], m["n_classes"], float(m["scale"]))
    except CryoctlError as exc:
        msg = str(exc).removeprefix(f"{exc.field}: ") if exc.field else str(exc)
        raise _bad(msg, field=f"{where}.{exc.field or 'ansatz'}") from None


def _check_dataset(d, where: str) -> None:
    if d is None:
        return
    if not isinstance(d, dict):
        raise _bad(f"expected a mapping with 'name' and 'seed' (or null), got {type(d).__name__}", field=where)
    if d.get("name") not in DATASETS:
        raise _bad(f"expected one of {', '.join(DATASETS)}, got {d.get('name')!r}", field=f"{where}.name")
    if "seed" in d and not (_is_int(d["seed"]) and 0 <= d["seed"] < 2**32):
        raise _bad(f"expected an integer in [0, 2^32), got {d['seed']!r}", field=f"{where}.seed")
    tf = d.get("test_fraction", 0.3)
    if not (_is_real(tf) and 0.0 < tf < 1.0):
        raise _bad(f"expected a number in (0, 1), got {tf!r}", field=f"{where}.test_fraction")


def _check_document(doc, path: Path) -> dict:
    """The document, checked field by field (one CryoctlError naming the first bad field); /1 upgraded."""
    if not isinstance(doc, dict) or doc.get("format") not in FORMATS:
        got = f"format {doc.get('format')!r}" if isinstance(doc, dict) else f"a JSON {type(doc).__name__}"
        raise CryoctlError(f"not a cryoctl model file: expected a JSON object with format one of {list(FORMATS)},"
                           f" got {got}", field=f"{path}: format")
    v1 = doc["format"] == "cryoctl.qnn/1"
    _keys(doc, *((V1_REQUIRED, V1_OPTIONAL) if v1 else (V2_REQUIRED, V2_OPTIONAL)), f"{path}")
    model = _check_model(doc["model"], f"{path}: model")
    n = model.n_params
    _numbers(doc["angles"], n, f"{path}: angles", f"one angle in rad per parameter of {model.ansatz}")
    codes = doc.get("codes")
    if codes is not None:
        _numbers(codes, n, f"{path}: codes", f"one code per parameter of {model.ansatz}", integer=True)
    if v1:
        if codes is not None:
            if doc.get("param_steps") is not None:
                _numbers(doc["param_steps"], n, f"{path}: param_steps", "the angle of one code per parameter",
                         positive=True)
            else:
                _numbers([doc.get("angle_per_code")], 1, f"{path}: angle_per_code", "the angle of one code",
                         positive=True)
        doc = _upgrade_v1(doc)
    else:
        grid = doc["grid"]
        if codes is not None and grid is None:
            raise _bad("codes need their grid: expected a mapping with provider, bits and steps",
                   field=f"{path}: grid")
        if grid is not None:
            if not isinstance(grid, dict):
                raise _bad(f"expected a mapping with keys {', '.join(GRID_KEYS)} or null, got "
                           f"{type(grid).__name__}", field=f"{path}: grid")
            _keys(grid, GRID_KEYS, (), f"{path}: grid")
            if not isinstance(grid["provider"], str):
                raise _bad(f"expected a provider label, got {grid['provider']!r}", field=f"{path}: grid.provider")
            if grid["bits"] is not None and not (_is_int(grid["bits"]) and grid["bits"] >= 1):
                raise _bad(f"expected an integer >= 1 or null, got {grid['bits']!r}", field=f"{path}: grid.bits")
            _numbers(grid["steps"], n, f"{path}: grid.steps", "the angle of one code per parameter", positive=True)
    if not v1 and doc["dataset"] is None:
        raise _bad("expected a mapping with the dataset's 'name' and 'seed', got null", field=f"{path}: dataset")
    _check_dataset(doc.get("dataset"), f"{path}: dataset")
    return doc


def load_model(path: str | Path) -> tuple[QNNModel, np.ndarray, dict]:
    """(model, angles, document); the document carries the codes and their grid (see :func:`model_params`).

    Every user error is one CryoctlError naming the file and the field: a file that cannot be read, is
    not UTF-8 text, is empty or not JSON, is not a JSON object of a known format; a missing or unknown key;
    a field of the wrong type; a wrong number of angles / codes / steps; a non-finite number.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CryoctlError(f"cannot read model file ({exc.strerror or exc})", field=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CryoctlError(f"not a model file: expected UTF-8 JSON text, got a byte 0x{raw[exc.start]:02x} that is "
                           f"not UTF-8 at offset {exc.start} (a binary file?)", field=str(path)) from None
    if not text.strip():
        raise CryoctlError("empty file; expected a JSON model document written by `cryoctl train`", field=str(path))
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CryoctlError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                           field=str(path)) from None
    except RecursionError:
        raise CryoctlError("not a model file: JSON nested too deeply", field=str(path)) from None
    except ValueError as exc:  # e.g. an integer literal longer than Python's digit limit
        raise CryoctlError(f"not valid JSON: {exc}", field=str(path)) from None
    doc = _check_document(doc, path)
    model = _check_model(doc["model"], f"{path}: model")
    return model, np.asarray(doc["angles"], dtype=float), doc


def check_dataset_fits(model: QNNModel, dataset, where: str) -> None:
    """A loaded model can be evaluated on ``dataset``: one readout class per dataset class, one encoded
    feature per qubit (else one CryoctlError naming ``where``)."""
    if model.n_classes != dataset.n_classes:
        raise CryoctlError(f"the model has {model.n_classes} classes, dataset {dataset.name!r} has "
                           f"{dataset.n_classes}; expected equal", field=f"{where}: model.n_classes")
    if dataset.x_test.shape[1] != model.n_qubits:
        raise CryoctlError(f"the model has {model.n_qubits} qubits, dataset {dataset.name!r} encodes "
                           f"{dataset.x_test.shape[1]} features; expected equal", field=f"{where}: model.n_qubits")


def model_params(model: QNNModel, angles: np.ndarray, doc: dict, executor) -> np.ndarray:
    """What ``executor`` plays for a loaded model: its own codes when they belong to the executor's grid
    (same provider label), else its angles encoded once into the executor's codes."""
    grid = doc.get("grid")
    if doc.get("codes") is not None and grid is not None and grid.get("provider") == executor.label:
        return np.asarray(doc["codes"], dtype=np.int64)
    return executor.encode_params(model.circuit, angles)
