"""Report layer: plots, a self-contained HTML report and CSV/JSON tables from a study store;
side-by-side profile comparison."""

from cryoctl.report.compare import COMPARE_ROWS, compare_profiles
from cryoctl.report.data import accuracy_records, curves, flatten, load_records, pareto_front, point_records, profile_table, quality_points
from cryoctl.report.html import FIGURES, build_report

__all__ = [
    "COMPARE_ROWS", "FIGURES", "accuracy_records", "build_report", "compare_profiles", "curves", "flatten", "load_records",
    "pareto_front", "point_records", "profile_table", "quality_points",
]
