"""Hardware profile: the declarative description of one control stack (pydantic v2, immutable).

Units live in the key names (DESIGN.md): ns, GHz, V, us, K. A profile is frozen once validated; its
:func:`~cryoctl.profile.hashing.profile_hash` keys every cache and study result derived from it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator


class _Spec(BaseModel):
    # Unknown keys are errors (a typo must not silently fall back to a default); frozen so that a
    # profile cannot drift away from its hash.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class ReconstructionFilter(_Spec):
    """Analog low-pass after the zero-order hold (scipy.signal analog prototype, applied on the
    oversampled grid)."""

    kind: Literal["bessel", "butterworth"] = "bessel"
    order: int = Field(4, ge=1, le=12)
    cutoff_ghz: PositiveFloat


class DacSpec(_Spec):
    """Current-steering DAC: N-bit signed codes in [-2^(N-1), 2^(N-1)-1].

    Ideal transfer V(code) = code * LSB with LSB = full_scale_v / 2^(N-1). Unit current sources carry
    relative mismatch e_k ~ N(0, unit_mismatch_sigma^2) drawn from mismatch_seed (one seed = one chip).
    ``unary_msbs`` MSBs are thermometer-decoded, the rest binary-weighted: 0 -> binary, N -> thermometer.
    """

    bits: int = Field(ge=1, le=24)
    architecture: Literal["binary", "thermometer", "segmented"] = "binary"
    unary_msbs: int = Field(0, ge=0, le=24)
    full_scale_v: PositiveFloat = 1.0
    sample_rate_gsps: PositiveFloat = 1.0
    unit_mismatch_sigma: float = Field(0.0, ge=0.0, le=0.5)
    mismatch_seed: int = Field(0, ge=0)
    gain_error: float = Field(0.0, gt=-1.0, lt=1.0)
    offset_lsb: float = 0.0
    # Measured INL (LSB) for every code from -2^(N-1) upward; replaces the mismatch model when given.
    # In YAML either inline or as `inl_table_csv: file.csv` (resolved by the loader).
    inl_table_lsb: tuple[float, ...] | None = None
    noise_v_per_sqrt_hz: float = Field(0.0, ge=0.0)
    jitter_rms_ps: float = Field(0.0, ge=0.0)
    oversampling: int = Field(1, ge=1, le=64)
    reconstruction_filter: ReconstructionFilter | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "DacSpec":
        if self.architecture == "binary" and self.unary_msbs != 0:
            raise ValueError("unary_msbs must be 0 for architecture 'binary' (use 'segmented')")
        if self.architecture == "segmented" and not 1 <= self.unary_msbs <= self.bits:
            raise ValueError(f"unary_msbs must be in 1..bits={self.bits} for 'segmented'")
        if self.architecture == "thermometer" and self.unary_msbs not in (0, self.bits):
            raise ValueError("unary_msbs is implied (= bits) for 'thermometer'; omit it")
        if self.inl_table_lsb is not None and len(self.inl_table_lsb) != 2**self.bits:
            raise ValueError(
                f"inl_table_lsb has {len(self.inl_table_lsb)} entries, expected 2^bits = {2**self.bits}"
            )
        return self

    @property
    def n_unary(self) -> int:
        """Number of thermometer-decoded MSBs."""
        return {"binary": 0, "thermometer": self.bits}.get(self.architecture, self.unary_msbs)

    @property
    def lsb_v(self) -> float:
        return self.full_scale_v / 2 ** (self.bits - 1)

    @property
    def code_min(self) -> int:
        return -(2 ** (self.bits - 1))

    @property
    def code_max(self) -> int:
        return 2 ** (self.bits - 1) - 1

    @property
    def dt_ns(self) -> float:
        return 1.0 / self.sample_rate_gsps


class PulseSpec(_Spec):
    """Single-qubit drive pulses. See DESIGN.md 'Pulse'."""

    shape: Literal["gaussian", "drag"] = "gaussian"
    duration_ns: PositiveFloat = 40.0
    sigma_ns: PositiveFloat = 10.0
    # scaled: stored high-resolution envelope x one N-bit amplitude code;
    # sampled: every envelope sample is itself an N-bit DAC code.
    amplitude_mode: Literal["scaled", "sampled"] = "scaled"
    # Where the ideal (continuous) pi amplitude lies as a fraction of DAC full scale. Physically the
    # drive-line attenuation; headroom below 1 leaves room for calibration. Sets the drive gain.
    pi_amplitude_fraction: float = Field(0.9, gt=0.0, le=1.0)
    # DRAG coefficient (dimensionless, Omega_Q = -beta * dOmega_I/dt / alpha); null = calibrate.
    drag_beta: float | None = None
    # Virtual-Z frame updates have 2^phase_bits phase steps over 2*pi.
    phase_bits: int = Field(16, ge=1, le=32)

    @model_validator(mode="after")
    def _consistent(self) -> "PulseSpec":
        if self.sigma_ns > self.duration_ns:
            raise ValueError("sigma_ns must not exceed duration_ns")
        return self


class QubitSpec(_Spec):
    """Identical fixed-frequency transmons, modelled as d-level Duffing oscillators in the drive frame."""

    count: int = Field(4, ge=1, le=16)
    levels: int = Field(3, ge=2, le=8)
    anharmonicity_ghz: float = -0.3
    detuning_ghz: float = 0.0
    t1_us: PositiveFloat | None = None
    t2_us: PositiveFloat | None = None
    # Depolarizing probability applied after each CZ (0 = ideal CZ on the computational subspace).
    cz_error: float = Field(0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _consistent(self) -> "QubitSpec":
        if self.anharmonicity_ghz == 0.0:
            raise ValueError("anharmonicity_ghz must be non-zero (a transmon is anharmonic)")
        if self.t2_us is not None and self.t1_us is not None and self.t2_us > 2 * self.t1_us:
            raise ValueError("t2_us must be <= 2 * t1_us")
        return self


class ReadoutSpec(_Spec):
    """Dispersive readout: assignment errors and shot count (null shots = exact expectations)."""

    p01: float = Field(0.0, ge=0.0, le=0.5, description="P(read 1 | state 0)")
    p10: float = Field(0.0, ge=0.0, le=0.5, description="P(read 0 | state 1)")
    shots: int | None = Field(None, ge=1)


class CostSpec(_Spec):
    """Power and area model parameters (DESIGN.md 'Power and area')."""

    temperature_k: PositiveFloat = 4.0
    # Dynamic power P = fom * 2^N * f_s, per channel (J per conversion step, given in fJ).
    fom_fj_per_step: PositiveFloat = 0.5
    static_power_mw: float = Field(0.5, ge=0.0)
    channels_per_qubit: int = Field(2, ge=1)
    stage_budget_w: PositiveFloat = 1.5
    # Pelgrom matching of a unit current source: (sigma_I/I)^2 = [A_beta^2 + (2 A_VT/V_ov)^2] / (W L)
    a_beta_pct_um: PositiveFloat = 1.0
    a_vt_mv_um: PositiveFloat = 2.5
    overdrive_v: PositiveFloat = 0.2
    # Total DAC area = area_overhead * (unit-source array area): decoders, switches, routing.
    area_overhead: float = Field(3.0, ge=1.0)


class HardwareProfile(_Spec):
    """A whole control stack: DAC, pulses, qubits, readout and cost parameters."""

    name: str = Field(min_length=1)
    description: str = ""
    dac: DacSpec
    pulse: PulseSpec = PulseSpec()
    qubits: QubitSpec = QubitSpec()
    readout: ReadoutSpec = ReadoutSpec()
    cost: CostSpec = CostSpec()
