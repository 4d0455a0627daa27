"""Load a profile: YAML (safe_load only) -> `extends:` deep merge -> `--set` overrides -> pydantic.

Every failure a user can cause becomes a :class:`CryoctlError` naming the file and field.
"""

from __future__ import annotations

import copy
import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cryoctl.errors import CryoctlError
from cryoctl.profile.models import HardwareProfile

#: Shipped profiles (repository top level, next to the package).
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "hw_profiles"


def shipped_profiles() -> list[Path]:
    """Paths of the shipped YAML profiles (files starting with '_' are bases, not listed)."""
    return sorted(p for p in SHIPPED_DIR.glob("*.yaml") if not p.name.startswith("_"))


def resolve_profile_path(ref: str | Path) -> Path:
    """A path to a YAML file, or the name of a shipped profile (``cryo_cmos_6bit``)."""
    p = Path(ref)
    if p.is_file():
        return p.resolve()
    for cand in (SHIPPED_DIR / f"{ref}.yaml", SHIPPED_DIR / str(ref)):
        if cand.is_file():
            return cand.resolve()
    names = ", ".join(q.stem for q in shipped_profiles())
    raise CryoctlError(f"no such file or shipped profile (shipped: {names})", field=str(ref))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CryoctlError(f"cannot read file ({exc.__class__.__name__}: {exc})", field=str(path)) from None
    try:
        doc = yaml.safe_load(text)  # safe_load: Python object tags are rejected, never constructed
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        loc = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CryoctlError(f"not valid YAML{loc}: {problem}", field=str(path)) from None
    if doc is None:
        raise CryoctlError("file is empty; expected a mapping with at least 'name' and 'dac'", field=str(path))
    if not isinstance(doc, dict):
        raise CryoctlError(f"expected a YAML mapping at top level, got {type(doc).__name__}", field=str(path))
    return doc


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive dict merge: mappings merge key by key, anything else in ``over`` replaces ``base``."""
    out = copy.deepcopy(dict(base))
    for key, val in over.items():
        if isinstance(val, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], val)
        else:
            out[key] = copy.deepcopy(val)
    return out


def _load_raw(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise CryoctlError(f"cyclic extends: {cycle}", field=f"{chain[-1]}: extends")
    doc = _read_yaml(path)
    parent = doc.pop("extends", None)
    _resolve_inl_csv(doc, path)
    if parent is None:
        return doc
    if not isinstance(parent, str) or not parent:
        raise CryoctlError("expected a file name (string) of the parent profile", field=f"{path}: extends")
    ppath = (path.parent / parent).resolve()
    if not ppath.is_file():
        raise CryoctlError(f"parent profile {parent!r} not found next to this file", field=f"{path}: extends")
    return deep_merge(_load_raw(ppath, (*chain, path)), doc)


def _resolve_inl_csv(doc: dict[str, Any], path: Path) -> None:
    """Replace ``dac.inl_table_csv`` (path relative to the YAML file) by ``dac.inl_table_lsb``.

    The CSV holds one INL value (LSB) per code, lowest code first; a second column, if present, is
    taken as the INL and the first as the code.
    """
    dac = doc.get("dac")
    if not isinstance(dac, dict) or "inl_table_csv" not in dac:
        return
    ref = dac.pop("inl_table_csv")
    field = f"{path}: dac.inl_table_csv"
    if not isinstance(ref, str):
        raise CryoctlError("expected a CSV file name", field=field)
    csv_path = (path.parent / ref).resolve()
    try:
        with csv_path.open(newline="") as fh:
            rows = [r for r in csv.reader(fh) if r and not r[0].lstrip().startswith("#")]
    except OSError as exc:
        raise CryoctlError(f"cannot read INL table ({exc.strerror})", field=field) from None
    values = []
    for i, row in enumerate(rows):
        try:
            values.append(float(row[-1]))
        except ValueError:
            if i == 0:  # header line
                continue
            raise CryoctlError(f"row {i + 1}: expected a number, got {row[-1]!r}", field=field) from None
    dac["inl_table_lsb"] = values


def parse_override(item: str) -> tuple[list[str], Any]:
    """``dac.bits=6`` -> (['dac', 'bits'], 6). The value is parsed as YAML (numbers, null, lists)."""
    if not isinstance(item, str) or "=" not in item:
        raise CryoctlError(f"malformed override {item!r}: expected key.path=value", field="--set")
    key, _, raw = item.partition("=")
    parts = key.strip().split(".")
    if not all(p.strip() for p in parts):
        raise CryoctlError(f"malformed override {item!r}: empty key in {key!r}", field="--set")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        raise CryoctlError(f"malformed override {item!r}: value is not valid YAML", field="--set") from None
    if raw.strip() == "":
        raise CryoctlError(f"malformed override {item!r}: missing value after '='", field="--set")
    return [p.strip() for p in parts], value


def apply_overrides(doc: Mapping[str, Any], overrides: Iterable[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """Apply dotted overrides (``["dac.bits=6"]`` or ``{"dac.bits": 6}``) to a raw profile document."""
    out = copy.deepcopy(dict(doc))
    if not overrides:
        return out
    items = (
        [(k.split("."), v) for k, v in overrides.items()]
        if isinstance(overrides, Mapping)
        else [parse_override(s) for s in overrides]
    )
    for parts, value in items:
        node = out
        for i, p in enumerate(parts[:-1]):
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):
                raise CryoctlError(f"{'.'.join(parts[: i + 1])} is not a section", field="--set")
            node = nxt
        node[parts[-1]] = value
    return out


def validate_profile(doc: Mapping[str, Any], source: str = "<profile>") -> HardwareProfile:
    """Validate a raw document into a :class:`HardwareProfile`; errors name ``source: field.path``."""
    try:
        return HardwareProfile.model_validate(dict(doc))
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (not part of the profile schema)"
            elif err["type"] == "missing":
                msg = "required field is missing"
            lines.append(f"{loc}: {msg}" + (f" (got {err['input']!r})" if err["type"] != "missing" and not isinstance(err.get("input"), dict) else ""))
        first = exc.errors()[0]["loc"]
        raise CryoctlError(
            "invalid profile:\n  " + "\n  ".join(lines),
            field=f"{source}: {'.'.join(str(x) for x in first)}",
        ) from None


def load_profile(
    ref: str | Path, overrides: Iterable[str] | Mapping[str, Any] | None = None
) -> HardwareProfile:
    """Load a profile by path or shipped name, with ``extends`` and dotted overrides applied."""
    path = resolve_profile_path(ref)
    doc = apply_overrides(_load_raw(path), overrides)
    return validate_profile(doc, source=str(path.name))
