"""Screenshots of each dashboard page for docs/dashboard.md, taken from the demo store.

Run `seg demo` first (in this repository), then: python docs/screenshots.py
It starts the dashboard on a free local port, saves a plan that changes one example segment
and adds one (in a temporary copy of segments/, so the plan page has something to show), and
photographs every page with Debian's Chromium into docs/img/.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

from segflow.compiler.project import load_project
from segflow.config import load_config
from segflow.engines.postgres.db import connect, resolve_url
from segflow.lifecycle.plan import plan_for
from segflow.web.app import Dashboard, ReadOnlyDatabase
from segflow.web.server import make
from segflow.web.view import View

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = [  # (file, path, clip height, a section's CSS selector, or None for the whole page)
    ("dashboard-grid.png", "/", None),
    ("dashboard-segment.png", "/segments/loyals.html", 2300),
    ("dashboard-revenue.png", "/segments/loyals.html", "#revenue"),
    ("dashboard-features.png", "/segments/loyals/features.html", None),
    ("dashboard-group.png", "/groups/lifecycle.html", None),
    ("dashboard-plan.png", "/plan.html", None),
]
NEW_SEGMENT = """
segment big_spenders {
  title = "Big spenders"
  groups = [campaigns]
  where total_spent >= 400
}
"""


def saved_plan(url: str, timezone: str, where: Path) -> Path:
    shutil.copytree(ROOT / "segments", where / "segments")
    loyals = where / "segments" / "lifecycle.seg"
    loyals.write_text(loyals.read_text().replace("order_count >= 5", "order_count >= 6"))
    (where / "segments" / "big_spenders.seg").write_text(NEW_SEGMENT)
    project = load_project([where / "segments"], where)
    with connect(url) as conn:
        row = conn.execute("SELECT last_run_day FROM segflow.state").fetchone()
        plan = plan_for(conn, project, timezone, row[0])
    path = where / "plan.json"
    path.write_text(plan.model_dump_json(indent=2))
    return path


def main() -> None:
    config = load_config(ROOT)
    url = resolve_url(config)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        plan = saved_plan(url, config.store.timezone, Path(tmp))
        database = ReadOnlyDatabase(url)
        view = View(plan_path=plan, timezone=config.store.timezone)
        server = make(Dashboard(database, view), "127.0.0.1", 0, quiet=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                for name, path, height in PAGES:
                    page.goto(base + path)
                    if height is None:
                        page.screenshot(path=str(OUT / name), full_page=True)
                    elif isinstance(height, str):
                        page.locator(height).screenshot(path=str(OUT / name))
                    else:
                        page.screenshot(path=str(OUT / name), full_page=True,
                                        clip={"x": 0, "y": 0, "width": 1280, "height": height})
                    print(f"docs/img/{name}")
                browser.close()
        finally:
            server.shutdown()
            server.server_close()
            database.close()


if __name__ == "__main__":
    main()
