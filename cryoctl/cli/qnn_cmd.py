"""`cryoctl train` and `cryoctl infer`: QNNs trained and evaluated on (emulated) DAC hardware.

train: a dataset, an ansatz, a trainer (float | round | stochastic), an optimizer (adam | sgd) and a
gate provider: the abstract b-bit quantizer (``--quantizer ideal --bits B``) or the realized gates of a
hardware profile (``--quantizer profile --profile P``: its gate table, its readout errors and its
entangler: the realized flux CZ when the profile has a flux section, else the ideal CZ with its CZ
error; ``--entangler ideal`` forces the ideal CZ for comparison). Writes the model as JSON (-o). infer:
accuracy of a saved model vs bits (ideal quantizer) and, with ``--profile``, on that profile's emulated
hardware (same entangler rule).

Qubits: ``train --qubits N`` (2..12; ``infer`` takes N from the model file). On a profile the ``hea`` ansatz
CZs follow its couplings (:meth:`cryoctl.qnn.QNNModel.for_hardware`). Before anything is built, ``train``
prints the memory/time estimate of a gradient step and of an evaluation (``infer --profile``: of an
evaluation) and refuses, exit 2, a run where one register does not fit (:mod:`cryoctl.circuit.memory`);
the executors chunk larger runs along the batch.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cryoctl.circuit import ENTANGLERS, ExactProvider, IdealQuantizer, Readout
from cryoctl.circuit.memory import ChunkedExecutor, estimate_gradient, estimate_run, gradient_method
from cryoctl.cli import app
from cryoctl.cli.common import JsonOpt, SetOpt, console, err_console, parse_bits, print_json, profile_from_cli
from cryoctl.errors import CryoctlError
from cryoctl.profile import bits_overrides, profile_hash
from cryoctl.qnn import (
    QNNModel, TrainConfig, evaluate, hardware_executor, load_dataset, load_model, model_document, model_params,
    save_model, train,
)
from cryoctl.qnn.data import DATASETS
from cryoctl.qnn.hardware import hardware_mode
from cryoctl.qnn.models import ANSATZ_HELP, MAX_QUBITS, MIN_QUBITS, check_qubits
from cryoctl.qnn.serialize import check_dataset_fits


def hardware(profile_ref: str, overrides: list[str] | None, shots: int | None, seed: int, progress=None,
             entangler: str = "auto", circuit=None):
    """(executor, profile hash, profile) of a profile's emulated hardware: its gate table, its entangler
    (``auto``: realized flux CZ on a flux profile, else ideal CZ with the CZ error) and its readout
    (``shots`` overrides the profile's shot count). ``circuit``: whose CZ pairs to realize (default: the
    4-qubit compact16 ring)."""
    prof = profile_from_cli(profile_ref, overrides)
    readout = Readout(prof.readout.p01, prof.readout.p10, shots if shots is not None else prof.readout.shots)
    circuit = circuit if circuit is not None else QNNModel("compact16", 4).circuit
    executor = hardware_executor(prof, circuit, entangler=entangler, seed=seed, readout=readout, progress=progress)
    return executor, profile_hash(prof), prof


def _check_entangler(entangler: str, profile: str | None) -> None:
    if entangler not in ENTANGLERS:
        raise CryoctlError(f"unknown entangler {entangler!r}; expected one of {', '.join(ENTANGLERS)}",
                           field="--entangler")
    if entangler == "realized" and profile is None:
        raise CryoctlError("the realized CZ needs a hardware profile with a flux section (--profile)", field="--entangler")


def _check_seed(seed: int) -> None:
    if not 0 <= seed < 2**32:
        raise CryoctlError(f"expected an integer in [0, 2^32), got {seed}", field="--seed")


def _check_train_args(lr: float, epochs: int, batch_size: int, temperature: float, decay: float, scale: float,
                      seed: int) -> None:
    """Numbers typer accepts but training cannot use (inf, nan, <= 0): one error naming the option."""
    checks = [("--lr", lr, lr > 0 and math.isfinite(lr), "a positive finite learning rate"),
              ("--epochs", epochs, epochs >= 1, "an integer >= 1"),
              ("--batch-size", batch_size, batch_size >= 1, "an integer >= 1"),
              ("--temperature", temperature, temperature >= 0 and math.isfinite(temperature),
               "a finite temperature >= 0"),
              ("--decay", decay, decay > 0 and math.isfinite(decay), "a positive finite factor"),
              ("--scale", scale, scale > 0 and math.isfinite(scale), "a positive finite logit scale")]
    for opt, val, ok, what in checks:
        if not ok:
            raise CryoctlError(f"expected {what}, got {val}", field=opt)
    _check_seed(seed)


def _estimates(circuit, mode: str, levels: int, batch: int, n_eval: int, *, exact_rotations: bool,
               shots: int | None):
    """Memory/time estimates of one gradient step (the trainer's rule: adjoint with exact expectations on
    exact rotations or density matrices, else parameter shift, 2 m + 1 sets x the mini-batch) and of one
    evaluation (one set x the larger split), checked: a run where one register does not fit is refused
    with its estimate (cryoctl.circuit.memory)."""
    method = gradient_method(mode, exact_rotations=exact_rotations, shots=shots)
    grad = estimate_gradient(circuit, levels, mode, batch, method).check()
    ev = estimate_run(circuit, levels, mode, 1, n_eval, what="evaluation").check()
    return [grad, ev]


BACKEND_HELP = ("numpy | jax: the circuit backend (jax: XLA-compiled forward and gradients, float64, on CPU or "
                "GPU; pip install cryoctl[jax]).")


def _check_backend(backend: str) -> None:
    if backend not in ("numpy", "jax"):
        raise CryoctlError(f"unknown backend {backend!r}; expected numpy or jax", field="--backend")
    if backend == "jax":
        import cryoctl.circuit.jax_backend  # noqa: F401  (CryoctlError with the install hint when JAX is absent)


def on_backend(executor, backend: str):
    """``executor`` itself (numpy, the default) or its JAX twin (same gates, entangler, readout and mode)."""
    _check_backend(backend)
    if backend == "numpy":
        return executor
    from cryoctl.circuit.jax_backend import JaxExecutor

    return JaxExecutor.from_executor(executor)


def _progress(enabled: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=err_console, disable=not enabled, transient=True)


@app.command("train")
def train_cmd(
    dataset: Annotated[str, typer.Option(help=f"One of {', '.join(DATASETS)}.")] = "iris",
    ansatz: Annotated[str, typer.Option(help=ANSATZ_HELP)] = "compact16",
    qubits: Annotated[int, typer.Option(help=f"Qubits of the model ({MIN_QUBITS}..{MAX_QUBITS}); a profile "
                                        "needs at least as many (--set qubits.count=N).")] = 4,
    max_train: Annotated[int | None, typer.Option(help="At most this many training samples (stratified).")] = None,
    max_test: Annotated[int | None, typer.Option(help="At most this many test samples (stratified).")] = None,
    trainer: Annotated[str, typer.Option(help="float | round | stochastic | latent | linesearch | anneal")] = "float",
    optimizer: Annotated[str, typer.Option(help="adam | sgd")] = "adam",
    lr: Annotated[float, typer.Option(help="Learning rate (rad per unit gradient).")] = 0.05,
    epochs: Annotated[int, typer.Option(help="Epochs.")] = 30,
    batch_size: Annotated[int, typer.Option(help="Mini-batch size.")] = 16,
    bits: Annotated[int | None, typer.Option(
        help="DAC bits: of the ideal quantizer, or with --quantizer profile an override of dac.bits.")] = None,
    quantizer: Annotated[str, typer.Option(help="ideal | profile (float trainer: exact gates unless profile)")] = "ideal",
    quantize_inputs: Annotated[bool, typer.Option(
        help="Ideal quantizer: also round the data-encoding angles (hardware always does; default: parameters "
             "only, as the QNN papers).")] = False,
    profile: Annotated[str | None, typer.Option(help="Hardware profile (path or shipped name).")] = None,
    seed: Annotated[int, typer.Option(help="Seed: data split, initial angles, mini-batches, rounding, shots.")] = 0,
    shots: Annotated[int | None, typer.Option(help="Shots per circuit (default: exact, or the profile's).")] = None,
    temperature: Annotated[float, typer.Option(help="Stochastic trainer temperature (1 = unbiased).")] = 1.0,
    schedule: Annotated[str, typer.Option(help="constant | exponential")] = "constant",
    decay: Annotated[float, typer.Option(help="Exponential anneal factor per epoch.")] = 0.9,
    scale: Annotated[float, typer.Option(help="Logit scale: logit_c = scale * <Z_c>.")] = 5.0,
    data_dir: Annotated[Path | None, typer.Option(help="Directory of MNIST-format IDX files.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the trained model (JSON).")] = None,
    entangler: Annotated[str, typer.Option(
        help="auto | ideal | realized: CZ of --quantizer profile (auto: the realized flux CZ when the profile "
             "has a flux section, else the ideal CZ with its CZ error).")] = "auto",
    backend: Annotated[str, typer.Option(help=BACKEND_HELP)] = "numpy",
    set_: SetOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Train a QNN (float, deterministic-quantized or stochastic) and write it as JSON."""
    if quantizer not in ("ideal", "profile"):
        raise CryoctlError(f"unknown quantizer {quantizer!r}; expected ideal or profile", field="--quantizer")
    _check_entangler(entangler, profile if quantizer == "profile" else None)
    _check_train_args(lr, epochs, batch_size, temperature, decay, scale, seed)
    _check_backend(backend)  # a bad name or a missing JAX fails before any work
    cfg = TrainConfig(trainer, optimizer, lr, epochs, batch_size, seed, temperature, schedule, decay)
    n_qubits = check_qubits(qubits, "--qubits")
    for opt, cap in (("--max-train", max_train), ("--max-test", max_test)):
        if cap is not None and cap < 2:
            raise CryoctlError(f"expected at least 2 samples, got {cap}", field=opt)
    ds = load_dataset(dataset, n_qubits=n_qubits, seed=seed, data_dir=data_dir, max_train=max_train,
                      max_test=max_test)
    n_eval = max(len(ds.y_train), len(ds.y_test))
    prof = None
    if quantizer == "profile":
        if profile is None:
            raise CryoctlError("--quantizer profile needs --profile", field="--profile")
        overrides = list(set_ or [])
        if bits is not None:
            overrides += bits_overrides(profile_from_cli(profile, overrides), bits)
        prof = profile_from_cli(profile, overrides)
        if prof.qubits.count < n_qubits:
            raise CryoctlError(f"profile {prof.name!r} has {prof.qubits.count} qubits, the model {n_qubits} "
                               f"(add --set qubits.count={n_qubits})", field="qubits.count")
        model = QNNModel.for_hardware(ansatz, n_qubits, ds.n_classes, scale, couplings=prof.couplings)
        estimates = _estimates(model.circuit, *hardware_mode(prof, entangler), batch_size, n_eval,
                               exact_rotations=False, shots=shots if shots is not None else prof.readout.shots)
    else:
        model = QNNModel(ansatz, n_qubits, ds.n_classes, scale)
        estimates = _estimates(model.circuit, "statevector", 2, batch_size, n_eval, exact_rotations=True,
                               shots=shots)
    if not json_out:
        for e in estimates:
            err_console.print(e.describe())
    with _progress(not json_out) as bar:
        phash = None
        if quantizer == "profile":
            task = bar.add_task("gate table", total=None)
            executor, phash, prof = hardware(
                profile, overrides, shots, seed, progress=lambda d, t: bar.update(task, completed=d, total=t),
                entangler=entangler, circuit=model.circuit)
        elif trainer == "float":
            executor = ChunkedExecutor(ExactProvider(2), readout=Readout(shots=shots))
        else:
            if bits is None:
                raise CryoctlError(f"trainer {trainer!r} on the ideal quantizer needs --bits", field="--bits")
            executor = ChunkedExecutor(IdealQuantizer(bits, quantize_inputs=quantize_inputs), readout=Readout(shots=shots))
        executor = on_backend(executor, backend)
        task = bar.add_task(f"train {trainer}", total=epochs)
        result = train(model, ds, executor, cfg, progress=lambda e: bar.update(task, completed=e))
    doc = model_document(model, result, dataset={"name": dataset, "seed": seed, **ds.meta}, profile_hash=phash,
                         quantizer=quantizer if (trainer != "float" or quantizer == "profile") else "float",
                         entangler=executor.entangler.label)
    if output is not None:
        save_model(output, doc)
    summary = {"dataset": dataset, "ansatz": model.ansatz, "n_qubits": model.n_qubits, "n_params": model.n_params,
               "trainer": trainer, "optimizer": optimizer, "backend": backend, "estimates": [e.as_dict() for e in estimates],
               "provider": result.provider_label, "entangler": executor.entangler.label, "start": result.start, "final": result.final,
               "output": str(output) if output else None, "history": result.history}
    if json_out:
        print_json(summary)
        return
    t = Table(title=f"{dataset} / {model.ansatz} ({model.n_qubits} qubits) / {trainer} on {result.provider_label}, {executor.entangler.label} CZ")
    # the deadlock meter: share of parameter updates that moved a code (or, for float, a parameter)
    for c in ("epoch", "loss", "train acc", "test acc", "params changed" if trainer == "float" else "codes changed"):
        t.add_column(c, justify="right")
    for h in result.history:
        t.add_row(str(h["epoch"]), f"{h['loss']:.4f}", f"{100 * h['train_acc']:.1f} %",
                  f"{100 * h['test_acc']:.1f} %", f"{100 * h['changed_frac']:.1f} %")
    console.print(t)
    if output is not None:
        console.print(f"model written to {output}")


@app.command("infer")
def infer_cmd(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="Model JSON written by `cryoctl train`.")],
    bits: Annotated[str, typer.Option(help="Bit width or range, e.g. 2..10 (ideal quantizer).")] = "2..10",
    quantize_inputs: Annotated[bool, typer.Option(
        help="Ideal quantizer: also round the data-encoding angles (default: parameters only).")] = False,
    profile: Annotated[str | None, typer.Option(
        help="Also evaluate on this profile's emulated hardware, at its own bits and at every --bits "
             "(segmented DACs keep their unary share).")] = None,
    shots: Annotated[int | None, typer.Option(help="Shots per circuit (default exact / the profile's).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for shots and the gate table's noise draws.")] = 0,
    data_dir: Annotated[Path | None, typer.Option(help="Directory of MNIST-format IDX files.")] = None,
    entangler: Annotated[str, typer.Option(
        help="auto | ideal | realized: CZ on --profile (auto: realized flux CZ on a flux profile).")] = "auto",
    backend: Annotated[str, typer.Option(help=BACKEND_HELP)] = "numpy",
    set_: SetOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Accuracy of a saved model vs DAC bits (the elbow), and on a profile's hardware."""
    _check_entangler(entangler, profile)
    _check_seed(seed)
    _check_backend(backend)  # a bad name or a missing JAX fails before any work
    model, angles, doc = load_model(model_path)  # every field checked: one error naming the file and field
    dinfo = doc.get("dataset") or {}  # absent or null only in cryoctl.qnn/1 files: iris, seed 0
    ds = load_dataset(dinfo.get("name", "iris"), n_qubits=model.n_qubits, seed=dinfo.get("seed", 0),
                      test_fraction=dinfo.get("test_fraction", 0.3), data_dir=data_dir)
    check_dataset_fits(model, ds, str(model_path))
    bit_list = parse_bits(bits)
    rng = np.random.default_rng(seed)
    rows = []
    with _progress(not json_out) as bar:
        task = bar.add_task("infer", total=len(bit_list) + 1)
        ro = Readout(shots=shots)
        runs = [("float", None, ChunkedExecutor(ExactProvider(2), readout=ro))]
        runs += [("ideal", b, ChunkedExecutor(IdealQuantizer(b, quantize_inputs=quantize_inputs), readout=ro))
                 for b in bit_list]
        for name, b, ex in runs:  # a code-trained model plays its own codes on its own grid
            ex = on_backend(ex, backend)
            rows.append({"provider": name, "bits": b,
                         **evaluate(model, model_params(model, angles, doc, ex), ds, ex, rng=rng)})
            bar.advance(task)
        if profile is not None:
            base = profile_from_cli(profile, set_)
            if base.qubits.count < model.n_qubits:
                raise CryoctlError(f"profile {base.name!r} has {base.qubits.count} qubits, the model "
                                   f"{model.n_qubits} (add --set qubits.count={model.n_qubits})", field="qubits.count")
            mode, levels = hardware_mode(base, entangler)
            estimate = estimate_run(model.circuit, levels, mode, 1, len(ds.y_test),
                                    what=f"evaluation on {base.name}").check()
            if not json_out:
                err_console.print(estimate.describe())
            widths = sorted({base.dac.bits, *bit_list})
            ptask = bar.add_task(f"{base.name}: gate tables", total=len(widths))
            for b in widths:  # the elbow on the emulated hardware: same chip and pulses, N-bit DACs
                over = [*(set_ or []), *bits_overrides(base, b)]
                ex, phash, prof = hardware(profile, over, shots, seed, entangler=entangler, circuit=model.circuit)
                ex = on_backend(ex, backend)
                res = evaluate(model, model_params(model, angles, doc, ex), ds, ex, rng=rng)
                rows.append({"provider": f"profile:{prof.name}", "bits": prof.dac.bits, "profile_hash": phash,
                             "entangler": ex.entangler.label, **res})
                bar.advance(ptask)
    out = {"model": str(model_path), "dataset": ds.name, "ansatz": model.ansatz, "results": rows}
    if json_out:
        print_json(out)
        return
    t = Table(title=f"{model_path.name}: {ds.name} / {model.ansatz}")
    for c in ("gates", "bits", "test accuracy", "loss"):
        t.add_column(c, justify="right")
    for r in rows:
        t.add_row(r["provider"], "-" if r["bits"] is None else str(r["bits"]), f"{100 * r['accuracy']:.1f} %",
                  f"{r['loss']:.4f}")
    console.print(t)
