"""Pulse envelopes on the DAC sample grid: lifted Gaussian and its DRAG quadrature.

Lifted Gaussian of duration T and width sigma (zero at both ends of the pulse):

    G(t) = exp(-(t - T/2)^2 / (2 sigma^2)),      g(t) = (G(t) - G(0)) / (1 - G(0)),

sampled at the sample midpoints t_k = (k + 1/2) dt, k = 0..K-1, K = round(T / dt), and
peak-normalised so that the largest *sample* is exactly 1 (the amplitude code then is the peak code).

DRAG (Motzoi et al., PRL 103, 110501 (2009)): the quadrature channel carries

    Omega_Q(t) = -beta * dOmega_I/dt / alpha,

so with Omega_I = A g(t) the Q envelope is q(t) = -beta g'(t) / alpha with the *analytic* derivative

    g'(t) = -(t - T/2) / sigma^2 * G(t) / (1 - G(0))   (same peak normalisation as g),

evaluated at the same sample midpoints t_k (not a finite difference of the samples). alpha is the
anharmonicity in rad/ns, so q is dimensionless like g.
"""

from __future__ import annotations

import numpy as np

from cryoctl.errors import CryoctlError


def n_samples(duration_ns: float, dt_ns: float) -> int:
    """K = round(T / dt) DAC samples in the pulse (at least 1)."""
    k = int(round(duration_ns / dt_ns))
    if k < 1:
        raise CryoctlError(
            f"pulse of {duration_ns} ns is shorter than one DAC sample ({dt_ns} ns)", field="pulse.duration_ns"
        )
    return k


def sample_times(duration_ns: float, dt_ns: float) -> np.ndarray:
    """Sample midpoints t_k = (k + 1/2) dt, shape (K,)."""
    return (np.arange(n_samples(duration_ns, dt_ns)) + 0.5) * dt_ns


def _lifted(t: np.ndarray, duration_ns: float, sigma_ns: float) -> tuple[np.ndarray, np.ndarray]:
    """(g, g') of the lifted Gaussian before peak normalisation."""
    g_edge = np.exp(-((duration_ns / 2) ** 2) / (2 * sigma_ns**2))
    gauss = np.exp(-((t - duration_ns / 2) ** 2) / (2 * sigma_ns**2))
    g = (gauss - g_edge) / (1 - g_edge)
    dg = -(t - duration_ns / 2) / sigma_ns**2 * gauss / (1 - g_edge)
    return g, dg


def lifted_gaussian(duration_ns: float, sigma_ns: float, dt_ns: float) -> np.ndarray:
    """Peak-normalised lifted Gaussian at the sample midpoints, shape (K,), max sample = 1."""
    g, _ = _lifted(sample_times(duration_ns, dt_ns), duration_ns, sigma_ns)
    return g / g.max()


def lifted_gaussian_derivative(duration_ns: float, sigma_ns: float, dt_ns: float) -> np.ndarray:
    """Analytic dg/dt (1/ns) at the sample midpoints, with the same normalisation as :func:`lifted_gaussian`."""
    g, dg = _lifted(sample_times(duration_ns, dt_ns), duration_ns, sigma_ns)
    return dg / g.max()


def drag_quadrature(derivative: np.ndarray, beta: float | np.ndarray, anharmonicity_ghz: float) -> np.ndarray:
    """DRAG Q envelope q_k = -beta g'(t_k) / alpha, alpha = 2 pi anharmonicity (rad/ns).

    ``beta`` may be an array (a DRAG scan): the result has shape (*beta.shape, K).
    """
    alpha = 2 * np.pi * anharmonicity_ghz
    beta = np.asarray(beta, dtype=float)
    return -beta[..., None] * np.asarray(derivative, dtype=float) / alpha
