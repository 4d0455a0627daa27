"""`cryoctl infer` / `cryoctl train` on bad input: one line on stderr naming the field, exit 2, no traceback.

Each case was a traceback (UnicodeDecodeError, AttributeError, IndexError) or a silent run with rc 0
before the checks of :func:`cryoctl.qnn.serialize.load_model` and the CLI's argument checks.
"""

import copy
import json

import pytest

from cryoctl.cli import main
from cryoctl.circuit import ExactProvider, Executor, IdealQuantizer
from cryoctl.qnn import QNNModel, TrainConfig, load_dataset, model_document, save_model, train


@pytest.fixture(scope="module")
def docs():
    """Two valid documents: a float model (angles only) and a 3-bit round-trained one (codes + grid)."""
    ds = load_dataset("iris", seed=0)
    model = QNNModel("compact16", 4, ds.n_classes)
    meta = {"name": "iris", "seed": 0, **ds.meta}
    fl = train(model, ds, Executor(ExactProvider(2)), TrainConfig(epochs=0, seed=0))
    q = train(model, ds, Executor(IdealQuantizer(3)), TrainConfig("round", epochs=0, seed=0))
    return {"float": model_document(model, fl, dataset=meta),
            "codes": model_document(model, q, dataset=meta, quantizer="ideal")}


def _one_error_line(capsys, *needles):
    """stderr is exactly one line 'error: ...' containing every needle, and stdout is empty."""
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1, cap.err
    assert lines[0].startswith("error: ") and "Traceback" not in cap.err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert cap.out == ""
    return lines[0]


def _infer(path):
    return main(["infer", str(path), "--bits", "3", "--json"])


def test_valid_documents_still_load_and_run(tmp_path, docs, capsys):
    """The checks must not refuse what `cryoctl train` writes (a float model and a code-trained one)."""
    for name, doc in docs.items():
        save_model(tmp_path / f"{name}.json", doc)
        assert _infer(tmp_path / f"{name}.json") == 0
        assert json.loads(capsys.readouterr().out)["results"][0]["provider"] == "float"


# -- files that are not a model document ------------------------------------------------------------

FILES = {
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "expected UTF-8 JSON text"),
    "latin1": ("{\"format\": \"caf\xe9\"}".encode("latin-1"), "got a byte 0xe9 that is not UTF-8 at offset 15"),
    "empty": (b"", "empty file"),
    "blank": (b"  \n\n", "empty file"),
    "not_json": (b"ansatz: compact16\n", "not valid JSON"),
    "truncated": (b'{"format": "cryoctl.qnn/2", "model": {', "not valid JSON"),
    "list": (b"[1, 2, 3]", "got a JSON list"),
    "number": (b"42", "got a JSON int"),
    "other_format": (b'{"format": "onnx"}', "got format 'onnx'"),
    "deep": (b"[" * 100_000 + b"]" * 100_000, "JSON nested too deeply"),
    "huge_int": (b'{"format": ' + b"9" * 5000 + b"}", "not valid JSON"),
}


@pytest.mark.parametrize("name", FILES)
def test_a_file_that_is_not_a_model_is_one_line(tmp_path, name, capsys):
    content, needle = FILES[name]
    path = tmp_path / f"{name}.json"
    path.write_bytes(content)
    assert _infer(path) == 2
    _one_error_line(capsys, str(path), needle)


def test_a_directory_or_missing_file_is_one_line(tmp_path, capsys):
    assert _infer(tmp_path) == 2
    _one_error_line(capsys, str(tmp_path), "cannot read model file")
    assert _infer(tmp_path / "nope.json") == 2
    _one_error_line(capsys, "nope.json", "cannot read model file")


# -- model documents with a bad field ---------------------------------------------------------------


def _set(doc, dotted, value):
    *head, last = dotted.split(".")
    for k in head:
        doc = doc[k]
    if value is DELETE:
        del doc[last]
    else:
        doc[last] = value


DELETE = object()
NAN, INF = float("nan"), float("inf")

# (base document, key path, new value, field named in the message, what the message says)
BAD_FIELDS = [
    ("float", "dataset", "iris", "dataset", "expected a mapping"),               # AttributeError before
    ("float", "dataset", ["iris", 0], "dataset", "got list"),
    ("float", "dataset", None, "dataset", "got null"),
    ("float", "dataset.name", "cifar10", "dataset.name", "expected one of iris"),
    ("float", "dataset.name", 3, "dataset.name", "got 3"),
    ("float", "dataset.seed", "zero", "dataset.seed", "expected an integer in [0, 2^32)"),
    ("float", "dataset.seed", -1, "dataset.seed", "got -1"),
    ("float", "dataset.test_fraction", 1.5, "dataset.test_fraction", "expected a number in (0, 1)"),
    ("float", "dataset", DELETE, ": ", "missing key(s) 'dataset'"),
    ("float", "angles", DELETE, ": ", "missing key(s) 'angles'"),
    ("float", "model", DELETE, ": ", "missing key(s) 'model'"),
    ("float", "grid", DELETE, ": ", "missing key(s) 'grid'"),
    ("float", "weights", [1.0], ": ", "unknown key(s) 'weights'"),
    ("float", "model.depth", 3, "model", "unknown key(s) 'depth'"),
    ("float", "model.scale", DELETE, "model", "missing key(s) 'scale'"),
    ("float", "model", "compact16", "model", "expected a mapping with keys ansatz"),
    ("float", "model.ansatz", "wide99", "model.ansatz", "'wide99'"),  # wording: the models layer's
    ("float", "model.ansatz", ["compact16"], "model.ansatz", "expected an ansatz name"),
    ("float", "model.n_qubits", 4.5, "model.n_qubits", "expected an integer in [1, 16]"),
    ("float", "model.n_qubits", 40, "model.n_qubits", "got 40"),
    ("float", "model.n_classes", 1, "model.n_classes", "expected an integer >= 2"),
    ("float", "model.n_classes", True, "model.n_classes", "got True"),
    ("float", "model.scale", NAN, "model.scale", "expected a positive finite number"),
    ("float", "model.scale", -5.0, "model.scale", "got -5.0"),
    ("float", "angles", [0.1] * 15, "angles", "expected a list of 16 finite numbers"),
    ("float", "angles", [0.1] * 48, "angles", "got 48"),
    ("float", "angles", "0.1", "angles", "got str"),
    ("float", "angles", [0.1] * 15 + [NAN], "angles", "item 15 is nan"),
    ("float", "angles", [INF] + [0.1] * 15, "angles", "item 0 is inf"),
    ("float", "angles", [10**400] + [0.1] * 15, "angles", "item 0 is 1000"),
    ("float", "angles", [None] * 16, "angles", "item 0 is None"),
    ("float", "codes", [0] * 16, "grid", "codes need their grid"),
    ("codes", "codes", [0.5] * 16, "codes", "expected a list of 16 integers"),
    ("codes", "codes", [0] * 17, "codes", "got 17"),
    ("codes", "codes", [2**40] * 16, "codes", "item 0 is 1099511627776"),
    ("codes", "grid", "ideal3", "grid", "expected a mapping with keys provider, bits, steps"),
    ("codes", "grid.steps", [0.785] * 15, "grid.steps", "expected a list of 16 positive finite numbers"),
    ("codes", "grid.steps", [0.0] * 16, "grid.steps", "item 0 is 0.0"),
    ("codes", "grid.steps", [NAN] * 16, "grid.steps", "item 0 is nan"),
    ("codes", "grid.bits", "3", "grid.bits", "expected an integer >= 1 or null"),
    ("codes", "grid.provider", 3, "grid.provider", "expected a provider label"),
    ("codes", "grid.steps", DELETE, "grid", "missing key(s) 'steps'"),
]


@pytest.mark.parametrize("base,key,value,field,needle", BAD_FIELDS,
                         ids=[f"{b}-{k}-{'del' if v is DELETE else repr(v)[:20]}" for b, k, v, _, _ in BAD_FIELDS])
def test_a_bad_field_is_one_line_naming_it(tmp_path, docs, base, key, value, field, needle, capsys):
    doc = copy.deepcopy(docs[base])
    _set(doc, key, value)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))  # json.dumps writes NaN / Infinity, as a hand edit could
    assert _infer(path) == 2
    line = _one_error_line(capsys, needle)
    assert f"{path}: {field}" in line if field != ": " else f"{path}: " in line


def test_class_count_that_does_not_match_the_dataset_is_one_line(tmp_path, docs, capsys):
    """IndexError before: a 2-class model on iris (3 classes), and a 3-class model on breast_cancer."""
    for name, n_classes, ds_classes in (("iris", 2, 3), ("breast_cancer", 3, 2)):
        doc = copy.deepcopy(docs["float"])
        doc["model"]["n_classes"] = n_classes
        doc["dataset"]["name"] = name
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(doc))
        assert _infer(path) == 2
        _one_error_line(capsys, f"{path}: model.n_classes",
                        f"the model has {n_classes} classes, dataset {name!r} has {ds_classes}")


def test_model_that_does_not_fit_its_dataset_is_refused_by_the_check(docs):
    """check_dataset_fits names the field: classes (above, via the CLI) and encoded features per qubit."""
    from cryoctl.errors import CryoctlError
    from cryoctl.qnn.serialize import check_dataset_fits

    ds = load_dataset("iris", seed=0)
    check_dataset_fits(QNNModel("compact16", 4, 3), ds, "m.json")
    with pytest.raises(CryoctlError) as exc:
        check_dataset_fits(QNNModel("compact16", 5, 3), ds, "m.json")
    assert exc.value.field == "m.json: model.n_qubits" and "4 features" in str(exc.value)


def test_a_v1_file_still_loads(tmp_path, docs, capsys):
    """Nothing stored is lost: a cryoctl.qnn/1 file (no grid, codes x angle_per_code, no dataset) plays."""
    v1 = {k: v for k, v in docs["codes"].items() if k not in ("grid", "dataset")}
    v1.update({"format": "cryoctl.qnn/1", "bits": 3, "angle_per_code": 0.7853981633974483, "param_steps": None})
    save_model(tmp_path / "v1.json", v1)
    assert _infer(tmp_path / "v1.json") == 0
    assert json.loads(capsys.readouterr().out)["dataset"] == "iris"
    v1["angle_per_code"] = "big"
    save_model(tmp_path / "v1.json", v1)
    assert _infer(tmp_path / "v1.json") == 2
    _one_error_line(capsys, "angle_per_code", "positive finite")


def test_infer_seed_out_of_range_is_one_line(tmp_path, docs, capsys):
    save_model(tmp_path / "m.json", docs["float"])
    assert main(["infer", str(tmp_path / "m.json"), "--seed", "-1", "--json"]) == 2
    _one_error_line(capsys, "--seed", "expected an integer in [0, 2^32)")


# -- train arguments ---------------------------------------------------------------------------------

BAD_TRAIN = [
    (["--lr", "inf"], "--lr", "expected a positive finite learning rate, got inf"),
    (["--lr", "-1"], "--lr", "got -1.0"),
    (["--lr", "nan"], "--lr", "got nan"),
    (["--lr", "0"], "--lr", "got 0.0"),
    (["--temperature", "nan"], "--temperature", "expected a finite temperature >= 0, got nan"),
    (["--temperature", "inf"], "--temperature", "got inf"),
    (["--temperature", "-0.5"], "--temperature", "got -0.5"),
    (["--epochs", "0"], "--epochs", "expected an integer >= 1, got 0"),
    (["--epochs", "-3"], "--epochs", "got -3"),
    (["--batch-size", "0"], "--batch-size", "expected an integer >= 1, got 0"),
    (["--decay", "nan"], "--decay", "expected a positive finite factor"),
    (["--scale", "inf"], "--scale", "expected a positive finite logit scale"),
    (["--seed", "-1"], "--seed", "expected an integer in [0, 2^32)"),
]


@pytest.mark.parametrize("args,field,needle", BAD_TRAIN, ids=lambda a: " ".join(a) if isinstance(a, list) else None)
def test_bad_train_arguments_are_one_line_exit_2(tmp_path, args, field, needle, capsys):
    out = tmp_path / "m.json"
    assert main(["train", *args, "-o", str(out), "--json"]) == 2
    _one_error_line(capsys, f"error: {field}: expected ", needle)
    assert not out.exists()  # refused before training: nothing written


def test_train_config_refuses_non_finite_numbers():
    """The library checks too (study tasks build TrainConfig directly), each naming its field."""
    from cryoctl.errors import CryoctlError

    for kw, field in (({"lr": float("inf")}, "lr"), ({"temperature": float("nan")}, "temperature"),
                      ({"batch_size": 0}, "batch_size"), ({"epochs": -1}, "epochs"),
                      ({"decay": float("nan")}, "decay")):
        with pytest.raises(CryoctlError) as exc:
            TrainConfig(**kw)
        assert exc.value.field == field
    TrainConfig(epochs=0)  # the initial model, evaluated: a study task may ask for it
