"""Report layer: the answers (minimum bits, accuracy per wall-plug mW, with confidence intervals),
interactive and static plots, a self-contained HTML report and CSV/JSON tables from a study store;
side-by-side profile comparison."""

from cryoctl.report.compare import COMPARE_ROWS, compare_profiles
from cryoctl.report.data import accuracy_records, curves, flatten, load_records, pareto_front, point_records, profile_table, quality_points
from cryoctl.report.html import FIGURES, build_report
from cryoctl.report.seed import has_seed_points, seed_chapters
from cryoctl.report.stats import WALL_PLUG_W_PER_W_4K, accuracy_interval, seed_interval, wall_plug_factor, wilson_interval
from cryoctl.report.summary import accuracy_answers, accuracy_ranking, gate_answers, min_bits

__all__ = [
    "COMPARE_ROWS", "FIGURES", "WALL_PLUG_W_PER_W_4K", "accuracy_answers", "accuracy_interval", "accuracy_ranking",
    "accuracy_records", "build_report", "has_seed_points", "seed_chapters", "compare_profiles", "curves", "flatten", "gate_answers", "load_records",
    "min_bits", "pareto_front", "point_records", "profile_table", "quality_points", "seed_interval", "wall_plug_factor",
    "wilson_interval",
]
