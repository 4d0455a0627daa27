"""YAML reading for profiles, overrides and study specs: safe, with YAML 1.2 numbers.

PyYAML follows YAML 1.1, where a float needs a dot and a signed exponent: ``1e-9`` and ``2e9``
come back as *strings*. Hardware people write noise densities and rates exactly that way, so the
safe loader here adds the YAML 1.2 float rule. Only plain scalars are affected; quoted strings stay
strings, and Python object tags are still rejected (SafeLoader never constructs objects).
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    pass


_FLOAT_12 = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with YAML 1.2 floats (``1e-9`` is a number)."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader subclass
