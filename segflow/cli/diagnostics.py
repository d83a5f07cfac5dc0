"""Diagnostics rendered for people (text), programs (JSON) and GitHub (annotations)."""

from __future__ import annotations

import json

from segflow.errors import Diagnostic


def as_text(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(d.render() for d in diagnostics)


def as_json(diagnostics: list[Diagnostic], **extra) -> str:
    """`errors` (what fails the command) and `warnings` (reported only) apart."""
    errors = [d.to_dict() for d in diagnostics if d.severity != "warning"]
    warnings = [d.to_dict() for d in diagnostics if d.severity == "warning"]
    return json.dumps({"errors": errors, "warnings": warnings, **extra}, indent=2)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def as_github(diagnostics: list[Diagnostic]) -> str:
    """GitHub workflow commands: `::error file=F,line=L,col=C::message`."""
    lines = []
    for d in diagnostics:
        props = []
        if d.file:
            props.append(f"file={_escape_property(d.file)}")
        if d.line:
            props.append(f"line={d.line}")
        if d.col:
            props.append(f"col={d.col}")
        if d.end_col:
            props.append(f"endColumn={d.end_col}")
        kind = "warning" if d.severity == "warning" else "error"
        head = f"::{kind} " + ",".join(props) if props else f"::{kind}"
        lines.append(f"{head}::{_escape_data(d.message)}")
    return "\n".join(lines)
