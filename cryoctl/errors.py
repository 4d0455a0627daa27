"""The one exception type a user can cause.

Every error caused by user input (a YAML profile, a CLI argument, an out-of-range DAC code, a
missing file, an unknown dataset) is raised as :class:`CryoctlError`, with a message that names the
field or path and says what was expected. The CLI prints it without a traceback and exits non-zero.
"""

from __future__ import annotations


class CryoctlError(Exception):
    """A user-facing error: ``field`` names where it happened, the message what was expected."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)
