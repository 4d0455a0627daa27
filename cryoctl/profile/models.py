"""Hardware profile: the declarative description of one control stack (pydantic v2, immutable).

Units live in the key names (DESIGN.md): ns, GHz, V, us, K. A profile is frozen once validated; its
:func:`~cryoctl.profile.hashing.profile_hash` keys every cache and study result derived from it.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationInfo, field_validator, model_validator

from cryoctl.errors import CryoctlError
from cryoctl.profile.codes import SignedCodes


def _numeric(annotation: Any) -> bool:
    """True if a field annotation accepts numbers but no strings or booleans (int, float, Optional[...],
    Annotated[...], tuple[float, ...])."""
    if annotation in (int, float):
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _numeric(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return bool(args) and all(_numeric(a) for a in args)
    if origin is tuple:
        return all(_numeric(a) for a in typing.get_args(annotation) if a is not Ellipsis)
    return False


class _Spec(BaseModel):
    # Unknown keys are errors (a typo must not silently fall back to a default); frozen so that a
    # profile cannot drift away from its hash. NaN/inf are refused: no physical parameter is either,
    # and a NaN would also make two equal profiles hash differently from what they mean.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # Lax mode would read `bits: true` as 1 and `bits: "6"` as 6; in a hardware description both
        # are almost certainly mistakes, so numeric fields take YAML numbers only.
        field = cls.model_fields.get(info.field_name or "")
        if field is None or not _numeric(field.annotation):
            return value
        items = value if isinstance(value, (list, tuple)) and typing.get_origin(field.annotation) is not None else [value]
        for v in items:
            if isinstance(v, bool):
                raise ValueError(f"expected a number, got the boolean {v!r}")
            if isinstance(v, (str, bytes)):
                raise ValueError(f"expected a number, got the string {v!r}")
        return value


class ReconstructionFilter(_Spec):
    """Analog low-pass after the zero-order hold (scipy.signal analog prototype, applied on the
    oversampled grid)."""

    kind: Literal["bessel", "butterworth"] = "bessel"
    order: int = Field(4, ge=1, le=12)
    cutoff_ghz: PositiveFloat


class DacSpec(SignedCodes, _Spec):
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
    # Residual DC offset at the output after LO-leakage trim, in volts (an analog property: it does not
    # scale with the LSB when a what-if changes the number of bits).
    offset_v: float = 0.0
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


class TransmonSpec(_Spec):
    """One transmon's resolved parameters (``profile.transmon(q)``): the ``qubits:`` defaults with that
    qubit's ``per_qubit`` overrides applied. A d-level Duffing oscillator in the drive frame."""

    levels: int = Field(3, ge=2, le=8)
    anharmonicity_ghz: float = -0.3
    detuning_ghz: float = 0.0  # qubit frequency minus drive frequency
    t1_us: PositiveFloat | None = None
    t2_us: PositiveFloat | None = None

    @model_validator(mode="after")
    def _physical(self) -> "TransmonSpec":
        if self.anharmonicity_ghz == 0.0:
            raise ValueError("anharmonicity_ghz must be non-zero (a transmon is anharmonic)")
        if self.t2_us is not None and self.t1_us is not None and self.t2_us > 2 * self.t1_us:
            raise ValueError("t2_us must be <= 2 * t1_us")
        return self


class QubitOverride(_Spec):
    """Per-qubit departures from the ``qubits:`` defaults (fabrication spread: each transmon has its own
    anharmonicity, frequency and coherence). Only the keys given are overridden."""

    index: int = Field(ge=0)
    anharmonicity_ghz: float | None = None
    detuning_ghz: float | None = None
    t1_us: PositiveFloat | None = None
    t2_us: PositiveFloat | None = None


class QubitSpec(_Spec):
    """The register: ``count`` transmons with ``levels`` levels each (one d for the whole register), default
    parameters for every qubit, and optional ``per_qubit`` overrides (see :meth:`HardwareProfile.transmon`)."""

    count: int = Field(4, ge=1, le=16)
    levels: int = Field(3, ge=2, le=8)
    anharmonicity_ghz: float = -0.3
    detuning_ghz: float = 0.0  # qubit frequency minus drive frequency
    t1_us: PositiveFloat | None = None
    t2_us: PositiveFloat | None = None
    # Depolarizing probability applied after each CZ (0 = ideal CZ on the computational subspace).
    cz_error: float = Field(0.0, ge=0.0, le=1.0)
    per_qubit: tuple[QubitOverride, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> "QubitSpec":
        if self.anharmonicity_ghz == 0.0:
            raise ValueError("anharmonicity_ghz must be non-zero (a transmon is anharmonic)")
        if self.t2_us is not None and self.t1_us is not None and self.t2_us > 2 * self.t1_us:
            raise ValueError("t2_us must be <= 2 * t1_us")
        seen = set()
        for o in self.per_qubit:
            if o.index >= self.count:
                raise ValueError(f"per_qubit index {o.index} out of range [0, {self.count - 1}] (count={self.count})")
            if o.index in seen:
                raise ValueError(f"per_qubit index {o.index} given twice")
            seen.add(o.index)
            self.transmon(o.index)  # each resolved qubit must be physical too
        return self

    def transmon(self, qubit: int) -> TransmonSpec:
        """Resolved parameters of ``qubit`` (defaults, then its override)."""
        base = {k: getattr(self, k) for k in TransmonSpec.model_fields}
        for o in self.per_qubit:
            if o.index == qubit:
                base.update({k: v for k, v in o.model_dump(exclude={"index"}).items() if v is not None})
        return TransmonSpec(**base)


class Coupling(_Spec):
    """Exchange coupling J (b_a' b_b + b_a b_b') between two qubits; ``j_mhz`` is J / 2 pi in MHz."""

    qubits: tuple[int, int]
    j_mhz: PositiveFloat

    @model_validator(mode="after")
    def _distinct(self) -> "Coupling":
        a, b = self.qubits
        if a == b or a < 0 or b < 0:
            raise ValueError(f"expected two different qubit indices >= 0, got {list(self.qubits)}")
        return self


@dataclass(frozen=True)
class ChannelSpec:
    """One control channel of the controller: its ``role`` (conventions.CHANNEL_ROLES), the qubit it drives,
    its converter ``index`` on the chip (the DAC mismatch seed stream) and the converter spec."""

    role: str
    qubit: int
    index: int
    dac: "DacSpec"


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
    couplings: tuple[Coupling, ...] = ()
    # flux DAC, tunable transmons and flux line; omitted from dumps (and the hash) while unused
    flux: "FluxSpec | None" = Field(None, exclude_if=lambda v: v is None)
    # SFQ pulse-generator control (bitstreams instead of DAC codes); omitted from dumps while unused
    sfq: "SfqSpec | None" = Field(None, exclude_if=lambda v: v is None)

    @model_validator(mode="after")
    def _couplings_in_register(self) -> "HardwareProfile":
        pairs = set()
        for c in self.couplings:
            if max(c.qubits) >= self.qubits.count:
                raise ValueError(f"coupling {list(c.qubits)} names a qubit outside [0, {self.qubits.count - 1}]")
            key = tuple(sorted(c.qubits))
            if key in pairs:
                raise ValueError(f"coupling {list(key)} given twice")
            pairs.add(key)
        return self

    def transmon(self, qubit: int) -> TransmonSpec:
        """Qubit ``qubit``'s resolved transmon parameters (``qubits`` defaults + ``qubits.per_qubit``)."""
        if isinstance(qubit, bool) or not isinstance(qubit, (int, np.integer)) or not 0 <= qubit < self.qubits.count:
            raise CryoctlError(f"qubit {qubit!r} out of range [0, {self.qubits.count - 1}]", field="qubit")
        return self.qubits.transmon(int(qubit))

    def channels(self) -> tuple[ChannelSpec, ...]:
        """Every control channel, qubit by qubit: qubit q's I DAC is converter 2q, its Q DAC 2q + 1."""
        return tuple(
            ChannelSpec(role, q, 2 * q + k, self.dac)
            for q in range(self.qubits.count)
            for k, role in enumerate(("xy_i", "xy_q"))
        )

    def coupling_ghz(self, a: int, b: int) -> float:
        """J / 2 pi in GHz of the pair (a, b) (0 when not coupled)."""
        for c in self.couplings:
            if set(c.qubits) == {a, b}:
                return c.j_mhz * 1e-3
        return 0.0


def profile_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a profile *file*, for editors and external validators.

    It is :meth:`HardwareProfile.model_json_schema` plus the two keys that only exist in YAML files and
    are resolved by the loader: top-level ``extends`` (parent file) and ``dac.inl_table_csv`` (INL
    table file). Base files (``_*.yaml``) are partial documents and are not expected to validate alone.
    """
    schema = HardwareProfile.model_json_schema(mode="validation")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    schema["properties"]["extends"] = {
        "type": "string",
        "title": "Extends",
        "description": "Parent profile file (relative to this file, or a shipped profile name); "
        "this document is deep-merged over it.",
    }
    schema["$defs"]["DacSpec"]["properties"]["inl_table_csv"] = {
        "type": "string",
        "title": "Inl Table Csv",
        "description": "CSV file (relative to the YAML file) with one INL value in LSB per code, lowest "
        "code first; read into inl_table_lsb by the loader.",
    }
    return schema


# --- flux line and tunable transmons (DESIGN.md 'Flux line and two-qubit gates') -----------------------------


class TunableTransmonSpec(_Spec):
    """One SQUID-tunable transmon (asymmetry d, flux Phi in units of Phi_0):

        f_01(Phi) = (f_max - alpha) [cos^2(pi Phi) + d^2 sin^2(pi Phi)]^(1/4) + alpha,

    alpha = that qubit's ``anharmonicity_ghz`` (``profile.transmon(index)``). d = 1 is a fixed-frequency
    transmon (f_01 = f_max for every flux). ``idle_flux_phi0`` is the DC bias at which the qubit parks
    (0 = upper sweet spot)."""

    index: int = Field(ge=0)
    f_max_ghz: PositiveFloat
    asymmetry: float = Field(0.0, ge=0.0, le=1.0)
    idle_flux_phi0: float = Field(0.0, ge=-0.5, le=0.5)


class FluxTail(_Spec):
    """An exponential settling tail of the flux line: step response 1 + amplitude * exp(-t / tau_ns)."""

    amplitude: float = Field(gt=-0.5, lt=0.5)
    tau_ns: PositiveFloat


class FluxLineSpec(_Spec):
    """Transfer function from the flux DAC to the SQUID: bias tee (high-pass, time constant
    ``bias_tee_tau_ns``, null = DC-coupled), exponential settling ``tails`` and a first-order
    ``bandwidth_ghz`` (-3 dB; null = unlimited). See :mod:`cryoctl.pulse.flux`."""

    bias_tee_tau_ns: PositiveFloat | None = None
    tails: tuple[FluxTail, ...] = ()
    bandwidth_ghz: PositiveFloat | None = None


class FluxPredistortion(_Spec):
    """Digital inverse filters applied to the flux codes before the DAC (inverse IIR of every tail and,
    if ``bias_tee``, of the bias tee), with coefficients rounded to ``coefficient_bits`` fractional bits."""

    coefficient_bits: int = Field(16, ge=2, le=40)
    bias_tee: bool = True


class FluxSpec(_Spec):
    """Flux control: the flux DAC (its own converter, bits, mismatch, noise), the full-scale flux it
    reaches (``full_scale_v`` -> ``full_scale_phi0``), the tunable transmons, the flux line and optional
    predistortion, and the CZ pulse shape (``cz_shape``, cosine ``rise_ns``, ``buffer_ns`` of idle
    after the pulse inside the gate slot)."""

    dac: DacSpec
    full_scale_phi0: PositiveFloat = 0.25
    qubits: tuple[TunableTransmonSpec, ...] = ()
    line: FluxLineSpec = FluxLineSpec()
    predistortion: FluxPredistortion | None = None
    cz_shape: Literal["unipolar", "net_zero"] = "unipolar"
    rise_ns: float = Field(5.0, ge=0.0)
    buffer_ns: float = Field(2.0, ge=0.0)

    @model_validator(mode="after")
    def _distinct_qubits(self) -> "FluxSpec":
        seen = [q.index for q in self.qubits]
        if len(set(seen)) != len(seen):
            raise ValueError(f"flux.qubits lists a qubit index twice: {seen}")
        return self

    def tunable(self, qubit: int) -> TunableTransmonSpec:
        """The flux parameters of ``qubit`` (CryoctlError(field='flux.qubits') when it has none)."""
        for q in self.qubits:
            if q.index == qubit:
                return q
        raise CryoctlError(
            f"qubit {qubit} has no entry in flux.qubits (indices given: {[q.index for q in self.qubits]})",
            field="flux.qubits",
        )


# --- SFQ control (DESIGN.md 'SFQ control') ----------------------------------------------------------------------

#: Magnetic flux quantum h / 2e (Wb), exact in the 2019 SI.
PHI0_WB = 2.067833848e-15
#: Reduced Planck constant (J s), exact in the 2019 SI.
HBAR_JS = 1.054571817e-34


class SfqCostSpec(_Spec):
    """Power model of one qubit's SFQ driver at the 4 K stage (:mod:`cryoctl.cost.sfq`).

    - ``family``: ``rsfq`` biases every junction from a DC supply through a resistor (static power
      I_b V_b per junction); ``ersfq`` feeds the bias through current-limiting junctions and inductors,
      so its static power is zero (Mukhanov, IEEE TAS 21, 760 (2011)).
    - ``junctions_per_driver``: junctions of one qubit's driver (bitstream memory, clock distribution,
      pulse generator and coupling stage). Assumption: ~1000 for a few-hundred-bit shift-register
      memory (order of magnitude of the drivers discussed by McDermott et al., Quantum Sci. Technol. 3,
      024004 (2018)).
    - ``bias_current_ua``, ``bias_voltage_mv``: RSFQ bias per junction (I_b ~ 0.7 I_c ~ 100 uA) and
      supply voltage (~2.5 mV): ~0.25 uW per junction, the static figure of Holmes, Ripple and
      Manheimer, IEEE TAS 23, 1701610 (2013) and Mukhanov (2011).
    - ``critical_current_ua``: switching energy E_sw = I_c Phi_0 (2e-19 J at 100 uA; Holmes et al. 2013).
    - ``switching_per_tick``: junctions switching per clock tick on average (clock tree + memory
      read-out + output stage). Assumption.
    - ``ersfq_dynamic_factor``: ERSFQ's feeding junctions switch with the logic, roughly doubling the
      dynamic energy (mechanism: Mukhanov 2011; the factor 2 is an assumption).
    """

    family: Literal["rsfq", "ersfq"] = "ersfq"
    junctions_per_driver: int = Field(1000, ge=1)
    bias_current_ua: float = Field(100.0, ge=0.0)
    bias_voltage_mv: float = Field(2.5, ge=0.0)
    critical_current_ua: PositiveFloat = 100.0
    switching_per_tick: float = Field(50.0, ge=0.0)
    ersfq_dynamic_factor: float = Field(2.0, ge=1.0)


class SfqSpec(_Spec):
    """Single-flux-quantum control (DESIGN.md 'SFQ control'): a clocked pulse generator per qubit whose
    control word is a bitstream (which clock ticks carry a pulse), replayed from a memory.

    - ``clock_ghz``: the SFQ clock f_clk; one bit per tick, tick period T_clk = 1 / f_clk.
    - ``clock_per_qubit``: f_clk / f_01 for a qubit with ``detuning_ghz = 0``; qubit q's frequency is
      f_01 = clock_ghz / clock_per_qubit + detuning_ghz (its ``profile.transmon(q)`` detuning: here the
      departure from the clock subharmonic). An integer ratio makes resonant trains exact y rotations.
    - ``tip_angle_rad`` or (``coupling_capacitance_af``, ``qubit_capacitance_ff``): the rotation of one
      pulse (exactly one of the two forms). From the capacitances (McDermott & Vavilov, Phys. Rev.
      Applied 2, 014007 (2014), Eq. for the tip angle):

          dtheta = C_c Phi_0 sqrt(2 omega_01 / (hbar C_q)),

      i.e. the pulse (area Phi_0) injects the charge C_c Phi_0 through C_c, a kick
      exp[-i (C_c Phi_0 / hbar C_q) Q] with Q = i Q_zpf (b' - b), Q_zpf = sqrt(hbar omega_01 C_q / 2).
    - ``pulse_width_ps``: FWHM of the Gaussian pulse (the finite-width check of :mod:`cryoctl.physics.sfq`).
    - ``jitter_rms_ps``: rms timing jitter of each pulse (independent per pulse).
    - ``memory_bits``: bitstream memory length in clock ticks (the longest bitstream a gate may use).
    - ``table``: the SFQ gate table's codes, ``resonant`` (code k = k resonant pulses, the SFQ angle
      quantizer) or ``compiled`` (code c = rotation by c 2 pi / 2^code_bits from two fixed optimized
      Y(pi/2) bitstreams and virtual Z); ``code_bits``: width of the compiled table's code (the resonant
      table's width follows from pi / dtheta).
    """

    clock_ghz: PositiveFloat = 20.0
    clock_per_qubit: float = Field(4.0, ge=2.0, le=64.0)
    tip_angle_rad: float | None = Field(None, gt=0.0, lt=1.0)
    coupling_capacitance_af: PositiveFloat | None = None
    qubit_capacitance_ff: PositiveFloat | None = None
    pulse_width_ps: PositiveFloat = 2.0
    jitter_rms_ps: float = Field(0.0, ge=0.0, le=50.0)
    memory_bits: int = Field(512, ge=8, le=1 << 20)
    table: Literal["resonant", "compiled"] = "resonant"
    code_bits: int = Field(8, ge=2, le=16)
    cost: SfqCostSpec = SfqCostSpec()

    @model_validator(mode="after")
    def _one_tip_angle(self) -> "SfqSpec":
        caps = (self.coupling_capacitance_af, self.qubit_capacitance_ff)
        if self.tip_angle_rad is None and None in caps:
            raise ValueError("give tip_angle_rad, or both coupling_capacitance_af and qubit_capacitance_ff")
        if self.tip_angle_rad is not None and caps != (None, None):
            raise ValueError("give tip_angle_rad or the capacitances, not both")
        if self.pulse_width_ps * 1e-3 * self.clock_ghz >= 0.5:
            raise ValueError(f"pulse_width_ps={self.pulse_width_ps} is not short against the clock period "
                             f"{1e3 / self.clock_ghz:g} ps (need FWHM < half a tick)")
        return self

    @property
    def clock_period_ns(self) -> float:
        return 1.0 / self.clock_ghz

    def qubit_ghz(self, detuning_ghz: float = 0.0) -> float:
        """f_01 of a qubit departing ``detuning_ghz`` from the clock subharmonic clock_ghz / clock_per_qubit."""
        return self.clock_ghz / self.clock_per_qubit + detuning_ghz

    def tip_angle(self, qubit_ghz: float | None = None) -> float:
        """Rotation of one pulse (rad): ``tip_angle_rad``, or C_c Phi_0 sqrt(2 omega_01 / (hbar C_q))."""
        if self.tip_angle_rad is not None:
            return float(self.tip_angle_rad)
        f = self.qubit_ghz() if qubit_ghz is None else qubit_ghz
        omega = 2 * np.pi * f * 1e9
        c_c, c_q = self.coupling_capacitance_af * 1e-18, self.qubit_capacitance_ff * 1e-15
        return float(c_c * PHI0_WB * np.sqrt(2 * omega / (HBAR_JS * c_q)))


# every forward reference of HardwareProfile (FluxSpec, SfqSpec) is defined above
HardwareProfile.model_rebuild()
