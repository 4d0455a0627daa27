"""Stable content hash of a fully resolved profile (or any JSON-able spec)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel


def canonical_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, floats by repr -> identical bytes for equal content."""
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def content_hash(obj: Any, length: int = 16) -> str:
    """sha256 of :func:`canonical_json`, hex, truncated to ``length`` characters."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:length]


def profile_hash(profile: BaseModel) -> str:
    """The profile's identity for caches and result stores (name and description excluded: cosmetic)."""
    data = profile.model_dump(mode="json")
    data.pop("name", None)
    data.pop("description", None)
    # sections added later hash only when used, so that existing profiles keep their identity (and
    # existing study stores their keys)
    if not data.get("couplings"):
        data.pop("couplings", None)
    if not data.get("qubits", {}).get("per_qubit"):
        data.get("qubits", {}).pop("per_qubit", None)
    return content_hash(data)
