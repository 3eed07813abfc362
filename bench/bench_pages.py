"""Every page in a real browser on a big store: first visit after a restart, a warm visit, a visit after
a write to data the page does not read, and one after a write it does read; against a bare page.

What it does, in one run, for one store (``--store``, any database URL the app takes):

1. starts ``streamlit run app.py`` on the store (single-user mode) and a bare app (a title and one
   metric, nothing else: the framework's own cost of a page, the floor of this run);
2. for each page (``--pages``): restarts the app, opens the page in headless Chromium and times it
   until it settles (the script state back to notRunning, no spinner left, its title drawn): the
   first visit after a restart; then opens another page and comes back: warm;
3. writes, through ops_core as a colleague would, to a table the page does not read (a feedback
   item triaged; for the home, demand and feedback pages, which count feedback, an event review
   saved; the data page counts every table, so it has no such write) and times the next visit; then changes a contract (the amount of the newest,
   by one yuan: every money figure reads contracts) and times the next visit;
4. times the bare app the same way (median of ``--runs`` visits);
5. prints one row per page with the three figures, the floor and the ratios, and the app process's
   memory with one browser session open, then with ten.

    .venv/bin/python bench/bench_pages.py --store sqlite:////path/to/50k.db [--pages home,indicators] [--runs 3]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, start_app  # noqa: E402
from tests.test_browser import stop_app as stop  # noqa: E402

PAGES = {"home": "", "indicators": "indicators", "customers": "customers", "demands": "demands",
         "feedback": "feedback", "events": "events", "data": "data"}
SETTLED_JS = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  return app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-testid=stSpinner]') && !!document.querySelector('h1');
}"""
BARE_APP = '''import streamlit as st

st.title("Floor")
st.metric("Customers", "50,000")
'''


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (from /proc)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def visit(page, url: str, timeout_ms: int = 600_000) -> float:
    """Seconds from asking for ``url`` to the page settled."""
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_timeout(300)  # the first paint of the script state comes after the socket opens
    page.wait_for_function(SETTLED_JS, timeout=timeout_ms, polling=50)
    took = time.perf_counter() - started
    if page.locator("[data-testid=stException]").count():
        raise SystemExit(f"{url} raised: {page.locator('[data-testid=stException]').first.inner_text()[:1500]}")
    return took


def triage_feedback(engine) -> None:
    from sqlalchemy import select

    from ops_core import feedback, writes
    from ops_core.db.engine import transaction
    from ops_core.db.models import TABLES

    items = TABLES["feedback"]
    with transaction(engine) as s:
        item = s.execute(select(items).where(items.c.status.in_(("triaged", "in_progress")))
                         .order_by(items.c.id.desc())).mappings().first()
        severity = "low" if item["severity"] != "low" else "medium"
        feedback.triage(s, writes.LOCAL_ADMIN, item["id"], item["version"], item["type"], severity,
                        item["product_area"], now=dt.datetime.now())


def save_event_review(engine) -> None:
    from sqlalchemy import select

    from ops_core import events, writes
    from ops_core.db.engine import transaction
    from ops_core.db.models import TABLES

    with transaction(engine) as s:
        event_id = s.execute(select(TABLES["events"].c.id).order_by(TABLES["events"].c.id)).scalars().first()
        review = events.load_review(s, event_id) or {}
        events.save_review(s, writes.LOCAL_ADMIN, event_id, {"causes": f"bench {time.time():.0f}"}, review.get("version"))


def change_contract(engine) -> None:
    from sqlalchemy import select

    from ops_core import writes
    from ops_core.db.engine import transaction
    from ops_core.db.models import TABLES

    contracts = TABLES["contracts"]
    with transaction(engine) as s:
        row = s.execute(select(contracts).order_by(contracts.c.id.desc())).mappings().first()
        writes.update(s, writes.LOCAL_ADMIN, "contracts", row["id"], row["version"], {"amount_cents": row["amount_cents"] + 100})


# The write each page does not read: an event review for the pages that count feedback (home, the
# demand board's asking items, the queue); none for the data page, which counts every table.
UNRELATED = {"home": save_event_review, "demands": save_event_review, "feedback": save_event_review, "data": None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="database URL of a big demo store")
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--runs", type=int, default=3, help="visits of the floor page")
    parser.add_argument("--sessions", type=int, default=10, help="browser sessions for the memory figure")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from ops_core.db.engine import make_engine

    engine = make_engine(args.store)
    work = Path(tempfile.mkdtemp(prefix="bench_pages_"))
    (work / "floor.py").write_text(BARE_APP)
    print(f"store: {engine.url.render_as_string(hide_password=True)}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)", flush=True)
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        floor_app, floor_base = start_app(args.store, work / "floor.log", script="floor.py", cwd=work)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            floor_first = visit(page, floor_base)
            floor = statistics.median(visit(page, floor_base) for _ in range(args.runs))
        finally:
            stop(floor_app)
        print(f"floor (bare page, one metric): {floor:.2f} s; its first visit after its start {floor_first:.2f} s", flush=True)
        memory: dict[str, float] = {}
        for name in args.pages.split(","):
            app, base = start_app(args.store, work / f"{name}.log", OPS_SIGN_IN="off", OPS_START="ask")
            try:
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                url = f"{base}/{PAGES[name]}"
                first = visit(page, url)
                visit(page, f"{base}/data" if name != "data" else f"{base}/")
                warm = visit(page, url)
                write = UNRELATED.get(name, triage_feedback)
                unrelated = None
                if write is not None:
                    write(engine)
                    visit(page, f"{base}/data" if name != "data" else f"{base}/")  # a page visit reads the counters anew
                    unrelated = visit(page, url)
                change_contract(engine)
                related = visit(page, url)
                if name == "customers":
                    memory["1 session"] = rss_mb(app.pid)
                    others = [browser.new_page(viewport={"width": 1440, "height": 1000}) for _ in range(args.sessions - 1)]
                    for other in others:
                        visit(other, url)
                    memory[f"{args.sessions} sessions"] = rss_mb(app.pid)
                    for other in others:
                        other.close()
                page.close()
            finally:
                stop(app)
            rows.append((name, first, warm, unrelated, related))
            print(f"{name:11s} first {first:6.2f} s  warm {warm:5.2f} s  after an unrelated write "
                  f"{'   -  ' if unrelated is None else f'{unrelated:5.2f} s'}  after a related write {related:5.2f} s",
                  flush=True)
        browser.close()
    print(f"\n| page | first visit after a restart | warm | after a write it does not read (floor {floor:.2f} s) | "
          "after a write it reads |")
    print("|---|---|---|---|---|")
    for name, first, warm, unrelated, related in rows:
        gap = "-" if unrelated is None else f"{unrelated:.2f} s (+{unrelated - floor:.2f} s)"
        print(f"| {name} | {first:.1f} s | {warm:.2f} s | {gap} | {related:.2f} s |")
    for what, mb in memory.items():
        print(f"app process memory, customer page open in {what}: {mb:,.0f} MB")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; logs in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
