"""Load a profile: YAML (safe_load only) -> `extends:` deep merge -> `--set` overrides -> pydantic.

Every failure a user can cause becomes a :class:`CryoctlError` naming the file and field.
"""

from __future__ import annotations

import copy
import csv
import reprlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cryoctl.errors import CryoctlError
from cryoctl.profile.models import HardwareProfile
from cryoctl.profile.yamlio import load_yaml

#: Shipped profiles (repository top level, next to the package).
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "hw_profiles"


def shipped_profiles() -> list[Path]:
    """Paths of the shipped YAML profiles (files starting with '_' are bases, not listed)."""
    return sorted(p for p in SHIPPED_DIR.glob("*.yaml") if not p.name.startswith("_"))


def resolve_profile_path(ref: str | Path) -> Path:
    """A path to a YAML file, or the name of a shipped profile (``cryo_cmos_6bit``)."""
    if not isinstance(ref, (str, Path)) or str(ref).strip() == "":
        raise CryoctlError(f"expected a profile file path or shipped profile name, got {ref!r}", field="profile")
    for cand in (Path(ref), SHIPPED_DIR / f"{ref}.yaml", SHIPPED_DIR / str(ref)):
        if _is_file(cand):
            return cand.resolve()
    names = ", ".join(q.stem for q in shipped_profiles())
    raise CryoctlError(f"no such file or shipped profile (shipped: {names})", field=str(ref))


def _is_file(p: Path) -> bool:
    # Path.is_file raises on names the OS refuses (too long, NUL byte); for us those just don't exist.
    try:
        return p.is_file()
    except (OSError, ValueError):
        return False


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CryoctlError(f"cannot read file as UTF-8 text ({exc.__class__.__name__})", field=str(path)) from None
    try:
        doc = load_yaml(text, str(path))  # safe loader: Python object tags are rejected, never constructed
    except yaml.constructor.ConstructorError as exc:
        where = exc.problem_mark
        loc = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = exc.problem or "cannot construct value"
        hint = (
            "; Python object tags (!!python/...) are never executed, profiles take plain YAML only"
            if "python/" in problem
            else ""
        )
        raise CryoctlError(f"not a plain YAML profile{loc}: {problem}{hint}", field=str(path)) from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        loc = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CryoctlError(f"not valid YAML{loc}: {problem}", field=str(path)) from None
    except RecursionError:
        raise CryoctlError("not a usable YAML profile: nesting is too deep", field=str(path)) from None
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
    if not isinstance(parent, str) or not parent.strip():
        raise CryoctlError(
            f"expected a file name (string) of the parent profile, got {reprlib.repr(parent)}", field=f"{path}: extends"
        )
    ppath = _parent_path(path, parent)
    return deep_merge(_load_raw(ppath, (*chain, path)), doc)


def _parent_path(path: Path, parent: str) -> Path:
    """``extends: x.yaml`` is looked up next to the extending file first, then among the shipped profiles
    (so a user's profile anywhere can extend ``cryo_cmos_6bit`` or ``_cryo_cmos_base.yaml``)."""
    for cand in (path.parent / parent, SHIPPED_DIR / parent, SHIPPED_DIR / f"{parent}.yaml"):
        if _is_file(cand):
            return cand.resolve()
    raise CryoctlError(
        f"parent profile {parent!r} not found next to this file nor among the shipped profiles", field=f"{path}: extends"
    )


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
    if not isinstance(ref, str) or not ref.strip():
        raise CryoctlError(f"expected a CSV file name, got {reprlib.repr(ref)}", field=field)
    if "inl_table_lsb" in dac:
        raise CryoctlError("give either inl_table_csv or inl_table_lsb, not both", field=field)
    try:
        with (path.parent / ref).resolve().open(newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.reader(fh) if r and not r[0].lstrip().startswith("#")]
    except (OSError, ValueError, csv.Error) as exc:  # ValueError: UnicodeDecodeError, NUL in the name
        raise CryoctlError(f"cannot read INL table {ref!r} ({exc.__class__.__name__})", field=field) from None
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
        raise CryoctlError(f"malformed override {reprlib.repr(item)}: expected key.path=value", field="--set")
    key, _, raw = item.partition("=")
    parts = _key_parts(key, item)
    if raw.strip() == "":
        raise CryoctlError(f"malformed override {item!r}: missing value after '='", field=f"--set {key.strip()}")
    try:
        value = load_yaml(raw)
    except (yaml.YAMLError, RecursionError):
        raise CryoctlError(
            f"malformed override {item!r}: value {raw!r} is not a plain YAML value (number, string, null, list)",
            field=f"--set {key.strip()}",
        ) from None
    return parts, value


def _key_parts(key: Any, item: Any) -> list[str]:
    if not isinstance(key, str):
        raise CryoctlError(f"malformed override {reprlib.repr(item)}: key must be a string", field="--set")
    parts = [p.strip() for p in key.split(".")]
    if not all(parts):
        raise CryoctlError(f"malformed override {item!r}: empty key part in {key!r}", field="--set")
    return parts


def apply_overrides(doc: Mapping[str, Any], overrides: Iterable[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """Apply dotted overrides (``["dac.bits=6"]`` or ``{"dac.bits": 6}``) to a raw profile document."""
    out = copy.deepcopy(dict(doc))
    if not overrides:
        return out
    if isinstance(overrides, str):  # a lone "dac.bits=6" would otherwise be iterated character by character
        overrides = [overrides]
    if isinstance(overrides, Mapping):
        items = [(_key_parts(k, f"{k}={v!r}"), v) for k, v in overrides.items()]
    elif isinstance(overrides, Iterable):
        items = [parse_override(s) for s in overrides]
    else:
        raise CryoctlError(
            f"expected a list of 'key.path=value' strings or a mapping, got {type(overrides).__name__}", field="--set"
        )
    for parts, value in items:
        node = out
        for i, p in enumerate(parts[:-1]):
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):
                where = ".".join(parts[: i + 1])
                raise CryoctlError(
                    f"cannot set {'.'.join(parts)}: {where} is a value ({reprlib.repr(nxt)}), not a section",
                    field=f"--set {where}",
                )
            node = nxt
        node[parts[-1]] = value
    return out


def bits_overrides(profile: HardwareProfile, bits: int) -> list[str]:
    """Overrides that give ``profile`` an N-bit DAC of the same architecture (a resolution what-if).

    A segmented DAC keeps its unary share: unary_msbs' = clip(round(U * N / N0), 1, N), so a 6-bit DAC
    with 3 unary MSBs becomes a 2-bit one with 1 and a 10-bit one with 5. Binary and thermometer
    DACs need only ``dac.bits``.
    """
    out = [f"dac.bits={int(bits)}"]
    dac = profile.dac
    if dac.architecture == "segmented":
        unary = min(int(bits), max(1, round(dac.unary_msbs * int(bits) / dac.bits)))
        out.append(f"dac.unary_msbs={unary}")
    return out


def validate_profile(doc: Mapping[str, Any], source: str = "<profile>") -> HardwareProfile:
    """Validate a raw document into a :class:`HardwareProfile`; errors name ``source: field.path``."""
    if not isinstance(doc, Mapping):
        raise CryoctlError(
            f"expected a mapping (sections dac, pulse, qubits, readout, cost), got {type(doc).__name__}",
            field=f"{source}: (top level)",
        )
    try:
        return HardwareProfile.model_validate(dict(doc))
    except ValidationError as exc:
        errors = exc.errors()
        lines = []
        for err in errors:
            loc = _loc(err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (not part of the profile schema)"
                close = _close_keys(err["loc"])
                if close:
                    msg += f"; did you mean {' or '.join(close)}?"
            elif err["type"] == "missing":
                msg = "required field is missing"
            got = err["type"] not in ("missing", "extra_forbidden") and not isinstance(err.get("input"), Mapping)
            shown = _short(err.get("input"))
            lines.append((loc, msg + (f" (got {shown})" if got and "got " not in msg else "")))
        if len(lines) == 1:  # one problem: one line, "file: field: what was expected"
            raise CryoctlError(lines[0][1], field=f"{source}: {lines[0][0]}") from None
        raise CryoctlError(f"{len(lines)} problems:\n  " + "\n  ".join(f"{loc}: {m}" for loc, m in lines),
                           field=source) from None
    except RecursionError:
        raise CryoctlError("profile nests too deeply (self-referencing YAML alias?)", field=source) from None


def _close_keys(loc: tuple[Any, ...]) -> list[str]:
    """Schema keys of the section an unknown key sits in that look like it (typo suggestions)."""
    import difflib

    model: Any = HardwareProfile
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        model = getattr(field, "annotation", None) if field else None
        if model is None or not hasattr(model, "model_fields"):
            return []
    return difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=2, cutoff=0.6)


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(x) for x in loc) or "(top level)"


_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict = 60, 60, 6, 4


def _short(value: Any) -> str:
    """Bounded repr: error messages must stay readable for 65536-entry INL tables and alias bombs."""
    return _REPR.repr(value)


def load_profile(
    ref: str | Path, overrides: Iterable[str] | Mapping[str, Any] | None = None
) -> HardwareProfile:
    """Load a profile by path or shipped name, with ``extends`` and dotted overrides applied."""
    path = resolve_profile_path(ref)
    doc = apply_overrides(_load_raw(path), overrides)
    # name the overrides too: a bad --set must not read as a fault of the YAML file
    if isinstance(overrides, Mapping):
        sets = ", ".join(f"{k}={v}" for k, v in overrides.items())
    else:
        sets = ", ".join(overrides or [])
    return validate_profile(doc, source=path.name + (f" with --set {sets}" if sets else ""))
