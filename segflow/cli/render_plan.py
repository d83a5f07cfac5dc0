"""One plan, three renderings: terminal text (like terraform), JSON, Markdown (PR comment).

An offline plan has no member figures: every rendering says so (the plan's notes) and shows the
definition changes only.
"""

from __future__ import annotations

import difflib

import click

from segflow.lifecycle.plan_model import Plan, SegmentChange

SYMBOLS = {"create": "+", "update": "~", "retire": "-", "unchanged": " "}
COLOURS = {"create": "green", "update": "yellow", "retire": "red", "unchanged": None}
GITHUB_COMMENT_LIMIT = 65_536
MARKER = "<!-- segflow-plan -->"


def _delta(c: SegmentChange) -> str:
    if c.members_after is None:  # offline
        return {"create": "new", "retire": "retired"}.get(c.action, "changed")
    if c.action == "create":
        return f"{c.members_after} members"
    if c.action == "retire":
        return f"{c.members_before} members leave"
    return f"{c.members_before} -> {c.members_after} members (+{c.entering} / -{c.leaving})"


def _tags(c: SegmentChange) -> str:
    if c.tag_adds is None:  # offline: which tag changes, not for how many customers
        if c.tag == c.old_tag and c.action != "create":
            return ""
        old, new = (f"'{t}'" if t else None for t in (c.old_tag, c.tag))
        return f"tag {old} -> {new}" if old and new else (f"tag {new}" if new else
                                                          f"tag {old} removed" if old else "")
    parts = []
    if c.tag_adds:
        parts.append(f"tag '{c.tag}' +{c.tag_adds}")
    if c.tag_removes:
        parts.append(f"tag '{c.old_tag}' -{c.tag_removes}")
    if c.tag_unlinked:
        parts.append(f"{c.tag_unlinked} member{'s' if c.tag_unlinked != 1 else ''} without a "
                     "Shopify customer id not tagged")
    return ", ".join(parts)


def summary(plan: Plan) -> str:
    n = plan.counts()
    adds, removes = plan.tag_operations()
    text = (f"Plan{' (offline, definitions only)' if plan.offline else ''}: {n['create']} to create, {n['update']} to change, {n['retire']} to retire, "
            f"{n['unchanged']} unchanged")
    if adds or removes:
        text += f"; tag operations: {adds} to add, {removes} to remove"
    return text + "."


def _no_changes(plan: Plan) -> str:
    if plan.offline:
        return "No changes. The segment files match the base."
    return "No changes. The applied segments match the files."


def as_text(plan: Plan, colour: bool = False) -> str:
    out = plan.notes if plan.offline else [f"Evaluated as of {plan.evaluation_day}."]
    if not plan.has_changes:
        return "\n".join([*out, _no_changes(plan)])
    out = [*out, ""]
    for c in plan.changes:
        line = f"  {SYMBOLS[c.action]} segment {c.id}: {_delta(c)}"
        tags = _tags(c)
        if tags:
            line += f"; {tags}"
        if c.reasons:
            line += f"  ({'; '.join(c.reasons)})"
        out.append(click.style(line, fg=COLOURS[c.action]) if colour else line)
    for g in plan.group_changes:
        detail = []
        if g.segments_added:
            detail.append("+" + ", +".join(g.segments_added))
        if g.segments_removed:
            detail.append("-" + ", -".join(g.segments_removed))
        line = f"  {SYMBOLS[g.action]} group {g.id}" + (f": {' '.join(detail)}" if detail else "")
        out.append(click.style(line, fg=COLOURS[g.action]) if colour else line)
    out += ["", summary(plan)]
    return "\n".join(out)


def as_json(plan: Plan) -> str:
    return plan.model_dump_json(indent=2)


def _diff(old: str | None, new: str | None, name: str) -> str:
    return "".join(difflib.unified_diff(
        (old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True),
        f"a/{name}", f"b/{name}"))


def _fence(text: str, lang: str) -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def as_markdown(plan: Plan, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """A PR comment: summary table, warnings, and per change a collapsible diff and SQL.

    Kept under GitHub's comment limit: details are dropped from the end (with a note) before the
    Markdown could be cut mid-block.
    """
    if plan.offline:
        head = [MARKER, "### segflow plan (offline)", "", *(f"> {n}" for n in plan.notes), ""]
    else:
        head = [MARKER, "### segflow plan", "", f"Evaluated as of **{plan.evaluation_day}**.", ""]
    if not plan.has_changes:
        return "\n".join([*head, _no_changes(plan), ""])
    if plan.offline:
        head += ["| segment | change | what changed | tag |", "|---|---|---|---|"]
    else:
        head += ["| segment | change | members | entering | leaving | tag operations |",
                 "|---|---|---:|---:|---:|---|"]
    for c in plan.changes:
        if plan.offline:
            what = "; ".join(c.reasons) or _delta(c)
            head.append(f"| `{_cell(c.id)}` | {c.action} | {_cell(what)} | "
                        f"{_cell(_tags(c)) or '—'} |")
            continue
        members = (str(c.members_after) if c.action == "create"
                   else f"{c.members_before} → {c.members_after}")
        head.append(f"| `{_cell(c.id)}` | {c.action} | {members} | {c.entering} | {c.leaving} | "
                    f"{_cell(_tags(c)) or '—'} |")
    warnings = []
    for c in plan.changes:
        if c.action == "update" and c.members_before and c.leaving * 2 > c.members_before:
            warnings.append(f"`{c.id}` loses {c.leaving} of its {c.members_before} members "
                            "(more than half).")
        if (c.tag_removes or 0) >= 1000:
            warnings.append(f"`{c.id}` would remove tag `{c.old_tag}` from {c.tag_removes} "
                            "customers.")
    if warnings:
        head += ["", "**Warnings**", "", *(f"- ⚠️ {w}" for w in warnings)]
    groups = [g for g in plan.group_changes]
    if groups:
        head += ["", "| group | change | segments |", "|---|---|---|"]
        for g in groups:
            seg = ", ".join([*(f"+{s}" for s in g.segments_added),
                             *(f"-{s}" for s in g.segments_removed)])
            head.append(f"| `{_cell(g.id)}` | {g.action} | {_cell(seg) or '—'} |")
    tail = ["", summary(plan), ""]
    details = []
    for c in plan.changes:
        body = [f"<details><summary><code>{c.id}</code> ({c.action})</summary>", ""]
        body.append(_fence(_diff(c.old_source, c.new_source, f"{c.id}.seg"), "diff"))
        if c.compiled_sql:
            body += ["", "Compiled SQL:", "", _fence(c.compiled_sql, "sql")]
        body += ["", "</details>", ""]
        details.append("\n".join(body))
    text = "\n".join(head) + "\n\n"
    budget = limit - len(text) - len("\n".join(tail)) - 200
    kept = 0
    for block in details:
        if len(block) + 1 > budget:
            break
        text += block + "\n"
        budget -= len(block) + 1
        kept += 1
    if kept < len(details):
        text += (f"\n_{len(details) - kept} more change detail(s) omitted to stay under GitHub's "
                 "comment size limit; run `seg plan` locally to see them._\n")
    return text + "\n".join(tail)
