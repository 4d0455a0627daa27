"""Statistics and power conversions the report states its answers with.

Confidence intervals (95 % unless ``conf`` says otherwise):

- Over seeds (Student t): mean +- t_{1-a/2, n-1} s / sqrt(n), s the sample standard deviation
  (ddof = 1). With one seed there is no seed interval.
- Test-set size (Wilson score interval): an accuracy p measured on n test samples has the interval
  [p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)] / (1 + z^2/n). The Iris test set has 45 samples, so one
  sample is 2.2 points and the interval at p = 0.9 is about [0.79, 0.96].
- Accuracy interval of a design (:func:`accuracy_interval`): the envelope (union) of the seed interval
  and the Wilson interval at the seed-mean accuracy with n = the test-set size of one seed. The test
  samples are not pooled over seeds (the seeds reuse the same small data set), so the interval is
  conservative: a difference is claimed only when it is larger than both sources of spread.

Wall-plug power (:func:`wall_plug_factor`). Heat dissipated at a cryogenic stage has to be pumped out
by the cryocooler, which draws ``S(T)`` watts from the wall per watt removed at temperature T:

- Carnot bound: S_C(T) = (T_room - T) / T, 74 W/W at 4 K (T_room = 300 K).
- Real 4 K machines are far from it: large helium refrigerators reach ~250 W/W at 4.5 K, small
  commercial pulse-tube/Gifford-McMahon coolers at ~1 W of 4 K cooling power several kW/W
  (ter Brake & Wiegerinck, "Low-power cryocooler survey", Cryogenics 42, 705 (2002): ~1 % of Carnot
  at 4 K). The default :data:`WALL_PLUG_W_PER_W_4K` = 1000 W/W is an assumption between the two,
  the figure usually quoted for a 4 K pulse-tube stage ("~1 kW of wall power per W at 4 K"); it is a
  report option (``--wall-plug-w-per-w``).
- Other temperatures keep the same fraction of Carnot: S(T) = S_C(T) / eta with
  eta = S_C(4 K) / S_4K (an assumption); at or above :data:`ROOM_TEMPERATURE_K` the heat leaves with
  the room air and S = 1 (the electronics' own draw; building cooling is not counted).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as _st

from cryoctl.errors import CryoctlError

#: Wall power per watt removed at 4 K (W/W); an assumption, see the module docstring.
WALL_PLUG_W_PER_W_4K = 1000.0
#: Ambient temperature the cryocooler rejects heat to (K).
T_AMBIENT_K = 300.0
#: At or above this stage temperature the dissipation counts once (no cryocooler).
ROOM_TEMPERATURE_K = 250.0
#: The sentence the report prints under its power figures.
WALL_PLUG_SOURCE = (
    "Assumption: {s:g} W of wall power per W removed at 4 K (a 4 K pulse-tube stage; the Carnot bound is 74 W/W, "
    "large helium plants ~250 W/W at 4.5 K, small 4 K cryocoolers several kW/W at ~1 % of Carnot: ter Brake & "
    "Wiegerinck, Cryogenics 42, 705 (2002)); other cryogenic temperatures keep the same fraction of Carnot; "
    "room-temperature electronics count once.")


def carnot_w_per_w(temperature_k: float, t_ambient_k: float = T_AMBIENT_K) -> float:
    """Carnot bound on wall watts per watt removed at ``temperature_k``: (T_amb - T) / T."""
    if temperature_k <= 0:
        raise CryoctlError(f"stage temperature must be > 0 K, got {temperature_k}", field="cost.temperature_k")
    return max(0.0, (t_ambient_k - temperature_k) / temperature_k)


def wall_plug_factor(temperature_k: float, w_per_w_4k: float = WALL_PLUG_W_PER_W_4K) -> float:
    """Wall-plug watts per watt dissipated at a stage at ``temperature_k`` (see module docstring)."""
    if not (w_per_w_4k >= 1.0 and math.isfinite(w_per_w_4k)):
        raise CryoctlError(f"wall-plug W per W at 4 K must be a finite number >= 1, got {w_per_w_4k}",
                           field="wall_plug_w_per_w")
    if temperature_k >= ROOM_TEMPERATURE_K:
        return 1.0
    eta = carnot_w_per_w(4.0) / w_per_w_4k  # fraction of Carnot the 4 K figure implies
    return max(1.0, carnot_w_per_w(temperature_k) / eta)


def wilson_interval(p: float, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``p`` observed on ``n`` trials."""
    if n <= 0:
        raise CryoctlError(f"test-set size must be > 0, got {n}", field="n_test")
    z = float(_st.norm.ppf(0.5 + conf / 2))
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def seed_interval(values: Sequence[float], conf: float = 0.95) -> tuple[float, float, float]:
    """(mean, lo, hi): Student-t interval of the mean over seeds; lo = hi = mean for one value."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise CryoctlError("no values to average", field="seeds")
    m = float(v.mean())
    if v.size == 1:
        return m, m, m
    half = float(_st.t.ppf(0.5 + conf / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return m, m - half, m + half


def accuracy_interval(values: Sequence[float], n_test: int | None, conf: float = 0.95) -> dict[str, float | None]:
    """Seed-mean accuracy with the envelope of the seed (t) and test-set (Wilson) intervals.

    Returns {"mean", "lo", "hi", "seed_lo", "seed_hi", "wilson_lo", "wilson_hi", "n_seeds", "n_test"}
    (the Wilson bounds are None when the test-set size is unknown).
    """
    m, slo, shi = seed_interval(values, conf)
    wlo = whi = None
    lo, hi = slo, shi
    if n_test:
        wlo, whi = wilson_interval(min(max(m, 0.0), 1.0), int(n_test), conf)
        lo, hi = min(lo, wlo), max(hi, whi)
    return {"mean": m, "lo": max(0.0, lo), "hi": min(1.0, hi), "seed_lo": slo, "seed_hi": shi,
            "wilson_lo": wlo, "wilson_hi": whi, "n_seeds": len(values), "n_test": int(n_test) if n_test else None}


def fmt_cell(v) -> str:
    """One table cell: "–" for missing, yes/no for booleans, 4 significant digits for floats."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
