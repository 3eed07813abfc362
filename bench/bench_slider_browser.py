"""A weight slider move on the customer-tiers page, timed in a real browser at 20,000 customers.

What it does, in one run:

1. builds (once; reused afterwards) a demo company of ``--customers`` customers, one year, seed 7, in
   a SQLite file (``--store``, default /tmp/ops_bench_slider_20k.db);
2. starts ``streamlit run app.py`` against it and opens ``/customers`` in headless Chromium
   (Playwright, /usr/bin/chromium, the args of tests/test_browser.py), optionally with shared filters
   in the address (``--query``, e.g. ``industries=manufacturing``), and waits for the first render
   (it derives the features: allow a minute);
3. ``--moves`` times (default 10): focuses the weight slider ``--slider`` (default "Order amount (12
   months)") and presses ArrowRight. Each press moves the weight one point up (20 -> 21 -> ... -> 30),
   so every move is a state the page has never sent before (Streamlit replays a message it already
   sent as a short reference, which would flatter the figures). For each move it records, in the
   browser, from the keydown event:
   (a) until the "KA customers" metric's value in the DOM differs from its value before the press;
       if a move leaves the value unchanged, (a) falls back to (b) for that move and is flagged;
   (b) until the app is back to ``data-test-script-state=notRunning`` after having run.
   Timestamps come from a MutationObserver in the page (``performance.now()``), so the Python <->
   browser round trip is not in the figures; paint follows within a frame.
4. the floor of the same run: the same key press and the same two measurements on a bare app made on
   the fly (nine sliders with the same labels, one "KA customers" metric that changes on every move,
   nothing else), which is the framework's own cost of a rerun over a websocket to this browser.

Whether a move can change the metric depends on the tier rule in force: in cutoff mode (the demo
store's stored rule: floors 65 / 50 / 35) the KA count follows the scores; in quota mode it is fixed at
5 % of the customers ranked, so it moves only when a filter narrows the view (``--query``). The output
says per move whether the metric changed.

    .venv/bin/python bench/bench_slider_browser.py [--moves 10] [--store PATH] [--query industries=manufacturing]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, start_app  # noqa: E402
from tests.test_browser import stop_app as stop  # noqa: E402

METRIC_LABEL = "KA customers"
SETTLED = "[data-testid=stApp][data-test-script-state=notRunning]"

# Installed before each move: timestamps of the keydown, the first change of the metric's value and
# the first notRunning state after a running one. Elements are looked up again on every mutation
# because a rerun may replace them.
ARM_JS = """
([label]) => {
  const metricValue = () => {
    const found = [...document.querySelectorAll('[data-testid=stMetricLabel]')]
      .find(e => e.innerText.trim() === label);
    const value = found && found.closest('[data-testid=stMetric]')?.querySelector('[data-testid=stMetricValue]');
    return value ? value.innerText.trim() : null;
  };
  const state = () => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state');
  if (window.__bench && window.__bench.observer) window.__bench.observer.disconnect();
  const b = window.__bench = {before: metricValue(), after: null, key: null, changed: null, ran: false,
                              settled: null, observer: null};
  const check = (records) => {
    if (b.key === null) return;
    const now = performance.now();
    const value = metricValue();
    if (b.changed === null && value !== null && value !== b.before) { b.changed = now; b.after = value; }
    const s = state();
    // A fast rerun's "running" and "notRunning" can land in one batch: any change of the state counts.
    if (s === 'running' || records.some(r => r.attributeName === 'data-test-script-state')) b.ran = true;
    // Settled: back to notRunning after a run (or, if the run was too quick to show, after the metric moved).
    if ((b.ran || b.changed !== null) && b.settled === null && s === 'notRunning') { b.settled = now; b.after = value; }
  };
  document.addEventListener('keydown', () => { if (b.key === null) b.key = performance.now(); },
                            {capture: true, once: true});
  b.observer = new MutationObserver(check);
  b.observer.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                                     attributeFilter: ['data-test-script-state']});
  return b.before;
}
"""

BARE_APP = textwrap.dedent('''
    """The floor: nine weight sliders and one metric, nothing else."""
    import streamlit as st

    LABELS = {labels!r}
    WEIGHTS = {weights!r}
    st.title("Floor")
    columns = st.columns(3)
    values = [columns[i % 3].slider(label, 0, 100, WEIGHTS[i], key=f"w{{i}}") for i, label in enumerate(LABELS)]
    st.metric({metric!r}, f"{{sum(values) * 7 % 1000:,}}")
''')


def build_store(path: Path, customers: int) -> None:
    """The demo company, once: generated into a side file and renamed, so a broken run leaves no half store."""
    if path.exists():
        print(f"store: {path} (reused)")
        return
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ops_core.demo", "--customers", str(customers), "--years", "1", "--seed", "7",
                    "--database-url", f"sqlite:///{partial}"], cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
    partial.replace(path)
    print(f"store: {path} (built in {time.perf_counter() - started:.0f} s)")


def measure(page, slider: str, moves: int, timeout_ms: int, received: list[int]) -> list[dict]:
    """``moves`` ArrowRight presses on ``slider``; one dict of timings (ms) per move that settled."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    handle = page.get_by_role("slider", name=slider)
    results = []
    for _ in range(moves):
        page.wait_for_timeout(500)  # let charts finish drawing: each move starts from a quiet page
        before_bytes = sum(received)
        before = page.evaluate(ARM_JS, [METRIC_LABEL])
        handle.focus()
        handle.press("ArrowRight")
        try:
            page.wait_for_function("() => window.__bench.settled !== null", timeout=timeout_ms, polling=20)
        except PlaywrightTimeout:
            print(f"  a move did not settle within {timeout_ms / 1000:.0f} s; left out", flush=True)
            continue
        b = page.evaluate("() => ({key: __bench.key, changed: __bench.changed, settled: __bench.settled,"
                          " before: __bench.before, after: __bench.after})")
        settled = b["settled"] - b["key"]
        changed = b["changed"] is not None
        results.append({"before": before, "after": b["after"], "changed": changed, "settled": settled,
                        "metric": (b["changed"] - b["key"]) if changed else settled,
                        "value": handle.get_attribute("aria-valuenow") or handle.input_value(), "kb": (sum(received) - before_bytes) / 1024})
    return results


def report(title: str, results: list[dict]) -> None:
    if not results:
        print(f"\n{title}: no move settled")
        return
    metric = [r["metric"] for r in results]
    settled = [r["settled"] for r in results]
    changed = sum(r["changed"] for r in results)
    print(f"\n{title}")
    for i, r in enumerate(results, 1):
        flag = "" if r["changed"] else "  (metric unchanged: fell back to notRunning)"
        print(f"  move {i:2d}: weight -> {r['value']!s:>4}  KA {r['before']!s:>6} -> {r['after']!s:<6} metric {r['metric']:7.0f} ms"
              f"  settled {r['settled']:7.0f} ms  received {r['kb']:7.1f} KB{flag}")
    print(f"  to KA metric changed: median {statistics.median(metric):.0f} ms, worst {max(metric):.0f} ms "
          f"({changed}/{len(results)} moves changed the metric)")
    print(f"  to page settled:      median {statistics.median(settled):.0f} ms, worst {max(settled):.0f} ms")
    print(f"  received per move:    median {statistics.median(r['kb'] for r in results):.1f} KB", flush=True)


def run_page(browser, url: str, slider: str, moves: int, first_timeout_ms: int) -> tuple[list[dict], float]:
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    received: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(len(payload))))
    try:
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_selector("h1", timeout=first_timeout_ms)
        page.wait_for_selector(SETTLED, timeout=first_timeout_ms)
        first = time.perf_counter() - started
        if page.locator("[data-testid=stException]").count():
            raise SystemExit(f"the page raised: {page.locator('[data-testid=stException]').first.inner_text()[:2000]}")
        return measure(page, slider, moves, 120_000, received), first
    finally:
        page.close()


def main(argv: list[str] | None = None) -> int:
    from ops_core import scoring

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "ops_bench_slider_20k.db")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--moves", type=int, default=10)
    parser.add_argument("--slider", default=scoring.DIMENSIONS_BY_KEY["order_amount"].name_en)
    parser.add_argument("--query", default="", help="query string for /customers, e.g. industries=manufacturing")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    build_store(args.store, args.customers)
    work = Path(tempfile.mkdtemp(prefix="bench_slider_"))
    labels = [d.name_en for d in scoring.DIMENSIONS]
    weights = [int(round(100 * d.default_weight)) for d in scoring.DIMENSIONS]
    (work / "floor.py").write_text(BARE_APP.format(labels=labels, weights=weights, metric=METRIC_LABEL))

    app, base = start_app(f"sqlite:///{args.store}", work / "app.log")
    floor_app, floor_base = start_app(f"sqlite:///{args.store}", work / "floor.log", script="floor.py", cwd=work)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                url = f"{base}/customers" + (f"?{args.query}" if args.query else "")
                page_results, first = run_page(browser, url, args.slider, args.moves, 600_000)
                print(f"\nfirst render of {url}: {first:.1f} s (features derived, caches cold)")
                report(f"customer tiers page, {args.customers:,} customers, {args.moves} x ArrowRight on "
                       f"'{args.slider}' (filter: {args.query or 'none'})", page_results)
                stop(app)  # the floor runs on a quiet machine, not beside an idle-but-loaded app
                floor_results, _ = run_page(browser, floor_base, args.slider, args.moves, 60_000)
                report("floor: bare app (nine sliders + the metric, nothing else), same key press, same browser",
                       floor_results)
            finally:
                browser.close()
    finally:
        stop(app)
        stop(floor_app)
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; logs in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
