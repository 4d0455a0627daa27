"""DAC metrics: static linearity (DNL, INL, monotonicity) and the coherent sine test (SNR, SINAD,
ENOB, SFDR). Static metrics are pure functions of a levels array (..., 2^N), batched over leading
axes (e.g. many chips at once).

Static, with V_k the output for the k-th code from the bottom and the *actual* average step
LSB_a = (V_{2^N-1} - V_0) / (2^N - 1):

    DNL_k = (V_{k+1} - V_k) / LSB_a - 1                         (k = 0 .. 2^N - 2)
    INL_k = (V_k - V_0) / LSB_a - k                             (endpoint)
    INL_k = (V_k - a - b k) / b,  (a, b) = least squares of V_k on k     (best fit)

Both INL definitions are in LSB and invariant under gain and offset errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from cryoctl.errors import CryoctlError

if TYPE_CHECKING:
    from cryoctl.dac.model import Dac


def _levels(levels: np.ndarray) -> np.ndarray:
    lv = np.asarray(levels, dtype=float)
    if lv.ndim == 0 or lv.shape[-1] < 2:
        raise CryoctlError(f"expected levels of shape (..., 2^N) with at least 2 codes, got {lv.shape}", field="levels")
    return lv


def average_lsb(levels: np.ndarray) -> np.ndarray:
    """Actual average step (V): (V_last - V_first) / (n_codes - 1), shape (...)."""
    lv = _levels(levels)
    return (lv[..., -1] - lv[..., 0]) / (lv.shape[-1] - 1)


def dnl(levels: np.ndarray) -> np.ndarray:
    """Differential non-linearity (LSB) of each code transition: (..., n) -> (..., n - 1)."""
    lv = _levels(levels)
    return np.diff(lv, axis=-1) / average_lsb(lv)[..., None] - 1.0


def inl(levels: np.ndarray, method: Literal["endpoint", "bestfit"] = "endpoint") -> np.ndarray:
    """Integral non-linearity (LSB) per code, from the endpoint line or the least-squares line."""
    lv = _levels(levels)
    k = np.arange(lv.shape[-1], dtype=float)
    if method == "endpoint":
        return (lv - lv[..., :1]) / average_lsb(lv)[..., None] - k
    if method == "bestfit":
        kc = k - k.mean()
        b = (lv * kc).sum(axis=-1) / (kc @ kc)
        a = lv.mean(axis=-1) - b * k.mean()
        return (lv - a[..., None] - b[..., None] * k) / b[..., None]
    raise CryoctlError(f"expected 'endpoint' or 'bestfit', got {method!r}", field="method")


def is_monotonic(levels: np.ndarray) -> bool | np.ndarray:
    """True where the output never decreases with the code (every DNL_k >= -1); batched."""
    ok = np.all(np.diff(_levels(levels), axis=-1) >= 0.0, axis=-1)
    return bool(ok) if np.ndim(ok) == 0 else ok


# --- coherent sine test --------------------------------------------------------------------------

#: The sine's amplitude sits this far (in LSB) below full scale so the top code is never exceeded.
FS_BACKOFF_LSB = 1e-3
#: Harmonics 2..N_HARMONICS count as distortion (excluded from SNR, included in SINAD).
N_HARMONICS = 10


@dataclass(frozen=True)
class SineTest:
    """Result of :func:`sine_test`. dB values relative to the carrier (dBc) except ``spectrum_dbfs``."""

    snr_db: float
    sinad_db: float
    enob: float
    sfdr_db: float
    thd_db: float
    n_fft: int
    cycles: int
    frequency_ghz: float
    amplitude_lsb: float
    freqs_ghz: np.ndarray = field(repr=False)
    spectrum_dbfs: np.ndarray = field(repr=False)
    harmonic_bins: tuple[int, ...] = field(repr=False, default=())

    def summary(self) -> dict[str, Any]:
        """The scalar results (JSON-friendly)."""
        return {
            "snr_db": self.snr_db, "sinad_db": self.sinad_db, "enob": self.enob, "sfdr_db": self.sfdr_db,
            "thd_db": self.thd_db, "n_fft": self.n_fft, "cycles": self.cycles,
            "frequency_ghz": self.frequency_ghz, "amplitude_lsb": self.amplitude_lsb,
        }


def default_cycles(n_fft: int) -> int:
    """Largest prime below n_fft / 10 that does not divide n_fft (a carrier near f_s / 10)."""
    c = max(int(n_fft // 10), 3)
    while c > 2:
        if all(c % p for p in range(2, int(math.isqrt(c)) + 1)) and n_fft % c:
            return c
        c -= 1
    return 1


def sine_codes(bits: int, n_fft: int, cycles: int) -> tuple[np.ndarray, float]:
    """Codes of a coherent near-full-scale sine and its amplitude in LSB.

    x_n = c0 + A sin(2 pi cycles n / n_fft + phi), code_n = round(x_n), with c0 = -1/2 the centre of
    the two's-complement range [-2^(N-1), 2^(N-1) - 1] and A = 2^(N-1) - FS_BACKOFF_LSB: the sine
    spans all 2^N codes (full scale, as assumed by SQNR = 6.02 N + 1.76 dB) without clipping at the
    top code; phi = 0.1 avoids exact rounding ties.
    """
    amp = 2.0 ** (bits - 1) - FS_BACKOFF_LSB
    n = np.arange(n_fft)
    x = -0.5 + amp * np.sin(2 * np.pi * cycles * n / n_fft + 0.1)
    return np.round(x).astype(np.int64), amp


def sine_test(dac: "Dac", n_fft: int = 8192, cycles: int | None = None, rng: np.random.Generator | None = None) -> SineTest:
    """Coherent full-scale sine through the DAC, analysed by FFT (rectangular window).

    ``cycles`` periods fit exactly in ``n_fft`` samples (gcd(cycles, n_fft) = 1, e.g. a prime), so
    the carrier falls in one bin with no leakage and every sample has a distinct phase (the
    quantisation error is spread over the band instead of piling into a few harmonics). The output
    is the static transfer plus, when ``rng`` is given, the sample-level noise and jitter
    (:func:`Dac.perturb`), analysed over the first Nyquist band. With P_k the one-sided power per bin:

        SINAD = P_sig / sum_{k != 0, sig} P_k
        SNR   = P_sig / (same sum without harmonics 2..10, aliased)
        THD   = sum harmonics / P_sig
        SFDR  = P_sig / max_{k != 0, sig} P_k
        ENOB  = (SINAD - 1.76) / 6.02

    An ideal N-bit DAC gives SINAD = SQNR ~ 6.02 N + 1.76 dB and ENOB ~ N.
    """
    if not isinstance(n_fft, (int, np.integer)) or n_fft < 16:
        raise CryoctlError(f"expected an integer >= 16, got {n_fft!r}", field="n_fft")
    n_fft = int(n_fft)
    cycles = default_cycles(n_fft) if cycles is None else cycles
    if not isinstance(cycles, (int, np.integer)) or not 1 <= cycles < n_fft // 2 or math.gcd(int(cycles), n_fft) != 1:
        raise CryoctlError(
            f"expected an integer in [1, n_fft/2) coprime with n_fft={n_fft} (e.g. a prime), got {cycles!r}",
            field="cycles",
        )
    cycles = int(cycles)
    codes, amp = sine_codes(dac.bits, n_fft, cycles)
    v = dac.static(codes)
    if rng is not None:
        v = dac.perturb(v, rng)

    p = np.abs(np.fft.rfft(v) / n_fft) ** 2
    p[1:] *= 2.0
    if n_fft % 2 == 0:
        p[-1] /= 2.0  # the Nyquist bin has no mirror image
    p_sig = p[cycles]
    others = p.copy()
    others[[0, cycles]] = 0.0
    h = np.arange(2, N_HARMONICS + 1) * cycles % n_fft
    h = np.unique(np.minimum(h, n_fft - h))
    h = h[(h != 0) & (h != cycles)]
    p_nd = others.sum()
    p_harm = others[h].sum()
    tiny = np.finfo(float).tiny

    def db(x: float) -> float:
        return float(10.0 * np.log10(max(x, tiny)))

    sinad = db(p_sig / max(p_nd, tiny))
    p_fs = dac.spec.full_scale_v**2 / 2.0  # power of a full-scale sine
    return SineTest(
        snr_db=db(p_sig / max(p_nd - p_harm, tiny)),
        sinad_db=sinad,
        enob=(sinad - 1.76) / 6.02,
        sfdr_db=db(p_sig / max(others.max(), tiny)),
        thd_db=db(p_harm / p_sig),
        n_fft=n_fft,
        cycles=cycles,
        frequency_ghz=cycles / n_fft * dac.spec.sample_rate_gsps,
        amplitude_lsb=amp,
        freqs_ghz=np.arange(p.size) / n_fft * dac.spec.sample_rate_gsps,
        spectrum_dbfs=10.0 * np.log10(np.maximum(p, 1e-30) / p_fs),
        harmonic_bins=tuple(int(x) for x in h),
    )
