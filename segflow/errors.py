"""The one error type for everything a user can get wrong.

A `SegflowError` carries one or more `Diagnostic`s. Each diagnostic knows where it happened
(file, line, column) so the CLI can print `file:line:col: message`, the source line and a caret,
or render them as JSON / GitHub annotations. Errors without a position (bad config, unreachable
database) are diagnostics without a location.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem a user can fix, with where it is."""

    file: str | None
    line: int | None
    col: int | None
    message: str
    code: str = "error"
    end_col: int | None = field(default=None, compare=False)
    source_line: str | None = field(default=None, compare=False)
    severity: str = field(default="error", compare=False)  # or "warning": reported, not failing

    def location(self) -> str:
        if self.file is None:
            return ""
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.col or 1}"

    def render(self) -> str:
        """`file:line:col: message`, then the source line and a caret under the spot."""
        loc = self.location()
        message = f"warning: {self.message}" if self.severity == "warning" else self.message
        head = f"{loc}: {message}" if loc else message
        if self.source_line is None or self.col is None:
            return head
        line = _visible(self.source_line.rstrip("\n").expandtabs(1))
        width = max(1, (self.end_col or self.col + 1) - self.col)
        width = min(width, max(1, len(line) - self.col + 1))
        caret = " " * (self.col - 1) + "^" * width
        return f"{head}\n    {line}\n    {caret}"

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "end_col": self.end_col,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }


def _visible(line: str) -> str:
    """Control characters as their Unicode pictures (one column each: the caret stays put), so
    that echoing a line never sends a terminal an escape sequence."""
    return "".join(chr(0x2400 + ord(c)) if c < " " else "\u2421" if c == "\x7f" else c
                   for c in line) if any(c < " " or c == "\x7f" for c in line) else line


class SegflowError(Exception):
    """A problem the user caused and can fix: bad rule, bad file, bad config, unreachable service."""

    def __init__(self, message: str | list[Diagnostic] | Diagnostic, *, hint: str | None = None):
        if isinstance(message, Diagnostic):
            diagnostics = [message]
        elif isinstance(message, str):
            diagnostics = [Diagnostic(None, None, None, message)]
        else:
            diagnostics = list(message)
        if not diagnostics:
            raise ValueError("SegflowError needs at least one diagnostic")
        self.diagnostics: list[Diagnostic] = diagnostics
        self.hint = hint
        super().__init__(self.render())

    @property
    def message(self) -> str:
        return self.diagnostics[0].message

    def render(self) -> str:
        text = "\n".join(d.render() for d in self.diagnostics)
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text
