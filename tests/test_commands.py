"""Every command the README documents, run as a person runs it: ``python -m ops_core.X`` in a process
of its own against a small store, judged by its exit code, the lines it prints and the file it writes.

In-process calls of ``main()`` (the other test files) cannot see what only a real ``python -m`` run
does: there the module's file runs as ``__main__``, a second copy beside the package's own.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select

from ops_core import entity_files, scoring, tiers, writes
from ops_core.config import redact_url
from ops_core.db.engine import make_engine, transaction
from ops_core.db.models import TABLES
from ops_core.vocab import Industry, values
from tests.conftest import ROOT, SMALL_CUSTOMERS, small_company

AS_OF = "2026-06-30"
PRESET = "季度复盘 page set-up"
MODEL_NAMES = {"first": "first touch", "last": "last touch", "linear": "linear", "u": "U-shaped 40/20/40"}


def run(*args: str, url: str) -> subprocess.CompletedProcess:
    """``python -m ARGS --database-url URL`` from the repository root, as the README shows it."""
    environment = {k: v for k, v in os.environ.items() if k != "OPS_DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", *args, "--database-url", url], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=600)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def read_csv_file(path: Path) -> tuple[list[str], pd.DataFrame]:
    """The notes at the top (``# ...`` lines) and the table of a file the commands write."""
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "CSV files carry a UTF-8 BOM so Excel opens them right"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    notes = [row[0] for row in rows if len(row) == 1 and row[0].startswith("# ")]
    return notes, pd.read_csv(path, encoding="utf-8-sig", skiprows=len(notes))


def last_month() -> str:
    first = dt.date.today().replace(day=1)
    return f"{first - dt.timedelta(days=1):%Y-%m}"


@pytest.fixture(scope="module")
def store(new_store_url) -> str:
    """A small demo company (``SMALL_CUSTOMERS`` customers, one year) with one preset saved as the
    customer page saves it: every dimension's method, the category mapping and the tier rule."""
    url = small_company(new_store_url)
    engine = make_engine(url)
    with transaction(engine) as session:
        tiers.save_preset(session, writes.LOCAL_ADMIN, PRESET, {"order_amount": 40, "growth": 20, "payment": 10},
                          dict(scoring.DEFAULT_METHODS), tiers.TierRules(), mappings=scoring.mappings_in_force())
    engine.dispose()
    return url


def count(url: str, table: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        number = conn.execute(select(func.count()).select_from(TABLES[table])).scalar_one()
    engine.dispose()
    return int(number)


# --- the README's list and this file's cover each other -------------------------------------------

TESTED = {
    ("ops_core.demo", None), ("ops_core.io", "export"), ("ops_core.io", "import"), ("ops_core.scoring", "score"),
    ("ops_core.scoring", "rfm"), ("ops_core.events", "report"), ("ops_core.metrics", None),
    ("ops_core.snapshot", None), ("ops_core.reports", None),
    ("ops_core.io", "copy"), ("ops_core.io", "backup"),  # run as processes of their own in tests/test_store_copy.py
    ("ops_core.io", "template"),  # run as a process of its own in tests/test_entity_files.py
    ("ops_core.users", None),  # add, reset, disable, unlock, list: run as processes of their own in tests/test_users.py
    ("ops_core.db.rollups", None),
}


def test_every_command_the_readme_documents_is_run_by_a_test_here():
    documented = set()
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        found = re.match(r"^python -m (ops_core\.[\w.]+)(?: ([a-z]+)\b)?", line.strip())
        if found:
            module, word = found.groups()
            documented.add((module, word if word in ("export", "import", "score", "rfm", "report", "copy", "backup", "template") else None))
    assert documented == TESTED


# --- one test per command --------------------------------------------------------------------------


def test_demo_command_fills_an_empty_store_and_refuses_to_overwrite_one_without_replace(new_store_url):
    url = new_store_url()
    done = run("ops_core.demo", "--customers", "40", "--seed", "7", "--years", "1", url=url)
    assert done.returncode == 0, done.stderr
    assert "customers 40," in done.stdout
    assert lines(done.stderr)[-1].endswith("100% done")  # progress goes to stderr, the summary to stdout
    assert count(url, "customers") == 40

    again = run("ops_core.demo", "--customers", "40", "--seed", "7", "--years", "1", url=url)
    assert again.returncode == 2
    assert lines(again.stderr) == ["error: the store already holds 40 customers; use --replace to overwrite them "
                                   "with the demo company"]


def test_io_export_writes_every_customer_as_csv_and_excel_with_personal_data_masked(store, tmp_path):
    done = run("ops_core.io", "export", "customers", str(tmp_path / "customers.csv"), url=store)
    assert done.returncode == 0, done.stderr
    assert lines(done.stdout) == [f"exported {SMALL_CUSTOMERS} customers rows (English) to {tmp_path / 'customers.csv'} "
                                  f"from {redact_url(store)}"]
    notes, table = read_csv_file(tmp_path / "customers.csv")
    assert notes[0] == f"# Customers: {SMALL_CUSTOMERS} rows"
    assert len(table) == SMALL_CUSTOMERS
    assert "CU000001" in set(table["Customer code"])

    done = run("ops_core.io", "export", "contacts", str(tmp_path / "contacts.xlsx"), url=store)
    assert done.returncode == 0, done.stderr
    assert lines(done.stdout)[0].startswith(f"exported {count(store, 'contacts')} contacts rows "
                                            "(English, personal data masked) to ")
    sheet = openpyxl.load_workbook(tmp_path / "contacts.xlsx").active
    text = "\n".join(str(cell) for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None)
    assert "@" in text, "the contacts carry (masked) e-mails"
    assert not re.search(r"[A-Za-z0-9._%+-]{2,}@", text), "an e-mail left unmasked"
    assert not re.search(r"1[3-9]\d{9}", text), "a mobile number left unmasked"


def test_io_import_changes_nothing_on_a_second_load_previews_and_refuses_a_file_with_problems_whole(store, tmp_path):
    engine = make_engine(store)
    with engine.connect() as conn:   # the contracts as their file: codes, yuan, labels (ops_core.entity_files)
        table = entity_files.export_file(conn, "contracts", "en", masked=False)
    engine.dispose()
    before = count(store, "contracts")
    exported = tmp_path / "contracts.csv"
    exported.write_bytes(entity_files.file_bytes(table, "contracts", "en", "csv"))

    again = run("ops_core.io", "import", "contracts", str(exported), url=store)   # every row is stored already
    assert again.returncode == 0, again.stderr
    assert lines(again.stdout)[0].startswith(f"contracts.csv (Contracts): 0 added, 0 updated, {before} unchanged, 0 rejected.")

    new = table.head(1).assign(**{"Contract code": "HT20990000001"})   # a new contract of the first customer
    bad = table.head(1).assign(**{"Contract code": "HT20990000002", "Amount (yuan)": "12.345"})
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(entity_files.file_bytes(pd.concat([new, bad]), "contracts", "en", "csv"))
    refused = run("ops_core.io", "import", "contracts", str(mixed), url=store)
    assert refused.returncode == 2
    assert lines(refused.stderr)[0] == ("row 3, column 'Amount (yuan)': '12.345' has more than two decimals: "
                                        "give yuan with at most 2 decimals (fen)")
    assert lines(refused.stderr)[-1].startswith("error: mixed.csv: 1 of 2 rows have problems, so nothing was imported")
    assert count(store, "contracts") == before

    fresh = tmp_path / "new-contract.csv"
    fresh.write_bytes(entity_files.file_bytes(new, "contracts", "en", "csv"))
    preview = run("ops_core.io", "import", "contracts", str(fresh), "--dry-run", url=store)
    assert lines(preview.stdout) == ["new-contract.csv: 1 rows read: 1 to add, 0 to update, 0 unchanged, 0 rejected."]
    assert count(store, "contracts") == before
    done = run("ops_core.io", "import", "contracts", str(fresh), url=store)
    assert done.returncode == 0, done.stderr
    assert lines(done.stdout)[0].startswith("new-contract.csv (Contracts): 1 added, 0 updated, 0 unchanged, 0 rejected.")
    assert count(store, "contracts") == before + 1


def test_score_command_with_a_preset_saved_on_the_customer_page_writes_the_presets_scores(store, tmp_path):
    engine = make_engine(store)
    with engine.connect() as conn:  # the customers known by then and their scores, from the in-process call
        expected, _ = scoring.scored_table(conn, dt.date.fromisoformat(AS_OF), PRESET)
    engine.dispose()
    customers = len(expected)
    assert 0 < customers <= SMALL_CUSTOMERS
    out = tmp_path / "scores.csv"
    done = run("ops_core.scoring", "score", "--preset", PRESET, "--as-of", AS_OF, "--output", str(out), url=store)
    assert done.returncode == 0, done.stderr
    assert lines(done.stdout)[0].startswith(f"wrote {customers} customers' score rows as of {AS_OF} to {out}")
    notes, table = read_csv_file(out)
    assert notes[0] == f"# Ops Cockpit customer scores as of {AS_OF}, {customers} customers, preset '{PRESET}' (version 1)"
    assert table["Code"].tolist() == expected["code"].tolist()
    assert table["Score"].tolist() == pytest.approx(expected["score"].tolist(), abs=0.05)  # shown to one decimal

    plain = run("ops_core.scoring", "score", "--as-of", AS_OF, "--output", str(tmp_path / "plain.xlsx"), url=store)
    assert plain.returncode == 0, plain.stderr
    book = openpyxl.load_workbook(tmp_path / "plain.xlsx")
    assert book["score"].max_row == customers + 1  # a header and one row per customer
    assert book["About this file"]["A1"].value.endswith(f"{customers} customers, default weights")

    unknown = run("ops_core.scoring", "score", "--preset", "nosuch", "--output", str(tmp_path / "x.csv"), url=store)
    assert unknown.returncode == 2
    assert lines(unknown.stderr) == [f"error: no preset named 'nosuch'; known: {PRESET}"]
    assert not (tmp_path / "x.csv").exists()


def test_rfm_command_writes_every_customers_segment(store, tmp_path):
    out = tmp_path / "rfm.csv"
    done = run("ops_core.scoring", "rfm", "--as-of", AS_OF, "--output", str(out), url=store)
    assert done.returncode == 0, done.stderr
    engine = make_engine(store)
    with engine.connect() as conn:  # the customers who had ordered by then, from the in-process call
        expected, _ = scoring.rfm_export(conn, dt.date.fromisoformat(AS_OF))
    engine.dispose()
    assert 0 < len(expected) < SMALL_CUSTOMERS
    assert lines(done.stdout)[0].startswith(f"wrote {len(expected)} customers' rfm rows as of {AS_OF} to {out}")
    notes, table = read_csv_file(out)
    assert notes[0].startswith(f"# Ops Cockpit RFM as of {AS_OF}, {len(expected)} customers, made ")
    assert table["Code"].tolist() == expected["code"].tolist() and table["Segment"].notna().all()


@pytest.mark.parametrize("model", ["first", "last", "linear", "u"])
def test_events_report_command_writes_one_row_per_event_under_each_attribution_model(store, tmp_path, model):
    out = tmp_path / "events.csv"
    done = run("ops_core.events", "report", "--model", model, "--as-of", AS_OF, "--output", str(out), url=store)
    assert done.returncode == 0, done.stderr
    events = count(store, "events")
    assert lines(done.stdout)[0].startswith(f"wrote {events} events (model {model}) as of {AS_OF} to {out}")
    notes, table = read_csv_file(out)
    assert notes[0].startswith(f"# Event ROI report as of {AS_OF}: {events} events")
    assert notes[1].startswith(f"# Attribution: {MODEL_NAMES[model]} (")
    assert len(table) == events


def test_metrics_command_prints_every_level_one_metric_per_month_as_csv_and_json(store):
    done = run("ops_core.metrics", "--grain", "month", "--from", "2026-01", "--to", "2026-03", "--format", "csv", url=store)
    assert done.returncode == 0, done.stderr
    printed = pd.read_csv(io.StringIO(done.stdout))
    assert list(printed.columns) == ["period", "segment", "metric", "value"]
    assert sorted(printed["period"].unique()) == ["2026-01", "2026-02", "2026-03"]
    assert "arr" in set(printed["metric"])

    done = run("ops_core.metrics", "--grain", "month", "--from", "2026-03", "--to", "2026-03", "--segment", "industry",
               "--format", "json", url=store)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {row["period"] for row in rows} == {"2026-03"}
    industries = {row["segment"] for row in rows}
    assert len(industries) > 1 and industries <= set(values(Industry))

    bad = run("ops_core.metrics", "--grain", "month", "--from", "2026-13", "--to", "2026-03", url=store)
    assert bad.returncode == 2
    assert lines(bad.stderr) == ["error: '2026-13' is not a month period; write it like 2026-10"]


def test_snapshot_command_freezes_a_month_as_reported(store):
    period = last_month()
    done = run("ops_core.snapshot", "--period", period, "--grain", "month", url=store)
    assert done.returncode == 0, done.stderr
    froze = re.fullmatch(rf"froze (\d[\d,]*) values of {period} in .+", lines(done.stdout)[0])
    assert froze, done.stdout
    assert int(froze.group(1).replace(",", "")) > 0


@pytest.mark.parametrize(("kind", "grain", "fmt", "title"), [
    ("executive", "month", "html", "Monthly executive report"), ("product", "week", "md", "Weekly product and R&D report")])
def test_reports_command_writes_the_report_named_by_its_kind_and_period(store, tmp_path, kind, grain, fmt, title):
    period = last_month() if grain == "month" else f"{dt.date.today().isocalendar().year}-W{max(dt.date.today().isocalendar().week - 2, 1):02d}"
    out = tmp_path / f"report.{fmt}"
    done = run("ops_core.reports", "--kind", kind, "--grain", grain, "--period", period, "--format", fmt,
               "--output", str(out), url=store)
    assert done.returncode == 0, done.stderr
    assert lines(done.stdout)[0].startswith(f"wrote {title} {period} to {out}")
    text = out.read_text(encoding="utf-8")
    if fmt == "md":
        assert text.startswith(f"# {title} {period}\n")
    else:
        assert text.lstrip().lower().startswith("<!doctype html") and f"{title} {period}" in text


def test_rollups_command_checks_and_rebuilds_every_roll_up(store):
    checked = run("ops_core.db.rollups", "check", url=store)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == ("mrr_changes: 0 rows differ; usage_periods: 0 rows differ; "
                                      "mrr_totals: 0 rows differ; mrr_segment_totals: 0 rows differ; "
                                      "usage_totals: 0 rows differ")
    rebuilt = run("ops_core.db.rollups", "rebuild", url=store)
    assert rebuilt.returncode == 0, rebuilt.stderr
    written = dict(re.findall(r"(\w+) ([\d,]+) rows", rebuilt.stdout))
    assert {name: int(n.replace(",", "")) for name, n in written.items()} == {
        name: count(store, name) for name in ("usage_monthly", "usage_periods", "mrr_changes", "mrr_totals",
                                              "mrr_segment_totals", "usage_totals")}
    wrong = run("ops_core.db.rollups", "refresh", url=store)
    assert wrong.returncode == 2 and "invalid choice: 'refresh'" in wrong.stderr
