"""The one exception type a user can cause.

Every error caused by user input (a YAML profile, a CLI argument, an out-of-range DAC code, a
missing file, an unknown dataset) is raised as :class:`CryoctlError`, with a message that names the
field or path and says what was expected. The CLI prints it without a traceback and exits non-zero.
"""

from __future__ import annotations


class CryoctlError(Exception):
    """A user-facing error: ``field`` names where it happened, the message what was expected."""

    # a message echoes user input (a value, a key); one line must stay readable whatever the input was
    MAX_CHARS = 400

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        text = f"{field}: {message}" if field else message
        if len(text) > self.MAX_CHARS:
            cut = len(text) - self.MAX_CHARS
            text = f"{text[: self.MAX_CHARS]}... ({cut} more characters)"
        super().__init__(text)
