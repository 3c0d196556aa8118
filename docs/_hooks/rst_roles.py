"""A Griffe extension for the API reference: render acexport's reST-flavoured docstrings.

The source docstrings use Sphinx roles (``:class:`ExportReport```) and ``::`` literal-block
markers. mkdocstrings renders Markdown, where both would show up verbatim, so this turns
``:role:`~pkg.Name``` into the code span ```Name``` and ``Text::`` into ``Text:``. Loaded by
``mkdocs.yml`` (``plugins.mkdocstrings.handlers.python.options.extensions``); not part of the
site (``exclude_docs``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|data|exc|mod|obj|const):`~?\.?([^`]+)`")
_LITERAL_MARKER = re.compile(r"(\S)::(\s*\n)")


def _short(match: re.Match[str]) -> str:
    target = match.group(1).strip()
    if " <" in target:  # :class:`text <target>`
        target = target.split(" <", 1)[0]
    # Keep the name users see: the last dotted part of private paths, the full path otherwise.
    if "._" in target or target.startswith("_"):
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def convert(text: str) -> str:
    """The docstring ``text`` with roles as code spans and ``::`` markers as colons."""
    return _LITERAL_MARKER.sub(r"\1:\2", _ROLE.sub(_short, text))


class RstRoles(griffe.Extension):
    """Rewrite every docstring once it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)
