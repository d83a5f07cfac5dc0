"""Who may import what: the folders of segflow/ are its architecture (docs/architecture.md).

Every import in the package is read (function-level ones included) and checked against the
rooms' allowed dependencies, which point one way. Debts are listed by name: the list may only
shrink, and the test says when an entry has been paid off.
"""

from __future__ import annotations

import ast
from pathlib import Path

import segflow

ROOT = Path(segflow.__file__).parent

# room -> the rooms it may import (besides itself). A room is a top-level folder of segflow/,
# or `destinations.<impl>` / `connectors.<impl>` / `engines.<impl>` for an implementation.
CORE = {"errors", "config", "dsl", "compiler"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "config": {"errors", "compiler"},
    "dsl": {"errors"},
    "compiler": {"errors", "dsl"},
    "engines": CORE,
    "engines.postgres": CORE | {"engines"},
    "engines.duckdb": CORE | {"engines"},
    "engines.spark": CORE | {"engines"},
    "connectors": CORE,
    "connectors.shopify": CORE | {"connectors"},
    "sources": CORE | {"engines", "engines.postgres", "connectors", "connectors.shopify"},
    "destinations": CORE,  # the protocol and the registry
    "destinations.shopify": CORE | {"destinations", "engines", "engines.postgres", "connectors",
                                    "connectors.shopify"},
    "analytics": CORE | {"engines", "engines.postgres"},
    "lifecycle": CORE | {"engines", "engines.postgres", "sources", "analytics", "destinations"},
    "templates": CORE | {"engines", "engines.postgres", "analytics"},
    "predict": CORE,
    "scaffold": CORE,
    "web": None,  # the faces may import every room but the CLI
    "cli": None,
}
REGISTRY = {"segflow/destinations/__init__.py": {"destinations.shopify"}}

# imports that break the rules today, by module; each is a debt with a reason
EXCEPTIONS = {
    # the fake numbers its customers like the generator, so the two stores line up in demos
    ("segflow/connectors/shopify/fake.py", "sources"),
}

# modules outside engines/postgres that still import psycopg: SQL not yet behind the engine
# interface (issue 16, item 2). Shrink this list; never grow it.
PSYCOPG_DEBT = {
    "segflow/analytics/features.py", "segflow/analytics/journey.py",
    "segflow/analytics/membership.py", "segflow/analytics/overlap.py",
    "segflow/analytics/reports.py", "segflow/analytics/revenue.py", "segflow/cli/main.py",
    "segflow/destinations/shopify/actions.py", "segflow/destinations/shopify/outbox.py",
    "segflow/destinations/shopify/sync.py", "segflow/lifecycle/apply.py",
    "segflow/lifecycle/backfill.py", "segflow/lifecycle/plan.py", "segflow/lifecycle/plan_file.py",
    "segflow/lifecycle/rewind.py", "segflow/lifecycle/run.py", "segflow/lifecycle/static_lists.py",
    "segflow/lifecycle/value_check.py", "segflow/sources/shopify_api/importer.py",
    "segflow/sources/shopify_api/refunds.py", "segflow/sources/shopify_csv/importer.py",
    "segflow/sources/shopify_csv/reconcile.py", "segflow/sources/store_origin.py",
    "segflow/sources/synth/__init__.py", "segflow/sources/synth/writer.py",
    "segflow/templates/derive.py", "segflow/web/analytics.py", "segflow/web/app.py",
    "segflow/web/grid.py", "segflow/web/pages.py", "segflow/web/sections.py",
    "segflow/web/static_site.py", "segflow/web/tag_sync.py",
}
# third-party drivers and the one folder each may appear in
DRIVERS = {"psycopg": "engines/postgres", "duckdb": "engines/duckdb", "pyspark": "engines/spark"}


def _room(module: str) -> str:
    parts = module.split(".")[1:]
    if parts and parts[0] in ("engines", "connectors", "destinations") and len(parts) > 1:
        return f"{parts[0]}.{parts[1]}"
    return parts[0] if parts else ""


def _imports() -> list[tuple[str, str]]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(rel, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append((rel, node.module))
                if node.module in ("segflow", "segflow.destinations", "segflow.engines"):
                    found += [(rel, f"{node.module}.{a.name}") for a in node.names]
    return found


def _module_room(rel: str) -> str:
    dotted = rel.removesuffix(".py").replace("/", ".")
    room = _room(dotted)
    if room.endswith(".__init__") or room.endswith(".base"):  # `engines/base.py`: the seam itself
        room = room.split(".")[0]
    return room


def _violations(imports: list[tuple[str, str]]) -> list[str]:
    wrong = []
    for rel, target in imports:
        if not target.startswith("segflow."):
            continue
        src, dst = _module_room(rel), _room(target)
        if dst.endswith(".base") or dst.endswith(".__init__"):
            dst = dst.split(".")[0]
        if dst in ("__version__", "__init__"):  # the package itself: everyone's
            continue
        allowed = ALLOWED.get(src, set())
        if src == dst or (allowed is None and dst != "cli"):
            continue
        if dst in (allowed or set()) or dst in REGISTRY.get(rel, set()):
            continue
        if (rel, dst) in EXCEPTIONS:
            continue
        wrong.append(f"{rel} imports {target} ({src} -> {dst})")
    return wrong


def test_rooms_import_only_what_they_may():
    wrong = _violations(_imports())
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(wrong)


def test_the_guard_sees_a_wrong_import():
    planted = [("segflow/compiler/query.py", "segflow.lifecycle.plan"),
               ("segflow/lifecycle/run.py", "segflow.destinations.shopify.outbox"),
               ("segflow/engines/postgres/db.py", "segflow.cli.main"),
               ("segflow/web/app.py", "segflow.cli.main")]
    assert len(_violations(planted)) == 4
    assert not _violations([("segflow/lifecycle/run.py", "segflow.destinations.base"),
                            ("segflow/cli/main.py", "segflow.web.app")])


def test_drivers_stay_in_their_engine():
    users: dict[str, set[str]] = {}
    for rel, target in _imports():
        driver = target.split(".")[0]
        if driver in DRIVERS:
            users.setdefault(driver, set()).add(rel)
    for driver, folder in DRIVERS.items():
        outside = {r for r in users.get(driver, set()) if not r.startswith(f"segflow/{folder}/")}
        debt = PSYCOPG_DEBT if driver == "psycopg" else set()
        assert outside <= debt, f"{driver} imported outside segflow/{folder}: {sorted(outside - debt)}"
        if driver == "psycopg":
            paid = debt - outside
            assert not paid, f"no longer import psycopg: remove from PSYCOPG_DEBT: {sorted(paid)}"


def test_the_core_names_no_destination():
    core = ("segflow/dsl/", "segflow/compiler/", "segflow/engines/", "segflow/lifecycle/",
            "segflow/analytics/", "segflow/templates/")
    named = sorted({rel for rel, target in _imports() if rel.startswith(core)
                    and target.startswith(("segflow.destinations.", "segflow.connectors"))
                    and target != "segflow.destinations.base"})
    assert not named, f"the core imports a destination or connector: {named}"


def test_every_room_is_declared():
    rooms = {_module_room(p.relative_to(ROOT.parent).as_posix()) for p in ROOT.rglob("*.py")}
    rooms -= {"__init__", "errors", "config"}
    assert rooms <= set(ALLOWED), f"undeclared rooms: {sorted(rooms - set(ALLOWED))}"
