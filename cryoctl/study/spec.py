"""Study specs: profiles x grid x seeds x tasks, expanded into content-addressed points.

A spec is YAML::

    name: default
    profiles: [cryo_cmos_6bit, rfsoc_14bit]     # shipped names, or paths relative to the spec file
    set: {readout.shots: null}                  # optional: fixed overrides applied to every profile
    grid:                                       # cartesian product of the value lists
      dac.bits: "2..8"                          # "a..b" inclusive integer range ("a..b..step" too)
      dac.unit_mismatch_sigma: [0.0, 0.02]      # a list of alternatives (a scalar = one value)
      "dac.architecture,dac.unary_msbs": [[binary, 0], [thermometer, 0]]   # zipped keys
    seeds: [0, 1]
    tasks:
      - {kind: cost}
      - {kind: gates, engine: fast}
    parts: [more_points.yaml]                   # optional: further specs run into the same store

A study whose points cannot be one cartesian product (expensive tasks at a subset of the grid) is one
spec per product, chained by ``parts`` (paths relative to the spec file): ``cryoctl study run``,
``study status`` and ``report --spec`` take the spec and all its parts, depth first, each file once.

A *point* is one (profile, grid combination, task, seed). Its key is the content hash of everything
that determines its result: the resolved profile's :func:`~cryoctl.profile.profile_hash` (name and
description excluded), the task spec with defaults filled in, the seed (dropped for tasks that draw
nothing at random), and a code-version string. Equal inputs -> equal key, so re-running a study finds
finished points, and two profiles that resolve to the same hardware (``cryo_cmos_4bit`` with
``dac.bits: 6`` is ``cryo_cmos_6bit``) are computed once, stored under the first name listed.
"""

from __future__ import annotations

import itertools
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import cryoctl
from cryoctl.errors import CryoctlError
from cryoctl.profile import HardwareProfile, content_hash, load_profile, profile_hash, resolve_profile_path
from cryoctl.profile.ranges import int_range
from cryoctl.profile.yamlio import load_yaml
from cryoctl.study.tasks import get_task, validate_task


class StudySpec(BaseModel):
    """A validated study spec (see the module docstring for the YAML form)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    profiles: list[str] = Field(min_length=1)
    set: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, Any] = Field(default_factory=dict)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    tasks: list[dict[str, Any]] = Field(min_length=1)
    #: Further spec files (relative to this one) run into the same store after this spec's points.
    parts: list[str] = Field(default_factory=list)
    #: Directory that relative profile paths are resolved against (the spec file's directory).
    base_dir: str = "."
    #: Where the spec came from (the file), used to name fields in error messages.
    source: str = "<study>"

    @field_validator("seeds")
    @classmethod
    def _seeds_non_negative(cls, v: list[int]) -> list[int]:
        if any(s < 0 for s in v):
            raise ValueError("seeds must be >= 0")
        if len(set(v)) != len(v):
            raise ValueError("seeds must be distinct")
        return v


@dataclass(frozen=True)
class Point:
    """One unit of work: a resolved profile, a task and a seed."""

    key: str
    study: str
    profile_name: str
    overrides: dict[str, Any]
    task: dict[str, Any]
    seed: int | None
    profile: HardwareProfile | None = None
    #: Why the profile could not be built for this grid combination (the point is stored as an error).
    profile_error: str | None = None
    profile_hash: str | None = None
    code_version: str = ""
    #: The task as the worker runs it (files resolved to absolute paths); ``task`` is what is keyed/stored.
    run_task: dict[str, Any] | None = None

    @property
    def kind(self) -> str:
        return self.task["kind"]

    def spec_record(self) -> dict[str, Any]:
        """What is stored in the ``spec`` column: everything needed to recompute or report the point."""
        return {
            "study": self.study,
            "profile_name": self.profile_name,
            "overrides": self.overrides,
            "profile_hash": self.profile_hash,
            "profile": self.profile.model_dump(mode="json") if self.profile is not None else None,
            "task": self.task,
            "seed": self.seed,
            "code_version": self.code_version,
        }


def code_version(kind: str) -> str:
    """Part of every key: results from another code version (or task implementation) are not reused."""
    return f"cryoctl-{cryoctl.__version__}/{kind}-v{get_task(kind).version_string()}"


def load_study_spec(path: str | Path) -> StudySpec:
    """Read and validate a study YAML; every failure is a :class:`CryoctlError` naming file and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CryoctlError(f"cannot read study spec ({exc.__class__.__name__}: {exc})", field=str(path)) from None
    try:
        doc = load_yaml(text, str(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CryoctlError(f"not valid YAML{loc}: {getattr(exc, 'problem', None) or exc}", field=str(path)) from None
    if not isinstance(doc, dict):
        raise CryoctlError("expected a mapping with name, profiles, grid, seeds, tasks", field=str(path))
    for internal in ("base_dir", "source"):
        if internal in doc:
            raise CryoctlError(f"unknown key ({internal} is set from the spec file's location)", field=f"{path}: {internal}")
    return parse_study_spec({**doc, "base_dir": str(path.resolve().parent), "source": str(path)}, source=str(path))


def load_study_with_parts(path: str | Path) -> list[tuple[Path, StudySpec]]:
    """The spec at ``path`` and, depth first, every spec its ``parts`` name (each file once).

    A part that does not exist or does not validate is an error naming ``<spec>: parts[i]`` before anything
    runs; a cycle (a part naming a spec already in the chain) is an error too.
    """
    out: list[tuple[Path, StudySpec]] = []
    seen: set[Path] = set()

    def visit(p: Path, chain: tuple[Path, ...], field: str | None) -> None:
        rp = p.resolve()
        if rp in chain:
            raise CryoctlError(f"cycle: {p} is already part of this study ({' -> '.join(str(c.name) for c in chain)})",
                               field=field or str(p))
        if rp in seen:
            return
        if field is not None and not p.is_file():
            raise CryoctlError(f"no such spec file {str(p)!r}", field=field)
        spec = load_study_spec(p)
        seen.add(rp)
        out.append((p, spec))
        for i, part in enumerate(spec.parts):
            visit(Path(spec.base_dir) / part, chain + (rp,), f"{p}: parts[{i}]")

    visit(Path(path), (), None)
    return out


def parse_study_spec(doc: dict[str, Any], source: str = "<study>") -> StudySpec:
    """Validate a spec document (already parsed) into a :class:`StudySpec`."""
    try:
        spec = StudySpec.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        if err["type"] == "missing":
            msg = "required field is missing"
        raise CryoctlError(msg, field=f"{source}: {loc}") from None
    for i, task in enumerate(spec.tasks):
        validate_task(task, field=f"{source}: tasks[{i}]")
    for key in list(spec.grid) + list(spec.set):
        for part in key.split(","):
            _check_profile_path(part.strip(), field=f"{source}: grid/set key {key!r}")
    return spec


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    return annotation


def _check_profile_path(dotted: str, field: str) -> None:
    """A grid/set key must name a field of the profile schema (a typo must not be silently ignored)."""
    model: Any = HardwareProfile
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            known = ", ".join(sorted(fields)) if fields else "(not a section)"
            raise CryoctlError(f"{'.'.join(parts[: i + 1])!r} is not a profile field (expected one of: {known})", field=field)
        model = _unwrap(fields[part].annotation)


def grid_values(key: str, raw: Any, field: str) -> list[Any]:
    """'a..b' -> [a, ..., b]; a list -> itself; a scalar -> [scalar]."""
    if isinstance(raw, str):
        return int_range(raw, field) if ".." in raw else [raw]
    if isinstance(raw, list):
        if not raw:
            raise CryoctlError("empty list of values", field=field)
        return list(raw)
    return [raw]


def grid_combinations(grid: dict[str, Any], source: str = "<study>") -> list[dict[str, Any]]:
    """Cartesian product of the grid as a list of {dotted key: value} override dicts (insertion order)."""
    axes: list[list[dict[str, Any]]] = []
    for key, raw in grid.items():
        fld = f"{source}: grid.{key}"
        values = grid_values(key, raw, fld)
        names = [k.strip() for k in key.split(",")]
        if len(names) == 1:
            axes.append([{names[0]: v} for v in values])
            continue
        axis = []
        for v in values:
            if not isinstance(v, list) or len(v) != len(names):
                raise CryoctlError(f"zipped key: expected lists of {len(names)} values, got {v!r}", field=fld)
            axis.append(dict(zip(names, v)))
        axes.append(axis)
    return [dict(kv for d in combo for kv in d.items()) for combo in itertools.product(*axes)]


def resolve_profile_ref(ref: str, base_dir: str | Path, field: str) -> Path:
    """A spec's profile: a path relative to the spec file, an absolute path, or a shipped name."""
    cand = Path(base_dir) / ref
    if cand.is_file():
        return cand.resolve()
    try:
        return resolve_profile_path(ref)
    except CryoctlError as exc:
        raise CryoctlError(f"unknown profile {ref!r}: not a file next to the spec nor a shipped profile ({exc})", field=field) from None


def expand_points(spec: StudySpec, source: str | None = None) -> list[Point]:
    """All points of a spec, deduplicated by key, in a stable order (profile, grid, task, seed).

    Unknown profiles are a spec error (raised before anything runs). A grid combination the profile
    schema rejects (say ``dac.bits: 2`` with ``unary_msbs: 3``) becomes points carrying
    ``profile_error``; the runner stores them as errors and the rest of the study goes on.
    """
    source = source or spec.source
    paths = [resolve_profile_ref(r, spec.base_dir, f"{source}: profiles[{i}]") for i, r in enumerate(spec.profiles)]
    combos = grid_combinations(spec.grid, source)
    tasks = []
    for i, t in enumerate(spec.tasks):
        fld = f"{source}: tasks[{i}]"
        t = validate_task(t, field=fld)
        prep = get_task(t["kind"]).prepare
        tasks.append(prep(t, spec.base_dir, fld) if prep else (t, t))
    points: dict[str, Point] = {}
    versions: dict[str, str] = {}
    for ref, path in zip(spec.profiles, paths):
        for combo in combos:
            overrides = {**spec.set, **combo}
            try:
                prof: HardwareProfile | None = load_profile(path, overrides)
                perr = None
            except CryoctlError as exc:
                prof, perr = None, str(exc)
            name = prof.name if prof is not None else Path(ref).stem
            phash = profile_hash(prof) if prof is not None else None
            for task, run_task in tasks:
                kind = task["kind"]
                seeds: list[int | None] = list(spec.seeds) if get_task(kind).uses_seed else [None]
                ver = versions.setdefault(kind, code_version(kind))
                for seed in seeds:
                    ident = {
                        "profile_hash": phash,
                        "task": task,
                        "seed": seed,
                        "code_version": ver,
                    }
                    if prof is None:  # no hash of an invalid profile: key it by what was asked for
                        ident["invalid_profile"] = {"ref": str(ref), "overrides": overrides}
                    key = content_hash(ident, length=24)
                    if key not in points:
                        points[key] = Point(
                            key=key, study=spec.name, profile_name=name, overrides=overrides, task=task,
                            seed=seed, profile=prof, profile_error=perr, profile_hash=phash, code_version=ver,
                            run_task=run_task,
                        )
    return list(points.values())
