"""Profile layer: YAML hardware profiles -> validated, immutable :class:`HardwareProfile`."""

from cryoctl.profile.hashing import canonical_json, content_hash, profile_hash
from cryoctl.profile.loader import (
    SHIPPED_DIR,
    apply_overrides,
    bits_overrides,
    deep_merge,
    load_profile,
    parse_override,
    resolve_profile_path,
    shipped_profiles,
    validate_profile,
)
from cryoctl.profile.models import (
    ChannelSpec,
    CostSpec,
    Coupling,
    DacSpec,
    FluxLineSpec,
    FluxPredistortion,
    FluxSpec,
    FluxTail,
    HardwareProfile,
    PulseSpec,
    QubitOverride,
    QubitSpec,
    ReadoutSpec,
    ReconstructionFilter,
    SfqCostSpec,
    SfqSpec,
    TransmonSpec,
    TunableTransmonSpec,
    profile_json_schema,
)

__all__ = [
    "SHIPPED_DIR", "ChannelSpec", "CostSpec", "Coupling", "QubitOverride", "TransmonSpec", "DacSpec", "HardwareProfile", "PulseSpec", "QubitSpec", "ReadoutSpec",
    "ReconstructionFilter", "apply_overrides", "bits_overrides", "canonical_json", "content_hash", "deep_merge",
    "load_profile", "parse_override", "profile_hash", "profile_json_schema", "resolve_profile_path", "shipped_profiles",
    "validate_profile",
    "FluxLineSpec", "FluxPredistortion", "FluxSpec", "FluxTail", "TunableTransmonSpec",
    "SfqCostSpec", "SfqSpec",
]
