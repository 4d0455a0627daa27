"""Task registry: what a study point computes, and the worker entry point that runs one.

A task kind has a pydantic model for its parameters (unknown keys are errors; defaults are filled in
before hashing, so ``{kind: cost}`` and ``{kind: cost, inl_yield: 0.997}`` are the same point), a
function ``fn(profile, params, seed) -> dict`` returning JSON-able results, whether it uses the seed
(if not, all seeds collapse into one point), a version that enters the point key, and the names of its
*metrics*: the numbers a finished point must carry.

A point is "done" only with its metrics (:func:`result_problem`): a result that is not a non-empty
mapping, lacks a declared metric, holds None or a non-finite number in one, or NaN in any top-level
value is stored as an error and retried by the next run -- never as a finished point with null metrics.

Built-in kinds: ``cost`` (:func:`cryoctl.cost.cost_report`; an SFQ profile's driver power), ``gates``
(realized-gate tables and their metrics, when the gates layer provides ``load_or_build``/``table_metrics``;
the SFQ table on an SFQ profile), ``sfq`` (SFQ Y(pi/2) bitstreams), ``cz``, ``qnn_infer``/``qnn_train``
(on an SFQ profile: its SFQ table, ``bits`` = the SFQ control word's width), ``rb``, and the diagnostic kinds
``debug.echo`` / ``debug.sleep`` / ``debug.fail`` used to test the machinery (resume after a kill,
errors, pool vs Dask) -- they live here so that any worker process, local or remote, can import them.
Tests may add kinds with :func:`register_task` (visible to in-process and forked workers only).
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cryoctl.conventions import ENGINE_NAMES
from cryoctl.errors import CryoctlError
from cryoctl.profile import HardwareProfile


class TaskParams(BaseModel):
    """Base of every task's parameter model: ``kind`` plus the kind's own fields, nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str


@dataclass(frozen=True)
class TaskKind:
    name: str
    params: type[TaskParams]
    fn: Callable[[HardwareProfile, dict[str, Any], int | None], dict[str, Any]]
    uses_seed: bool = True
    #: Enters every point key; a callable is evaluated lazily (e.g. to read a lower layer's code version).
    version: str | Callable[[], str] = "1"
    description: str = ""
    #: Optional ``prepare(task, base_dir, field) -> (key_task, run_task)``: resolve files named by the
    #: task relative to the spec (the key gets their content hash, the worker the absolute path).
    prepare: Callable[[dict[str, Any], str, str], tuple[dict[str, Any], dict[str, Any]]] | None = None
    #: Result keys that must hold finite numbers for the point to count as done.
    metrics: tuple[str, ...] = ()

    def version_string(self) -> str:
        return self.version() if callable(self.version) else self.version


_REGISTRY: dict[str, TaskKind] = {}


def register_task(
    name: str,
    fn: Callable[[HardwareProfile, dict[str, Any], int | None], dict[str, Any]],
    params: type[TaskParams] = TaskParams,
    uses_seed: bool = True,
    version: str | Callable[[], str] = "1",
    description: str = "",
    prepare: Callable[[dict[str, Any], str, str], tuple[dict[str, Any], dict[str, Any]]] | None = None,
    metrics: tuple[str, ...] = (),
) -> TaskKind:
    """Add (or replace) a task kind."""
    kind = TaskKind(name, params, fn, uses_seed, version, description, prepare, tuple(metrics))
    _REGISTRY[name] = kind
    return kind


def task_kinds() -> list[str]:
    """The task kinds a spec may name (diagnostic ``debug.*`` and test-registered ``test.*`` kinds work
    but are not advertised)."""
    return sorted(k for k in _REGISTRY if not k.startswith(("debug.", "test.")))


def get_task(name: str) -> TaskKind:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise CryoctlError(f"unknown task kind {name!r}; expected one of {task_kinds()}", field="kind") from None


def validate_task(task: Any, field: str = "task") -> dict[str, Any]:
    """Check a task mapping against its kind's model; returns it with defaults filled in."""
    if not isinstance(task, dict) or "kind" not in task:
        raise CryoctlError("expected a mapping with a 'kind'", field=field)
    if task["kind"] not in _REGISTRY:
        raise CryoctlError(f"unknown task kind {task['kind']!r}; expected one of {task_kinds()}", field=f"{field}.kind")
    try:
        model = get_task(task["kind"]).params.model_validate(task)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        msg = "unknown parameter for this task kind" if err["type"] == "extra_forbidden" else err["msg"]
        raise CryoctlError(msg, field=f"{field}.{loc}") from None
    return model.model_dump(mode="json")


def json_ready(obj: Any, strict: bool = False) -> Any:
    """Data -> plain JSON values that survive a JSON round trip unchanged (the one JSON cleaner).

    Numpy scalars/arrays and pydantic models -> Python; dict keys -> str; NaN -> None. ``strict``: also
    +-inf -> None (strict JSON parsers refuse Infinity); otherwise +-inf is kept (``allow_nan`` writes it).
    Anything else is returned as is.
    """
    if isinstance(obj, dict):
        return {str(k): json_ready(v, strict) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v, strict) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist(), strict)
    if isinstance(obj, np.generic):
        return json_ready(obj.item(), strict)
    if hasattr(obj, "model_dump"):
        return json_ready(obj.model_dump(mode="json"), strict)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if strict or math.isnan(obj) else obj
    return obj


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def result_problem(kind: TaskKind, result: Any) -> str | None:
    """Why ``result`` cannot be stored as a finished point of ``kind`` (None: it can).

    Works on what the task returned and on a stored (JSON-decoded) result alike: a declared metric
    must be present and a finite number; no top-level value may be NaN; the result must be a non-empty
    mapping.
    """
    if not isinstance(result, dict):
        return f"task returned {type(result).__name__}, expected a mapping of its metrics"
    if not result:
        return "task returned no metrics"
    for name in kind.metrics:
        if name not in result:
            return f"metric {name!r} is missing"
        v = result[name]
        if not _is_number(v) or not math.isfinite(float(v)):
            return f"metric {name!r} is {v!r}, expected a finite number"
    for name, v in result.items():
        if _is_number(v) and math.isnan(float(v)):
            return f"{name!r} is NaN"
    return None


def execute_point(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one point (in a worker). Never raises for a task failure: the error is returned as data.

    ``payload``: {key, kind, task (params dict), profile (profile JSON), seed}. Returns {key, status
    ("done" | "error"), result (JSON string or None), error, started_at, finished_at, elapsed_s, worker}.
    """
    started, t0 = time.time(), time.perf_counter()
    status, result, error = "done", None, None
    try:
        kind = get_task(payload["kind"])
        profile = HardwareProfile.model_validate(payload["profile"])
        out = kind.fn(profile, payload["task"], payload["seed"])
        problem = result_problem(kind, out)
        if problem is not None:
            raise CryoctlError(f"no usable result ({problem}); stored as an error and retried by the next run",
                               field=payload["kind"])
        result = json.dumps(json_ready(out), sort_keys=True, allow_nan=True)
    except CryoctlError as exc:
        status, error = "error", str(exc)
    except Exception as exc:  # a task bug must not take the study down: store it with its traceback tail
        tb = traceback.format_exception(exc)
        status, error = "error", f"{exc.__class__.__name__}: {exc}\n" + "".join(tb[-3:])
    return {
        "key": payload["key"],
        "status": status,
        "result": result,
        "error": error,
        "started_at": started,
        "finished_at": time.time(),
        "elapsed_s": time.perf_counter() - t0,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }


# --- built-in kinds ---------------------------------------------------------------------------------


class CostParams(TaskParams):
    kind: Literal["cost"] = "cost"
    inl_yield: float = Field(0.997, gt=0.0, lt=1.0)


def _cost(profile: HardwareProfile, params: dict[str, Any], seed: int | None) -> dict[str, Any]:
    from cryoctl.cost import cost_report

    return cost_report(profile, inl_yield=params["inl_yield"])


# An SFQ profile's cost is its driver's power (cryoctl.cost.sfq, through cost_report) in the same power keys;
# it has no area model or DAC thermal floor (None there), so only the power keys are required metrics.
register_task("cost", _cost, CostParams, uses_seed=False,
              description="controller power (DAC, or SFQ driver) and DAC area vs the stage budget",
              metrics=("dynamic_power_w", "channel_power_w", "power_per_qubit_w", "system_power_w"))


class GatesParams(TaskParams):
    kind: Literal["gates"] = "gates"
    engine: Literal[ENGINE_NAMES] = "fast"  # type: ignore[valid-type]  (Literal of the tuple's strings)
    #: Noise realisations averaged into each channel (profiles with noise/jitter/T1/T2 only).
    n_noise_draws: int = Field(32, ge=1, le=4096)


def _gates(profile: HardwareProfile, params: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """Gate table from the gates cache (built on a miss), summarised by ``table_metrics``."""
    from cryoctl.gates import load_or_build, table_metrics

    if profile.sfq is not None:  # SFQ control: the SFQ table (jitter draws = noise draws), as the QNN uses it
        from cryoctl.gates.sfq import build_sfq_table

        table = build_sfq_table(profile, seed=seed or 0, jitter_draws=params["n_noise_draws"])
    else:
        table = load_or_build(profile, params["engine"], seed or 0, n_noise_draws=params["n_noise_draws"])
    out = table_metrics(table)
    out["pi_error_mean"] = float(np.mean(table.calibration.pi_error))
    out["engine"] = params["engine"]
    return out


def _gates_version() -> str:
    from cryoctl.gates import CODE_VERSION

    return f"1+{CODE_VERSION}"


register_task("gates", _gates, GatesParams, uses_seed=True, version=_gates_version,
              description="realized-gate fidelity and leakage",
              metrics=("fidelity_mean", "fidelity_min", "infidelity_mean", "leakage_max", "leakage_mean",
                       "angle_error_rms", "angle_error_max", "pi_error_mean"))


class SfqParams(TaskParams):
    kind: Literal["sfq"] = "sfq"
    qubit: int = Field(0, ge=0)
    #: Y(pi/2) slot lengths searched: the resonant train's periods plus these (the best one is reported).
    extra_periods: list[int] = Field(default_factory=lambda: [2, 4], min_length=1)
    jitter_draws: int = Field(32, ge=1, le=4096)
    rounds: int = Field(300, ge=0, le=100_000)


def _sfq(profile: HardwareProfile, params: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """SFQ gates at the profile's clock (:func:`cryoctl.gates.sfq_sweep.sfq_sweep`): the resonant Y(pi/2)
    train and the best optimized Y(pi/2) bitstream (1 - F, leakage, length), and that bitstream under the
    profile's timing jitter (``jitter_draws`` draws from the seed)."""
    from cryoctl.gates.sfq import SfqQubit
    from cryoctl.gates.sfq_sweep import sfq_sweep

    if profile.sfq is None:
        raise CryoctlError("the profile has no sfq section (SFQ control); the sfq task needs one", field="sfq")
    if params["qubit"] >= profile.qubits.count:
        raise CryoctlError(f"qubit {params['qubit']} out of range [0, {profile.qubits.count - 1}]", field="sfq.qubit")
    m = SfqQubit.from_profile(profile, params["qubit"]).ticks_per_period
    jit = sorted({0.0, float(profile.sfq.jitter_rms_ps)})
    r = sfq_sweep(profile, params["qubit"], [m], params["extra_periods"], jit, params["jitter_draws"], seed or 0,
                  params["rounds"])
    c = r["clocks"][0]
    best, at = c["best"], c["jitter"][-1]
    return {"tip_angle_rad": r["tip_angle_rad"], "clock_ghz": c["clock_ghz"], "clock_per_qubit": m,
            "resonant_y90_infidelity": c["resonant_y90"]["infidelity"], "resonant_y90_leakage": c["resonant_y90"]["leakage"],
            "resonant_y90_ticks": c["resonant_y90"]["ticks"],
            "y90_infidelity": best["infidelity"], "y90_leakage": best["leakage"], "y90_ticks": best["ticks"],
            "y90_pulses": best["pulses"], "y90_bits_hex": best["bits_hex"],
            "jitter_rms_ps": at["jitter_ps"], "y90_jitter_infidelity": at["infidelity"], "y90_jitter_leakage": at["leakage"],
            "lengths": c["y90"]}


register_task("sfq", _sfq, SfqParams, uses_seed=True, version="1",
              description="SFQ Y(pi/2): resonant train vs optimized bitstream, with the profile's jitter",
              metrics=("resonant_y90_infidelity", "resonant_y90_leakage", "y90_infidelity", "y90_leakage",
                       "y90_jitter_infidelity"))


class CzParams(TaskParams):
    kind: Literal["cz"] = "cz"
    engine: Literal[ENGINE_NAMES] = "fast"  # type: ignore[valid-type]
    #: Flux-DAC noise/jitter draws averaged into each realized CZ (0: noiseless).
    n_noise_draws: int = Field(8, ge=0, le=4096)


def _cz(profile: HardwareProfile, params: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """The realized flux CZ of every coupled pair (:func:`cryoctl.gates.cz.realize_cz_point`: calibrated
    through the flux DAC, played with its noise and T1/T2): mean over pairs and worst pair of 1 - F, leakage,
    |conditional-phase error| and gate time, plus every pair's numbers under ``pairs``."""
    from cryoctl.gates.cz import realize_cz_point

    if profile.flux is None:
        raise CryoctlError("the profile has no flux section (flux DAC, tunable qubits); the cz task needs one",
                           field="flux")
    if not profile.couplings:
        raise CryoctlError("the profile has no couplings; the cz task needs a coupled pair", field="couplings")
    rows = [realize_cz_point(profile, tuple(c.qubits), params["engine"], params["n_noise_draws"], seed or 0).summary()
            for c in profile.couplings]
    inf = np.array([r["infidelity"] for r in rows])
    leak = np.array([r["leakage"] for r in rows])
    phase = np.abs([r["cond_phase_error_rad"] for r in rows])
    time_ns = np.array([r["gate_time_ns"] for r in rows])
    return {
        "cz_infidelity": float(inf.mean()), "cz_infidelity_max": float(inf.max()),
        "cz_leakage": float(leak.mean()), "cz_leakage_max": float(leak.max()),
        "cond_phase_error_rad": float(phase.mean()), "cond_phase_error_max_rad": float(phase.max()),
        "gate_time_ns": float(time_ns.mean()), "gate_time_max_ns": float(time_ns.max()),
        "worst_pair": rows[int(np.argmax(inf))]["qubits"],
        "flux_bits": profile.flux.dac.bits, "engine": params["engine"], "pairs": rows,
    }


register_task("cz", _cz, CzParams, uses_seed=True, version=lambda: f"1+{_gates_version()}",
              description="realized flux-CZ infidelity, leakage and conditional phase per coupled pair",
              metrics=("cz_infidelity", "cz_infidelity_max", "cz_leakage", "cz_leakage_max", "cond_phase_error_rad",
                       "cond_phase_error_max_rad", "gate_time_ns", "gate_time_max_ns"))


def _qnn_version() -> str:
    # 2: executor, codes held, per-channel calibration; 3: realized flux CZ on flux profiles, leakage-preserving
    # CZ depolarizing
    return f"3+{_gates_version()}"


class _QnnCommon(TaskParams):
    dataset: str = "iris"
    #: compact16 | deep48 | hea:L | hea3:L (cryoctl.qnn.models); hea CZs follow the profile's couplings.
    ansatz: str = "compact16"
    #: Qubits of the model (2..12); default (unset, not in the point key) the profile's ``qubits.count``.
    qubits: int | None = Field(None, ge=2, le=12, exclude_if=lambda v: v is None)
    #: Split seed of the dataset (fixed across study seeds: seeds vary the model, not the data).
    dataset_seed: int = Field(0, ge=0)
    #: Directory of IDX files (mnist / fashion_mnist only), relative to the spec file.
    data_dir: str | None = None
    #: Gates the QNN runs on: the profile's emulated hardware (gate table: DAC codes -> pulses ->
    #: transmon, the profile's readout errors/shots and CZ error), or the abstract quantizer at the
    #: profile's DAC bits with exact readout and ideal CZ (the QNN papers' model).
    provider: Literal["hardware", "ideal"] = "hardware"
    #: CZ entangler: ``auto`` = the realized flux CZ (calibrated through the flux DAC) when the profile
    #: has a flux section and the provider is ``hardware``, else the ideal CZ (with ``qubits.cz_error`` on
    #: hardware); ``ideal`` / ``realized`` force one (``realized`` with provider ``ideal``: the abstract
    #: quantizer on the profile's levels with the realized CZ).
    entangler: Literal["auto", "ideal", "realized"] = "auto"
    #: Provider ``ideal`` only: also round the data-encoding angles to the b-bit grid (what hardware does;
    #: the hardware provider always does, and this key is left out of its points). Default: parameters
    #: only (the QNN papers).
    quantize_inputs: bool = False
    engine: Literal[ENGINE_NAMES] = "fast"  # type: ignore[valid-type]
    n_noise_draws: int = Field(8, ge=1, le=4096)
    #: How RX/RY reach the hardware (:mod:`cryoctl.circuit.compile`): ``native`` = one pulse whose amplitude
    #: code is the angle; ``zxzxz`` = two fixed SX pulses around a virtual-Z phase word (angle resolution =
    #: the phase register's). Left out of the point key when native (earlier stores keep their points).
    compile: Literal["native", "zxzxz"] = "native"
    #: Stratified subsample of the training / test split (None: all; MNIST-sized IDX data need it).
    #: Left out of the point key when None.
    max_train: int | None = Field(None, ge=4)
    max_test: int | None = Field(None, ge=4)

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, v: str) -> str:
        from cryoctl.qnn.data import DATASETS

        if v not in DATASETS:
            raise ValueError(f"unknown dataset {v!r}; expected one of {', '.join(DATASETS)}")
        return v

    @field_validator("ansatz")
    @classmethod
    def _known_ansatz(cls, v: str) -> str:
        from cryoctl.qnn.models import MAX_QUBITS, parse_ansatz

        try:
            parse_ansatz(v, MAX_QUBITS)
        except CryoctlError as exc:
            raise ValueError(str(exc)) from None
        return v


def _qnn_model(profile: HardwareProfile, params: dict[str, Any], n_classes: int = 2):
    """The task's model on this profile: ``qubits`` (default ``qubits.count``, at most that), the ansatz with
    its hea CZs on the profile's coupled pairs (:meth:`cryoctl.qnn.QNNModel.for_hardware`)."""
    from cryoctl.qnn import QNNModel

    n = params.get("qubits") or profile.qubits.count
    if n > profile.qubits.count:
        raise CryoctlError(f"the model has {n} qubits, profile {profile.name!r} {profile.qubits.count} (set "
                           f"qubits.count)", field="qubits.count")
    return QNNModel.for_hardware(params["ansatz"], n, n_classes, couplings=profile.couplings)


class QnnInferParams(_QnnCommon):
    kind: Literal["qnn_infer"] = "qnn_infer"
    #: A model JSON written by ``cryoctl train`` (path relative to the spec), or "train-float": train
    #: a float (infinite-precision) model with the seed, as the papers do before quantizing.
    model: str = "train-float"
    epochs: int = Field(30, ge=0, le=10_000)
    lr: float = Field(0.05, gt=0.0)


class QnnTrainParams(_QnnCommon):
    kind: Literal["qnn_train"] = "qnn_train"
    trainer: Literal["float", "round", "stochastic", "latent", "linesearch", "anneal"] = "stochastic"
    epochs: int = Field(10, ge=0, le=10_000)
    lr: float = Field(0.05, gt=0.0)
    optimizer: Literal["adam", "sgd"] = "adam"
    batch_size: int = Field(16, ge=1)
    temperature: float = Field(1.0, ge=0.0)
    schedule: Literal["constant", "exponential"] = "constant"
    #: Code-space trainers (latent, linesearch, anneal): stop the final full-batch polish after a sweep that
    #: lowers the training loss by less than this fraction (0: polish to a coordinate-wise minimum, at most
    #: 20 sweeps; :class:`~cryoctl.qnn.trainers.CodeTrainerOptions`). Left out of the point key when 0.
    polish_tol: float = Field(0.0, ge=0.0, lt=1.0)
    #: Starting point: ``random`` (the seed's theta_0 ~ U[-pi, pi), the papers) or ``float``: the float model
    #: of ``qnn_infer`` (trained ``init_epochs`` epochs on exact gates with the seed and ``lr``), put on the
    #: grid by the executor's own rounding (nearest code; nearest measured angle on hardware) -- i.e.
    #: post-training quantization -- and then trained by ``trainer`` (``epochs: 0`` with a code trainer: only
    #: its full-batch polish). Both keys are left out of the point key when ``random``.
    init: Literal["random", "float"] = "random"
    init_epochs: int = Field(20, ge=0, le=10_000)


def _resolve_data_dir(task: dict[str, Any], base_dir: str) -> dict[str, Any]:
    if task.get("data_dir"):
        from pathlib import Path

        return {**task, "data_dir": str((Path(base_dir) / task["data_dir"]).resolve())}
    return task


def _normalise_qnn(task: dict[str, Any]) -> dict[str, Any]:
    """The abstract quantizer has no gate table: its engine/noise-draw settings must not split points."""
    # defaults of later options are left out of the key, so stores written before them keep their points
    task = {k: v for k, v in task.items() if not ((k == "compile" and v == "native")
                                                  or (k in ("max_train", "max_test") and v is None)
                                                  or (k == "polish_tol" and v == 0.0)
                                                  or (k in ("init", "init_epochs") and task.get("init", "random") == "random"))}
    if task.get("provider") == "ideal":
        return {k: v for k, v in task.items() if k not in ("engine", "n_noise_draws")}
    return {k: v for k, v in task.items() if k != "quantize_inputs"}


def _prepare_qnn(task: dict[str, Any], base_dir: str, field: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Model files are keyed by content (sha256 of the JSON), run from their absolute path."""
    from pathlib import Path

    from cryoctl.profile import content_hash

    task = _normalise_qnn(task)
    run = _resolve_data_dir(task, base_dir)
    if task.get("model", "train-float") == "train-float":
        return task, run
    path = (Path(base_dir) / task["model"]).resolve()
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CryoctlError(f"cannot read model file {str(path)!r} ({exc.__class__.__name__})", field=f"{field}.model") from None
    return {**task, "model_sha": content_hash(doc, length=32)}, {**run, "model": str(path)}


def _control_bits(profile: HardwareProfile) -> int:
    """Width of the drive's control word: the XY DAC's bits, or the SFQ gate table's code width."""
    if profile.sfq is None:
        return profile.dac.bits
    from cryoctl.cost.sfq import sfq_code_bits

    return sfq_code_bits(profile)


def _qnn_executor(profile: HardwareProfile, params: dict[str, Any], seed: int | None):
    """The circuit executor of the task's ``provider``, built once: the profile's gate table with its
    entangler (realized flux CZ on a flux profile, else ideal CZ with the CZ error; see QnnInferParams)
    and readout, or the b-bit quantizer with exact readout and an ideal CZ (the papers' model)."""
    from cryoctl.circuit import Executor, IdealQuantizer, RealizedCZ, circuit_pairs
    from cryoctl.qnn import hardware_executor

    circuit = _qnn_model(profile, params).circuit
    choice = params.get("entangler", "auto")
    if params["provider"] == "ideal":
        qx = bool(params.get("quantize_inputs", False))
        if choice != "realized":
            return Executor(IdealQuantizer(_control_bits(profile), quantize_inputs=qx))
        return Executor(IdealQuantizer(_control_bits(profile), profile.qubits.levels, quantize_inputs=qx),
                        entangler=RealizedCZ.from_profile(profile, circuit_pairs(circuit)))
    return hardware_executor(profile, circuit, entangler=choice, engine=params["engine"], seed=seed or 0,
                             n_noise_draws=params["n_noise_draws"])


def _dataset(profile: HardwareProfile, params: dict[str, Any]):
    from cryoctl.qnn import load_dataset

    return load_dataset(params["dataset"], n_qubits=_qnn_model(profile, params).n_qubits, seed=params["dataset_seed"],
                        data_dir=params.get("data_dir"), max_train=params.get("max_train"),
                        max_test=params.get("max_test"))


def _compiled(executor, profile: HardwareProfile, params: dict[str, Any], circuit):
    """(executor with its RX/RY compiled by the task's ``compile``, what that costs): drive pulses and time
    on the critical path (RZ virtual; single-qubit pulses of ``pulse.duration_ns``, CZ layers not counted)
    and the realized RX/RY error of the trainable-parameter path (:func:`cryoctl.circuit.compile.rotation_error`,
    mean over qubits and both drive axes)."""
    from cryoctl.circuit.compile import circuit_drive_time, compile_executor, rotation_error

    mode = params.get("compile", "native")
    executor = compile_executor(executor, mode)
    cost = circuit_drive_time(circuit, mode, profile.pulse.duration_ns)
    errs = [rotation_error(executor.provider, a, q) for q in range(circuit.n_qubits) for a in ("x", "y")]
    return executor, {"compile": mode, "drive_pulses": cost["drive_pulses"], "drive_ns": cost["drive_ns"],
                      "rotation_infidelity": float(np.mean([e["infidelity_mean"] for e in errs])),
                      "rotation_angle_error": float(np.sqrt(np.mean([e["angle_error_rms"] ** 2 for e in errs])))}


_FLOAT_MODELS: dict[tuple, tuple[Any, np.ndarray, float]] = {}


def _float_model(profile: HardwareProfile, params: dict[str, Any], seed: int, ds):
    """Float-trained model, memoised per worker process (every bits point of a seed reuses it)."""
    from cryoctl.circuit import ExactProvider, Executor
    from cryoctl.qnn import TrainConfig, evaluate, train

    model = _qnn_model(profile, params, ds.n_classes)
    key = (params["dataset"], params["dataset_seed"], params.get("data_dir"), model.ansatz, model.n_qubits,
           params["epochs"], params["lr"], seed, params.get("max_train"), params.get("max_test"))
    if key not in _FLOAT_MODELS:
        res = train(model, ds, Executor(ExactProvider(2)),
                    TrainConfig(trainer="float", epochs=params["epochs"], lr=params["lr"], seed=seed))
        _FLOAT_MODELS[key] = (model, res.angles, evaluate(model, res.angles, ds)["accuracy"])
    return _FLOAT_MODELS[key]


def _qnn_infer(profile: HardwareProfile, params: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """Test accuracy of a float-trained model run on the profile's gates (see QnnInferParams)."""
    from cryoctl.qnn import evaluate, load_model, model_params

    seed = seed or 0
    ds = _dataset(profile, params)
    doc: dict[str, Any] = {}
    if params["model"] == "train-float":
        model, angles, float_acc = _float_model(profile, params, seed, ds)
    else:
        model, angles, doc = load_model(params["model"])
        float_acc = evaluate(model, angles, ds)["accuracy"]
        if model.n_qubits != _qnn_model(profile, params).n_qubits:
            raise CryoctlError(f"model has {model.n_qubits} qubits, the task {_qnn_model(profile, params).n_qubits}",
                               field="qubits.count")
    executor, compiled = _compiled(_qnn_executor(profile, params, seed), profile, params, model.circuit)
    res = evaluate(model, model_params(model, angles, doc, executor), ds, executor, rng=np.random.default_rng(seed))
    return {"accuracy": res["accuracy"], "loss": res["loss"], "float_accuracy": float_acc,
            "bits": _control_bits(profile), "provider": executor.label, "entangler": executor.entangler.label,
            "n_test": int(len(ds.y_test)), **compiled}


def _qnn_train(profile: HardwareProfile, params: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """Train on the profile's gates with the task's trainer; final test accuracy and the deadlock meter."""
    from cryoctl.qnn import TrainConfig, train

    seed = seed or 0
    ds = _dataset(profile, params)
    model = _qnn_model(profile, params, ds.n_classes)
    executor, compiled = _compiled(_qnn_executor(profile, params, seed), profile, params, model.circuit)
    cfg = TrainConfig(trainer=params["trainer"], optimizer=params["optimizer"], lr=params["lr"], epochs=params["epochs"],
                      batch_size=params["batch_size"], seed=seed, temperature=params["temperature"],
                      schedule=params["schedule"])
    from cryoctl.qnn.trainers import CodeTrainerOptions

    init = None
    if params.get("init", "random") == "float":  # the same memoised float model as qnn_infer's "train-float"
        init = _float_model(profile, {**params, "epochs": params["init_epochs"]}, seed, ds)[1]
    res = train(model, ds, executor, cfg, init_angles=init,
                options=CodeTrainerOptions(polish_tol=params.get("polish_tol", 0.0)))
    return {"accuracy": res.final["test_acc"], "train_accuracy": res.final["train_acc"], "loss": res.final["loss"],
            "start_accuracy": res.start["test_acc"], "changed_frac": res.final["changed_frac"],
            # per grid (round / stochastic / float trainers): RX/RY drive codes, RZ phase words
            "changed_frac_rxy": res.final.get("changed_frac_rxy"), "changed_frac_rz": res.final.get("changed_frac_rz"),
            "bits": _control_bits(profile), "provider": res.provider_label, "entangler": executor.entangler.label,
            "history": res.history, "n_test": int(len(ds.y_test)), **compiled}


register_task("qnn_infer", _qnn_infer, QnnInferParams, uses_seed=True, version=_qnn_version, prepare=_prepare_qnn,
              description="accuracy of a float-trained QNN on the profile's gates", metrics=("accuracy", "loss"))
def _qnn_train_version() -> str:
    # t1: the deadlock meter per grid (changed_frac_rxy / changed_frac_rz)
    return f"{_qnn_version()}+t1"


register_task("qnn_train", _qnn_train, QnnTrainParams, uses_seed=True, version=_qnn_train_version,
              prepare=lambda t, b, f: (_normalise_qnn(t), _resolve_data_dir(_normalise_qnn(t), b)),
              description="train a QNN on the profile's gates", metrics=("accuracy", "loss"))


def _rb_default_lengths() -> list[int]:
    from cryoctl.circuit.rb import DEFAULT_LENGTHS

    return list(DEFAULT_LENGTHS)


class RbParams(TaskParams):
    kind: Literal["rb"] = "rb"
    qubit: int = Field(0, ge=0)
    #: Sequence lengths (Cliffords before the inverse); at least 4 distinct (checked by the circuit layer).
    lengths: list[int] = Field(default_factory=_rb_default_lengths)
    sequences: int = Field(50, ge=2, le=10_000)
    engine: Literal[ENGINE_NAMES] = "fast"  # type: ignore[valid-type]
    n_noise_draws: int = Field(32, ge=1, le=4096)


def _rb(profile: HardwareProfile, params: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """Single-qubit Clifford RB on the profile's gate table (:mod:`cryoctl.circuit.rb`); the seed draws
    the sequences (and the table's noise, as for ``gates``)."""
    from cryoctl.circuit.rb import table_rb
    from cryoctl.gates import load_or_build

    seed = seed or 0
    if params["qubit"] >= profile.qubits.count:
        raise CryoctlError(f"qubit {params['qubit']} out of range [0, {profile.qubits.count - 1}]", field="rb.qubit")
    table = load_or_build(profile, params["engine"], seed, n_noise_draws=params["n_noise_draws"])
    res = table_rb(table, params["qubit"], params["lengths"], params["sequences"], rng=np.random.default_rng(seed))
    return {"bits": profile.dac.bits, "qubit": params["qubit"], **res.to_dict()}


register_task("rb", _rb, RbParams, uses_seed=True, version=lambda: f"1+{_gates_version()}",
              description="single-qubit Clifford randomized benchmarking on the profile's gates",
              metrics=("epc", "epc_err", "leakage_per_clifford", "clifford_infidelity"))


class EchoParams(TaskParams):
    kind: Literal["debug.echo"] = "debug.echo"
    draws: int = Field(4, ge=0, le=10_000)


def _echo(profile: HardwareProfile, params: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """Diagnostic: the profile's hash, DAC bits and ``draws`` normal variates from the seed."""
    from cryoctl.profile import profile_hash

    rng = np.random.default_rng(seed)
    return {"profile_hash": profile_hash(profile), "bits": profile.dac.bits, "seed": seed,
            "draws": rng.standard_normal(params["draws"]).tolist()}


register_task("debug.echo", _echo, EchoParams, description="diagnostic: echo profile and seeded draws")


class SleepParams(TaskParams):
    kind: Literal["debug.sleep"] = "debug.sleep"
    seconds: float = Field(0.1, ge=0.0, le=3600.0)


def _sleep(profile: HardwareProfile, params: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """Diagnostic: wait, then echo (used to kill a study mid-run)."""
    time.sleep(params["seconds"])
    return {"bits": profile.dac.bits, "seed": seed, "value": float(np.random.default_rng(seed).random())}


register_task("debug.sleep", _sleep, SleepParams, description="diagnostic: sleep then echo")


class FailParams(TaskParams):
    kind: Literal["debug.fail"] = "debug.fail"
    message: str = "debug.fail raised as asked"
    #: Fail only for these DAC resolutions (empty: always).
    bits: list[int] = Field(default_factory=list)


def _fail(profile: HardwareProfile, params: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """Diagnostic: raise (a plain RuntimeError, as a buggy task would)."""
    if not params["bits"] or profile.dac.bits in params["bits"]:
        raise RuntimeError(params["message"])
    return {"bits": profile.dac.bits, "seed": seed}


register_task("debug.fail", _fail, FailParams, uses_seed=False, description="diagnostic: raise")
