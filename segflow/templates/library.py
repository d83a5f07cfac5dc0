"""The template library: ready-made segments with parameters, in categories.

Each template is one file, `library/<category_slug>/<template_id>.seg.j2`: a segment file with
jinja2 placeholders, headed by a jinja comment holding its metadata in TOML:

```
{#
title = "Loyal customers"
category = "Customer Lifecycle (RFM)"
description = "Bought five times or more."
when_to_use = "..."
campaign_idea = "..."

[params.min_orders]
type = "integer"            # string | number | integer | date | string_list
default = 5                 # the fixed default
doc = "Orders from which a customer counts as loyal."
min = 2                     # optional bounds (numbers)
derive = "twice_average_order_count"   # optional: a default computed from the store's data
#}
segment {{ segment_id }} {
  title = {{ title }}
  where order_count >= {{ min_orders }}
}
```

Every `{{ ... }}` is rendered as a rule-language literal of its value's type (strings quoted and
escaped, numbers as plain decimals, dates as ISO dates, lists as `[...]`), so no parameter value
can change the structure of the rule. `segment_id` is the only bare name, and it is checked to be
an identifier. `python -m segflow.templates.library --doc PATH` writes docs/templates.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import sys
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

import jinja2

from segflow.dsl.formatter import format_string, format_text
from segflow.errors import SegflowError

TEMPLATE_SUFFIX = ".seg.j2"
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PARAM_TYPES = ("string", "number", "integer", "date", "string_list")
RESERVED = ("segment_id", "title", "description")


@dataclass(frozen=True)
class Category:
    name: str
    slug: str
    purpose: str  # "manage" (segments to manage) or "campaign" (segments to plan campaigns)
    doc: str


CATEGORIES: tuple[Category, ...] = (
    Category("Customer Lifecycle (RFM)", "customer_lifecycle_rfm", "manage",
             "Segments by RFM status: how often and how recently customers bought."),
    Category("Specific Needs", "specific_needs", "manage",
             "Segments by the products customers bought."),
    Category("Initial Purchase", "initial_purchase", "manage",
             "Segments by the first purchase: product, channel, source, discount."),
    Category("Acquisition Channel", "acquisition_channel", "manage",
             "Segments by acquisition channel and UTM parameters."),
    Category("Purchase Method", "purchase_method", "manage",
             "Segments by how customers order: order tags, sales channel, discounts."),
    Category("Demographic", "demographic", "manage",
             "Segments by customer tags and marketing consent."),
    Category("Geographic", "geographic", "manage",
             "Segments by where customers live or ship to."),
    Category("Customer Journey", "customer_journey", "manage",
             "Segments by journey: X on the first order, Y on later ones."),
    Category("Promote Repeats", "promote_repeats", "campaign",
             "Audiences for turning first-time buyers into repeaters."),
    Category("Promote Cross-sell", "promote_cross_sell", "campaign",
             "Audiences for cross-selling a product to buyers of another."),
    Category("Promote New Product", "promote_new_product", "campaign",
             "Audiences for launching a new product."),
    Category("Generate Revenue", "generate_revenue", "campaign",
             "Customers most likely to respond to a marketing push."),
    Category("Wake Up Hibernating", "wake_up_hibernating", "campaign",
             "Audiences for reviving customers who stopped buying."),
    Category("Reward Loyals", "reward_loyals", "campaign",
             "Your best customers, to thank and retain."),
)
CATEGORY_BY_NAME = {c.name: c for c in CATEGORIES}
CATEGORY_BY_SLUG = {c.slug: c for c in CATEGORIES}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any
    doc: str
    derive: str | None = None
    min: Decimal | None = None
    max: Decimal | None = None

    def parse(self, text: str) -> Any:
        """A value for this parameter from command-line text (`--set name=text`)."""
        text = text.strip()
        try:
            if self.type == "string":
                value: Any = text
            elif self.type == "string_list":
                value = [part.strip() for part in text.split(",") if part.strip()]
            elif self.type == "integer":
                if not re.fullmatch(r"-?\d+", text):
                    raise ValueError
                value = int(text)
            elif self.type == "number":
                if not re.fullmatch(r"-?\d+(\.\d+)?", text):
                    raise ValueError
                value = Decimal(text)
            else:
                value = dt.date.fromisoformat(text)
        except ValueError:
            raise SegflowError(f"parameter '{self.name}' is {_article(self.type)}: cannot use "
                               f"{text!r}{_example(self.type)}") from None
        return self.check(value)

    def check(self, value: Any) -> Any:
        """`value` normalised to this parameter's type; SegflowError when it does not fit."""
        bad = SegflowError(f"parameter '{self.name}' is {_article(self.type)}: cannot use "
                           f"{value!r}{_example(self.type)}")
        if self.type == "string":
            if not isinstance(value, str):
                raise bad
            if not value:
                raise SegflowError(f"parameter '{self.name}' must not be empty")
        elif self.type == "string_list":
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise bad
            value = list(value)
            if not value or not all(value):
                raise SegflowError(f"parameter '{self.name}' needs at least one non-empty "
                                   "value (comma-separated)")
        elif self.type == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad
        elif self.type == "number":
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                raise bad
            try:
                value = Decimal(str(value))
            except InvalidOperation:
                raise bad from None
            if not value.is_finite():
                raise bad
        elif self.type == "date" and (isinstance(value, dt.datetime)
                                      or not isinstance(value, dt.date)):
            raise bad
        if self.min is not None and value < self.min:
            raise SegflowError(f"parameter '{self.name}' must be at least {self.min} (got {value})")
        if self.max is not None and value > self.max:
            raise SegflowError(f"parameter '{self.name}' must be at most {self.max} (got {value})")
        return value


def _article(type_: str) -> str:
    return {"integer": "an integer", "string_list": "a list of strings"}.get(type_, f"a {type_}")


def _example(type_: str) -> str:
    return {"integer": " (e.g. 30)", "number": " (e.g. 99.50)", "date": " (e.g. 2025-01-31)",
            "string_list": " (comma-separated, e.g. ON,QC)"}.get(type_, "")


@dataclass(frozen=True)
class Template:
    id: str
    category: str
    title: str
    description: str
    when_to_use: str
    campaign_idea: str
    params: dict[str, Param]
    body: str = field(repr=False)
    path: str = ""

    @property
    def category_def(self) -> Category:
        return CATEGORY_BY_NAME[self.category]

    def fixed_defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.params.items()}

    def render(self, values: dict[str, Any] | None = None, *, segment_id: str | None = None,
               title: str | None = None) -> str:
        """The segment file in canonical form: fixed defaults overridden by `values`."""
        values = dict(values or {})
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            raise SegflowError(_unknown_params(self, unknown))
        merged = {name: p.check(values.get(name, p.default)) for name, p in self.params.items()}
        segment_id = segment_id or self.id
        check_segment_id(segment_id)
        context = {**merged, "segment_id": _Name(segment_id), "title": title or self.title,
                   "description": self.description}
        try:
            text = _environment().from_string(self.body).render(context)
        except jinja2.TemplateError as exc:  # a broken template is a bug in segflow
            raise RuntimeError(f"template {self.id}: {exc}") from exc
        return format_text(text, f"template {self.id}")


def _unknown_params(template: Template, names: list[str]) -> str:
    known = ", ".join(template.params) or "none"
    return (f"template '{template.id}' has no parameter{'s' * (len(names) > 1)} "
            f"{', '.join(repr(n) for n in names)} (its parameters: {known})")


def check_segment_id(segment_id: str) -> None:
    if not NAME_RE.fullmatch(segment_id):
        raise SegflowError(f"'{segment_id}' is not a valid segment id (letters, digits and _, "
                           "not starting with a digit)")


class _Name(str):
    """A bare identifier, rendered as is (checked against NAME_RE first)."""


def literal(value: Any) -> str:
    """A Python value as a rule-language literal: what every `{{ ... }}` renders to."""
    if isinstance(value, _Name):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return format_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        d = Decimal(str(value))
        if not d.is_finite():
            raise ValueError(f"not a finite number: {value}")
        text = format(d.normalize(), "f") if d != d.to_integral_value() else str(int(d))
        return text
    if isinstance(value, dt.datetime):
        raise TypeError("use a date, not a datetime")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if value is None:
        raise ValueError("a template value is missing")
    raise TypeError(f"cannot render {type(value).__name__} in a rule")


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, finalize=literal,
                             keep_trailing_newline=True, autoescape=False)
    env.filters["q"] = lambda v: _Name(format_string(str(v)))
    return env


# ---------------------------------------------------------------- loading


_HEADER = re.compile(r"\A\s*\{#(.*?)#\}\n?", re.S)


def parse_template(template_id: str, category_slug: str, text: str, path: str = "") -> Template:
    m = _HEADER.match(text)
    if not m:
        raise ValueError(f"{path}: no metadata header ({{# ... #}})")
    meta = tomllib.loads(m.group(1))
    category = CATEGORY_BY_SLUG.get(category_slug)
    if category is None or meta.get("category") != category.name:
        raise ValueError(f"{path}: category {meta.get('category')!r} does not match folder "
                         f"{category_slug!r}")
    if not NAME_RE.fullmatch(template_id):
        raise ValueError(f"{path}: template id must be an identifier")
    params = {}
    for name, spec in meta.get("params", {}).items():
        if name in RESERVED or not NAME_RE.fullmatch(name):
            raise ValueError(f"{path}: bad parameter name {name!r}")
        if spec.get("type") not in PARAM_TYPES:
            raise ValueError(f"{path}: parameter {name}: type must be one of {PARAM_TYPES}")
        bounds = {k: Decimal(str(spec[k])) for k in ("min", "max") if k in spec}
        p = Param(name, spec["type"], spec.get("default"), spec.get("doc", ""),
                  spec.get("derive"), **bounds)
        params[name] = replace_default(p, p.check(p.default))
    for key in ("title", "description", "when_to_use", "campaign_idea"):
        if not meta.get(key):
            raise ValueError(f"{path}: missing {key}")
    return Template(template_id, category.name, meta["title"], meta["description"],
                    meta["when_to_use"], meta["campaign_idea"], params, text[m.end():], path)


def replace_default(p: Param, default: Any) -> Param:
    from dataclasses import replace

    return replace(p, default=default)


@functools.cache
def _load() -> dict[str, Template]:
    found: dict[str, Template] = {}
    root = resources.files("segflow.templates").joinpath("library")
    for folder in sorted(root.iterdir(), key=lambda e: e.name):
        if not folder.is_dir() or folder.name.startswith(("_", ".")):
            continue
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(TEMPLATE_SUFFIX):
                continue
            template_id = entry.name[: -len(TEMPLATE_SUFFIX)]
            path = f"{folder.name}/{entry.name}"
            if template_id in found:
                raise ValueError(f"duplicate template id {template_id!r} ({path})")
            found[template_id] = parse_template(template_id, folder.name,
                                                entry.read_text("utf-8"), path)
    return found


def templates() -> dict[str, Template]:
    """Every template, by id, in category order then id."""
    order = {c.name: i for i, c in enumerate(CATEGORIES)}
    items = sorted(_load().values(), key=lambda t: (order[t.category], t.id))
    return {t.id: t for t in items}


def get(template_id: str) -> Template:
    try:
        return _load()[template_id]
    except KeyError:
        from segflow.compiler.checker import did_you_mean

        raise SegflowError(f"unknown template '{template_id}'{did_you_mean(template_id, _load())}"
                           " (see `seg template ls`)") from None


def find_category(text: str) -> Category:
    """A category by name or slug, case-insensitively, or by a unique prefix."""
    key = text.strip().lower()
    for c in CATEGORIES:
        if key in (c.name.lower(), c.slug):
            return c
    matches = [c for c in CATEGORIES if c.name.lower().startswith(key) or c.slug.startswith(key)]
    if len(matches) == 1:
        return matches[0]
    names = "; ".join(c.name for c in CATEGORIES)
    raise SegflowError(f"unknown category '{text}' (categories: {names})")


def search(category: str | None = None, text: str | None = None) -> list[Template]:
    found = list(templates().values())
    if category:
        wanted = find_category(category).name
        found = [t for t in found if t.category == wanted]
    if text:
        words = text.lower().split()
        found = [t for t in found if all(w in _haystack(t) for w in words)]
    return found


def _haystack(t: Template) -> str:
    return " ".join([t.id, t.category, t.title, t.description, t.when_to_use, t.campaign_idea,
                     *t.params]).lower()


# ---------------------------------------------------------------- documentation


def doc_markdown() -> str:
    """The template list of docs/templates.md (between the generated-list markers)."""
    out = []
    for purpose, heading in (("manage", "Segments to manage"), ("campaign", "Segments for campaigns")):
        out.append(f"### {heading}\n")
        for cat in (c for c in CATEGORIES if c.purpose == purpose):
            out.append(f"#### {cat.name}\n\n{cat.doc}\n")
            out.append("| Template | Title | Parameters (fixed default) |")
            out.append("|---|---|---|")
            for t in (t for t in templates().values() if t.category == cat.name):
                params = ", ".join(
                    f"`{p.name}` = {literal(p.default)}" + (f" (store: {p.derive})" if p.derive else "")
                    for p in t.params.values()) or "—"
                out.append(f"| `{t.id}` | {t.title} — {t.description} | {params.replace('|', '/')} |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


BEGIN, END = "<!-- BEGIN GENERATED TEMPLATE LIST -->", "<!-- END GENERATED TEMPLATE LIST -->"


def update_doc(text: str) -> str:
    """`text` (docs/templates.md) with its generated list replaced by the current one."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + doc_markdown() + text[end:]


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "--doc":
        from pathlib import Path

        path = Path(argv[1] if len(argv) > 1 else "docs/templates.md")
        path.write_text(update_doc(path.read_text("utf-8")), "utf-8")
        print(f"updated {path}")
        return 0
    print(doc_markdown(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
