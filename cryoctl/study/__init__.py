"""Study layer: study specs (profiles x grid x seeds x tasks), a resumable SQLite result store, and
runners on a local process pool or a Dask cluster."""

from cryoctl.study.runner import RunSummary, default_store_path, run_study, study_status
from cryoctl.study.spec import (
    Point,
    StudySpec,
    code_version,
    expand_points,
    grid_combinations,
    load_study_spec,
    load_study_with_parts,
    parse_study_spec,
)
from cryoctl.study.store import ResultStore
from cryoctl.study.tasks import TaskKind, TaskParams, execute_point, get_task, register_task, task_kinds, validate_task

__all__ = [
    "Point", "ResultStore", "RunSummary", "StudySpec", "TaskKind", "TaskParams", "code_version",
    "default_store_path", "execute_point", "expand_points", "get_task", "grid_combinations",
    "load_study_spec", "load_study_with_parts", "parse_study_spec", "register_task", "run_study", "study_status", "task_kinds",
    "validate_task",
]
