"""YAML reading for profiles, overrides and study specs: safe, with YAML 1.2 numbers.

PyYAML follows YAML 1.1, where a float needs a dot and a signed exponent: ``1e-9`` and ``2e9``
come back as *strings*. Hardware people write noise densities and rates exactly that way, so the
safe loader here adds the YAML 1.2 float rule. Only plain scalars are affected; quoted strings stay
strings, and Python object tags are still rejected (SafeLoader never constructs objects).

Untrusted input is bounded before any work grows with it: a document over :data:`MAX_YAML_BYTES` is
refused before parsing (PyYAML's pure-Python parser needs minutes and gigabytes for tens of MB), and
a document whose aliases expand to more than :data:`MAX_YAML_NODES` nodes (an alias bomb: a few
lines that reference each other exponentially) is refused after composing the node graph, which is
linear in the text, and before constructing or validating anything.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from cryoctl.errors import CryoctlError

MAX_YAML_BYTES = 4 * 2**20  # a 16-bit INL table inline is ~1.3 MB; larger data belongs in a CSV file
MAX_YAML_NODES = 1_000_000


class _Loader(yaml.SafeLoader):
    def compose_document(self):
        node = super().compose_document()
        _check_expansion(node, getattr(self, "_source", None))
        return node


def _check_expansion(root, source: str | None) -> None:
    """Refuse a node graph whose expanded size (aliases followed) exceeds MAX_YAML_NODES.

    Aliases make the graph a DAG with shared children; its expanded size is computed with one memo per
    node, so the check itself is linear in the number of distinct nodes.
    """
    sizes: dict[int, int] = {}

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        sizes[key] = 1  # a recursive alias counts once here; validation reports it with its path
        if isinstance(node, yaml.MappingNode):
            n = 1 + sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            n = 1 + sum(size(v) for v in node.value)
        else:
            n = 1
        sizes[key] = n
        return n

    if root is not None and size(root) > MAX_YAML_NODES:
        raise CryoctlError(
            f"YAML aliases expand to more than {MAX_YAML_NODES:,} values (an alias bomb?); refused", field=source
        )


_FLOAT_12 = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


def load_yaml(text: str, source: str | None = None) -> Any:
    """``yaml.safe_load`` with YAML 1.2 floats (``1e-9`` is a number), bounded in size and alias expansion.

    ``source`` (a file name) is the field named by the CryoctlError raised for an oversized document.
    """
    n = len(text.encode("utf-8", "surrogatepass")) if len(text) * 4 > MAX_YAML_BYTES else len(text)
    if n > MAX_YAML_BYTES:
        raise CryoctlError(
            f"YAML document of {n / 2**20:.1f} MiB exceeds the {MAX_YAML_BYTES // 2**20} MiB limit "
            "(put large tables in a CSV file, e.g. dac.inl_table_csv)", field=source)
    loader = _Loader(text)
    loader._source = source
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
