"""QDEQ vs explicit depth 1/2/4/8 at 4-bit and 6-bit DACs, float, and on emulated cryo-CMOS hardware.

Models (cryoctl.qnn.qdeq): the QDEQ (fixed point z* = f(x, z*) of ONE cell, 12 angles on 4 qubits,
Anderson solver, implicit gradient) and the explicit data re-uploading circuit of the same cell without
z, D = 1, 2, 4, 8 layers deep with tied weights (the same 12 angles). Data: sklearn digits, classes
0, 3, 6, 9, reduced to 4 angles by PCA fitted on the training split (cryoctl.qnn.data); with
--data-dir also MNIST-4 / Fashion-MNIST (local IDX files, same classes).

Columns:
- float: trained and tested on exact gates (float angles, adjoint / implicit gradients);
- 6-bit / 4-bit: the ideal b-bit DAC plays EVERY rotation (IdealQuantizer(b, quantize_inputs=True):
  parameters, data angles and the QDEQ's re-encoded state z are all codes on the 2 pi / 2^b grid);
  trained on the grid with Adam + stochastic rounding (T = 1);
- hw: the float-trained angles played on cryo_cmos_6bit (realized 3-level gate channels through the
  6-bit DAC, T1/T2, ideal CZ with its error, readout assignment errors, exact expectations): inference
  only in the default run (--hw-train M ... trains those models on the hardware instead: slow).

Default run (106-165 s measured on 2 busy cores): 5 seeds (seed = data split and initialisation), 128 training
samples, full test split (216), 8 epochs, batch 16, Adam lr 0.1, Anderson memory 5, tol 1e-6, cap 40.

    .venv/bin/python experiments/qdeq.py [--seeds 5] [--epochs 8] [--train 128] [--md experiments/qdeq_results.md]
    .venv/bin/python experiments/qdeq.py --data-dir ~/data/mnist --datasets digits mnist
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from cryoctl.circuit import (
    ExactProvider, Executor, IdealQuantizer, Readout, TableProvider, circuit_pairs, entangler_for,
)
from cryoctl.qnn import load_dataset
from cryoctl.qnn.qdeq import (
    QDEQ, ExplicitReupload, QDEQTrainConfig, SolverConfig, encode_angles, evaluate, train_model,
)

MODELS = ("qdeq", "D1", "D2", "D4", "D8")
CLASSES = (0, 3, 6, 9)


def make_model(name, args, solver):
    if name == "qdeq":
        return QDEQ(args.qubits, len(CLASSES), z_scale=args.z_scale, solver=solver)
    return ExplicitReupload(int(name[1:]), args.qubits, len(CLASSES))


def hw_executor(model, profile, table):
    ent = entangler_for(profile, circuit_pairs(model.circuit), "auto")
    return Executor(TableProvider(table), entangler=ent, readout=Readout.from_profile(profile, shots=None))


def ms(v):
    v = np.asarray([a for a in v if a is not None], dtype=float)
    if v.size == 0:
        return "-"
    return f"{v.mean():.3g} ± {v.std(ddof=1):.2g}" if v.size > 1 else f"{v.mean():.3g}"


def pct(v):
    v = 100 * np.asarray(v, dtype=float)
    return f"{v.mean():.1f} ± {v.std(ddof=1):.1f}" if v.size > 1 else f"{v.mean():.1f}"


def qdeq_solvers(res, key, model, ex, ds, params, plain):
    """The trained QDEQ's fixed point with plain iteration too, and the z grid's cell (step / z_scale)."""
    ev = evaluate(model, ex, ds.x_test, ds.y_test, params, solver=plain)
    res.setdefault(key + ("plain",), []).append(ev)
    cell = float(ex.provider.step("x", 0)) / model.z_scale if ex.quantized else 0.0
    for e in (res[key][-1], ev):
        e["z_cell"] = cell


def run(args) -> dict:
    solver = SolverConfig(tol=args.tol, max_iter=args.max_iter, memory=args.memory, on_fail="keep")
    plain = SolverConfig(tol=args.tol, max_iter=args.max_iter, memory=0, on_fail="keep")
    cfg = dict(epochs=args.epochs, batch_size=args.batch, lr=args.lr)
    profile = table = None
    if not args.no_hw:
        from cryoctl.gates import load_or_build
        from cryoctl.profile import load_profile

        profile = load_profile(args.profile)
        table = load_or_build(profile)
    providers = {"float": ExactProvider(2)}
    for b in args.bits:
        providers[f"{b}-bit"] = IdealQuantizer(b, quantize_inputs=True)
    results = {}
    for name in args.datasets:
        res = results[name] = {}
        for seed in range(args.seeds):
            ds = load_dataset(name, n_qubits=args.qubits, seed=seed, classes=CLASSES, data_dir=args.data_dir,
                              max_train=args.train, max_test=args.test)
            for mname in args.models:
                for pname, prov in providers.items():
                    model = make_model(mname, args, solver)
                    ex = Executor(prov)
                    tr = train_model(model, ds, ex, QDEQTrainConfig(seed=seed, **cfg))
                    ev = evaluate(model, ex, ds.x_test, ds.y_test, tr["params"])
                    ev.update(shift_cost=tr["shift_cost"], train_iterations=tr["train_iterations"])
                    res.setdefault((mname, pname), []).append(ev)
                    if mname == "qdeq":
                        qdeq_solvers(res, (mname, pname), model, ex, ds, tr["params"], plain)
                    if pname == "float" and table is not None:
                        hwex = hw_executor(model, profile, table)
                        if mname in args.hw_train:
                            hmodel = make_model(mname, args, solver)
                            htr = train_model(hmodel, ds, hwex, QDEQTrainConfig(seed=seed, **cfg))
                            hev = evaluate(hmodel, hwex, ds.x_test, ds.y_test, htr["params"])
                            hev.update(shift_cost=htr["shift_cost"], train_iterations=htr["train_iterations"])
                            hp = htr["params"]
                        else:
                            hp = encode_angles(model, hwex, tr["params"])
                            hev = evaluate(model, hwex, ds.x_test, ds.y_test, hp)
                        res.setdefault((mname, "hw"), []).append(hev)
                        if mname == "qdeq":
                            qdeq_solvers(res, (mname, "hw"), model, hwex, ds, hp, plain)
            print(f"  {name} seed {seed} done ({time.time() - T0:.0f} s)", file=sys.stderr, flush=True)
    return results


def tables(results, args) -> str:
    cols = ["float"] + [f"{b}-bit" for b in args.bits] + ([] if args.no_hw else ["hw"])
    hw_note = ("trained on hw" if args.hw_train else "float-trained, played on hw")
    out = []
    for name, res in results.items():
        n = len(next(iter(res.values())))
        out.append(f"\n### {name}: test accuracy (%), mean ± sd over {n} seeds\n")
        out.append("| model | params | layers/circuit | " + " | ".join(
            c if c != "hw" else f"hw {args.profile} ({hw_note})" for c in cols) + " |")
        out.append("|---|---|---|" + "---|" * len(cols))
        for m in args.models:
            depth = 1 if m == "qdeq" else int(m[1:])
            row = [m if m != "qdeq" else "QDEQ", str(3 * args.qubits), str(depth)]
            row += [pct([e["accuracy"] for e in res[(m, c)]]) if (m, c) in res else "-" for c in cols]
            out.append("| " + " | ".join(row) + " |")
        out.append(f"\n### {name}: circuit evaluations per sample (inference; training step with parameter-shift "
                   "derivatives, as hardware would run it), mean ± sd\n")
        out.append("| model | " + " | ".join(f"infer {c}" for c in cols) + " | train/step (shift rule, float run) |")
        out.append("|---|" + "---|" * (len(cols) + 1))
        for m in args.models:
            row = [m if m != "qdeq" else "QDEQ"]
            row += [ms([e["circuits_per_sample"] for e in res[(m, c)]]) if (m, c) in res else "-" for c in cols]
            row.append(ms([e["shift_cost"] for e in res[(m, "float")]]))
            out.append("| " + " | ".join(row) + " |")
        if "qdeq" in args.models:
            out.append(f"\n### {name}: QDEQ fixed point on the test split, mean ± sd over seeds "
                       f"(tol {args.tol:g} on max|f(z) - z|, cap {args.max_iter})\n")
            out.append("| DAC | z cell (step/s) | solver | iterations | median residual | max residual | "
                       "not converged (%) | contraction rho(J_z) mean (64 samples) | rho max |")
            out.append("|---|---|---|---|---|---|---|---|---|")
            for c in cols:
                for key, label in ((("qdeq", c), f"Anderson m={args.memory}"), (("qdeq", c, "plain"), "plain")):
                    if key not in res:
                        continue
                    ev = res[key]
                    cell = ev[0]["z_cell"]
                    out.append(f"| {c} | {f'{cell:.3g}' if cell else '-'} | {label} | " + " | ".join([
                        ms([e["iterations"] for e in ev]), ms([e["residual_median"] for e in ev]),
                        ms([e["residual_max"] for e in ev]), pct([e["fail_frac"] for e in ev]),
                        ms([e["contraction"] for e in ev]), ms([e["contraction_max"] for e in ev])]) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["digits"])
    ap.add_argument("--data-dir", default=None, help="directory of local MNIST / Fashion-MNIST IDX files")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--qubits", type=int, default=4)
    ap.add_argument("--train", type=int, default=128, help="training samples (stratified subsample)")
    ap.add_argument("--test", type=int, default=None, help="test samples (default: the whole test split)")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--bits", type=int, nargs="+", default=[6, 4])
    ap.add_argument("--z-scale", type=float, default=1.0)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--max-iter", type=int, default=40)
    ap.add_argument("--memory", type=int, default=5)
    ap.add_argument("--profile", default="cryo_cmos_6bit")
    ap.add_argument("--no-hw", action="store_true", help="skip the hardware column")
    ap.add_argument("--hw-train", nargs="*", default=[], choices=MODELS,
                    help="models trained ON the hardware (shift-rule gradients; slow) instead of played")
    ap.add_argument("--md", default=None, help="write the tables (with this command) to a Markdown file")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if any(d in ("mnist", "fashion_mnist") for d in args.datasets) and args.data_dir is None:
        ap.error("mnist / fashion_mnist are read from local IDX files: give --data-dir")
    if args.test is None and args.data_dir is not None:
        args.test = 400  # IDX test splits are large; a stratified subsample
    results = run(args)
    text = tables(results, args)
    cmd = "python experiments/qdeq.py " + " ".join(sys.argv[1:])
    text = f"Command: `{cmd.strip()}` ({time.time() - T0:.0f} s)\n" + text
    print(text)
    if args.md:
        with open(args.md, "w") as fh:
            fh.write(text + "\n")
    if args.json:
        print(json.dumps({name: {"/".join(k): v for k, v in res.items()} for name, res in results.items()}))


T0 = time.time()

if __name__ == "__main__":
    main()
