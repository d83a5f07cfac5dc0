"""Pages to HTML with jinja2: autoescaped everywhere, strict about missing values."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import jinja2
from markupsafe import Markup, escape

from segflow import __version__
from segflow.web import format
from segflow.web.view import Page

STATIC_FILES = ("style.css", "dashboard.js")


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("segflow.web", "templates"),
        autoescape=True,  # every template is HTML: escape every value, always
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(version=__version__, labels=format.LABELS)
    env.filters["metric"] = format.value
    env.filters["prose"] = prose
    return env


def prose(text: str) -> Markup:
    """A sentence for people: escaped, with `command` spans shown as code."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def render(page: Page) -> str:
    root = "../" * page.depth
    return environment().get_template(page.template).render(root=root, **page.context)


def static_file(name: str) -> bytes:
    """A file shipped in the package's static folder (the only ones served)."""
    if name not in STATIC_FILES:
        raise KeyError(name)
    return resources.files("segflow.web").joinpath("static", name).read_bytes()
