"""Trainers: float, deterministic-quantized (``round``) and temperature-stochastic (``stochastic``).

All trainers draw their initial angles theta_0 ~ U[-pi, pi) from the seed (a deliberately poor start,
so that the deadlock meter and the accuracy gain are visible), shuffle mini-batches with the same
Generator, and compute an update direction in angle units with SGD (delta = -lr g) or Adam
(delta = -lr m_hat / (sqrt(v_hat) + eps), moments m, v are float optimizer state).

- ``float``: theta <- theta + delta (infinite precision in the optimizer; on a quantized provider the
  host encodes theta into codes once per step, so the circuit still plays codes).
- ``round``: the parameters ARE integer codes c, as the executor's provider plays them (no hidden
  float copy, no angle round trip); the move in codes is u = delta / step and c <- c + round(u),
  step = the nominal angle of one code of the parameter's channel: pi / pi_code of that qubit's I or Q
  DAC (``calibration.step``) for drive (RX/RY) parameters, 2 pi / 2^phase_bits for virtual-Z
  parameters on hardware, 2 pi / 2^b on the ideal quantizer. |u| < 1/2 moves nothing: with Adam,
  |delta| ~ lr, so lr < step / 2 (e.g. lr 0.05 at 4 bits, step 0.39) deadlocks every parameter.
- ``stochastic``: c <- c + floor(u) + xi, xi ~ Bernoulli(p(frac(u), T)) with the logistic family

      p(f, T) = sigmoid(logit(f) / T) = f^(1/T) / (f^(1/T) + (1 - f)^(1/T)),   f = u - floor(u).

  T = 1 gives p = f exactly: unbiased stochastic rounding, E[move] = u (the default). T -> 0 gives
  p -> [f > 1/2], i.e. ``round``; T -> infinity gives p -> 1/2 (maximal exploration). Schedules:
  ``constant`` T, or ``exponential`` T_e = max(T_min, T_0 * decay^e) (epoch e from 0).

The initial angles are encoded into codes once (``executor.encode_params``: per channel, nearest
measured angle on hardware). Moved codes are kept playable with ``executor.wrap_codes`` (modular for
the ideal quantizer and phase words: RP(theta + 2 pi) is RP(theta) up to a global phase).

Every epoch logs the full-train loss, train and test accuracy and the deadlock meter: the fraction
of parameter updates (steps x parameters) that changed the parameter (a code, for quantized trainers),
over all parameters (``changed_frac``) and per grid (:func:`moved_fractions`: RX/RY drive codes,
RZ phase words, which on hardware have different steps). Epoch 0 is the starting point.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.qnn.gradients import loss_and_grad

TRAINERS = ("float", "round", "stochastic", "latent", "linesearch", "anneal")  # the last three: qnn.trainers
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "exponential")
FLOAT_MOVE_TOL = 1e-8  # rad: float moves below this are round-off, not changes (deadlock meter)


@dataclass(frozen=True)
class TrainConfig:
    trainer: str = "float"
    optimizer: str = "adam"
    lr: float = 0.05
    epochs: int = 30
    batch_size: int = 16
    seed: int = 0
    temperature: float = 1.0
    schedule: str = "constant"
    decay: float = 0.9
    t_min: float = 1e-3
    gradient: str = "auto"
    beta1: float = 0.9
    beta2: float = 0.999
    adam_eps: float = 1e-8

    def __post_init__(self):
        checks = [("trainer", self.trainer, TRAINERS), ("optimizer", self.optimizer, OPTIMIZERS),
                  ("schedule", self.schedule, SCHEDULES)]
        for name, val, allowed in checks:
            if val not in allowed:
                raise CryoctlError(f"unknown {name} {val!r}; expected one of {', '.join(allowed)}", field=name)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise CryoctlError(f"expected a positive finite learning rate, got {self.lr}", field="lr")
        if self.epochs < 0:  # 0: the initial model, evaluated (study tasks accept it)
            raise CryoctlError(f"expected epochs >= 0, got {self.epochs}", field="epochs")
        if self.batch_size < 1:
            raise CryoctlError(f"expected batch_size >= 1, got {self.batch_size}", field="batch_size")
        if not (self.temperature >= 0 and math.isfinite(self.temperature)):
            raise CryoctlError(f"expected a finite temperature >= 0, got {self.temperature}", field="temperature")
        if not (self.decay > 0 and math.isfinite(self.decay)):
            raise CryoctlError(f"expected a positive finite decay factor, got {self.decay}", field="decay")

    def temperature_at(self, epoch: int) -> float:
        if self.schedule == "constant":
            return self.temperature
        return max(self.t_min, self.temperature * self.decay**epoch)


def move_probability(frac: np.ndarray, temperature: float) -> np.ndarray:
    """p(f, T) = sigmoid(logit(f) / T); T = 1 -> p = f; T = 0 -> round-half-up step."""
    f = np.asarray(frac, dtype=float)
    if temperature == 0:
        return np.where(f > 0.5, 1.0, np.where(f == 0.5, 0.5, 0.0))
    with np.errstate(divide="ignore", over="ignore"):
        a = 1.0 / temperature
        return 1.0 / (1.0 + np.exp(a * (np.log1p(-f) - np.log(f))))


def moved_fractions(moved: np.ndarray, steps: int, axes) -> dict:
    """The deadlock meter of one epoch: moved[i] = updates of parameter i that changed it, out of ``steps``.

    ``changed_frac`` = sum(moved) / (steps m) over all m parameters; ``changed_frac_rxy`` and
    ``changed_frac_rz`` the same over the RX/RY and the RZ parameters (None if the circuit has none). On
    emulated hardware (native compilation) RX/RY are drive-amplitude codes (step pi / pi_code of a b-bit
    DAC) and RZ virtual-Z phase words (2 pi / 2^phase_bits): the law lr < step / 2 stalls the first and
    not the second, so the two are measured apart.
    """
    moved = np.asarray(moved)
    rz = np.char.lower(np.asarray(axes, dtype=str)) == "z"  # circuit axes are "x" / "y" / "z"

    def frac(mask):
        n = int(np.count_nonzero(mask))
        return None if n == 0 else float(moved[mask].sum()) / max(steps * n, 1)

    return {"changed_frac": float(moved.sum()) / max(steps * len(moved), 1),
            "changed_frac_rxy": frac(~rz), "changed_frac_rz": frac(rz)}


def code_moves(u: np.ndarray, trainer: str, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """Integer code moves for requested moves u (codes): ``round`` or ``stochastic``."""
    if trainer == "round":
        return np.round(u).astype(np.int64)
    base = np.floor(u)
    extra = rng.random(u.shape) < move_probability(u - base, temperature)
    return base.astype(np.int64) + extra


@dataclass
class TrainResult:
    params: np.ndarray  # what the provider plays: int codes (quantized trainers) or float angles
    angles: np.ndarray  # calibrated angles of ``params`` (rad; measured angle per channel on hardware)
    codes: np.ndarray | None
    history: list[dict]
    config: TrainConfig
    provider_label: str
    bits: int | None
    param_steps: np.ndarray | None = None  # nominal angle of one code of each parameter's channel
    extra: dict = field(default_factory=dict)

    @property
    def final(self) -> dict:
        return self.history[-1]

    @property
    def start(self) -> dict:
        return self.history[0]


class _Adam:
    def __init__(self, m, cfg: TrainConfig):
        self.m, self.v, self.t, self.cfg = np.zeros(m), np.zeros(m), 0, cfg

    def step(self, g):
        c = self.cfg
        self.t += 1
        self.m = c.beta1 * self.m + (1 - c.beta1) * g
        self.v = c.beta2 * self.v + (1 - c.beta2) * g * g
        mh = self.m / (1 - c.beta1**self.t)
        vh = self.v / (1 - c.beta2**self.t)
        return -c.lr * mh / (np.sqrt(vh) + c.adam_eps)


def accuracy(model, executor, x, y, params, *, rng: np.random.Generator | None = None) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of one parameter set (codes or angles, as the executor plays them)."""
    z = executor.expect(model.circuit, x, params, rng)[0]
    loss, _ = model.loss_and_dz(z, y)
    return float(np.mean(model.predict(z) == y)), float(loss)


def train(model, dataset, executor, config: TrainConfig = TrainConfig(), *, init_angles: np.ndarray | None = None,
          progress=None, options=None) -> TrainResult:
    """Train ``model`` on ``dataset`` with an :class:`~cryoctl.circuit.Executor` (module docstring).

    The executor carries the gates, the entangler and the readout; ``progress(epoch)`` is called after
    every epoch if given; ``options``: :class:`~cryoctl.qnn.trainers.CodeTrainerOptions` of the code-space
    trainers (default theirs).
    """
    cfg = config
    if cfg.trainer in ("latent", "linesearch", "anneal"):  # code-space trainers, cryoctl.qnn.trainers
        from cryoctl.qnn.trainers import train_codes

        kw = {} if options is None else {"options": options}
        return train_codes(model, dataset, executor, cfg, init_angles=init_angles, progress=progress, **kw)
    rng = np.random.default_rng(cfg.seed)
    circuit = model.circuit
    m = model.n_params
    theta0 = rng.uniform(-np.pi, np.pi, m) if init_angles is None else np.asarray(init_angles, float).copy()
    quantized = cfg.trainer != "float"
    if quantized and not executor.quantized:
        raise CryoctlError(f"trainer {cfg.trainer!r} needs a quantized provider (bits / profile)", field="trainer")
    # quantized trainers hold codes; the float trainer holds angles theta, and on a quantized provider the
    # host encodes them into codes once per step (a float master copy, quantized at play time)
    theta = theta0
    params = executor.encode_params(circuit, theta0)
    step = executor.param_steps(circuit) if quantized else None
    adam = _Adam(m, cfg) if cfg.optimizer == "adam" else None
    xtr, ytr, xte, yte = dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test

    def log(epoch, moved, steps, temp):
        tr_acc, tr_loss = accuracy(model, executor, xtr, ytr, params, rng=rng)
        te_acc, _ = accuracy(model, executor, xte, yte, params, rng=rng)
        return {"epoch": epoch, "loss": tr_loss, "train_acc": tr_acc, "test_acc": te_acc,
                **moved_fractions(moved, steps, circuit.param_axes), "temperature": temp}

    history = [log(0, np.zeros(m, np.int64), 0, None)]
    n = len(ytr)
    for epoch in range(1, cfg.epochs + 1):
        temp = cfg.temperature_at(epoch - 1) if cfg.trainer == "stochastic" else None
        order = rng.permutation(n)
        moved, steps = np.zeros(m, np.int64), 0
        for start in range(0, n, cfg.batch_size):
            idx = order[start: start + cfg.batch_size]
            _, g, _ = loss_and_grad(model, executor, xtr[idx], ytr[idx], params, method=cfg.gradient, rng=rng)
            delta = adam.step(g) if adam else -cfg.lr * g
            if quantized:
                mv = code_moves(delta / step, cfg.trainer, temp, rng)
                params = executor.wrap_codes(circuit, params + mv)
                moved += mv != 0
            else:
                theta = theta + delta
                params = executor.encode_params(circuit, theta)
                # a float move "changes" a parameter only above round-off: Adam moves a parameter
                # whose gradient is structurally zero (~1e-17) by lr |g| / eps ~ 1e-10 rad
                moved += np.abs(delta) > FLOAT_MOVE_TOL
            steps += 1
        history.append(log(epoch, moved, steps, temp))
        if progress is not None:
            progress(epoch)
    angles = np.asarray(executor.param_angles(circuit, params) if quantized else theta, dtype=float)
    return TrainResult(params=params.copy(), angles=angles,
                       codes=params.copy() if quantized else None, history=history, config=cfg,
                       provider_label=executor.label, bits=getattr(executor.provider, "bits", None),
                       param_steps=None if step is None else np.asarray(step, dtype=float).copy(),
                       extra={"init_angles": theta0})


def config_dict(cfg: TrainConfig) -> dict:
    return asdict(cfg)
