"""The layering rule: ops_core never imports streamlit; pages hold no SQL and no formulas."""
from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT

CORE_MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for path in (ROOT / "ops_core").rglob("*.py")
    if "migrations" not in path.parts and path.name != "__main__.py"
)


def test_importing_every_ops_core_module_does_not_import_streamlit():
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in CORE_MODULES) + \
        "print('streamlit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert len(CORE_MODULES) > 10
    assert result.stdout.strip() == "False"


def test_no_ops_core_source_mentions_streamlit_imports():
    offenders = [p.name for p in (ROOT / "ops_core").rglob("*.py") if re.search(r"^\s*(import|from)\s+streamlit", p.read_text(), re.M)]
    assert offenders == []


FORBIDDEN_IN_PAGES = [r"\bselect\(", r"\.groupby\(", r"\btext\(", r"exec_driver_sql", r"\.execute\(", r"\bINSERT\b", r"\bUPDATE\b"]


def test_pages_contain_no_sql_or_aggregation():
    found = []
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "cockpit").glob("*.py")]:
        source = path.read_text()
        found += [f"{path.name}: {pattern}" for pattern in FORBIDDEN_IN_PAGES if re.search(pattern, source)]
    assert found == []


def test_pages_folder_holds_only_page_scripts():
    """Streamlit lists every file of pages/ on a fresh start, so helpers live in cockpit/."""
    app_pages = set(re.findall(r'st\.Page\("(pages/\w+\.py)"', (ROOT / "app.py").read_text()))
    on_disk = {f"pages/{p.name}" for p in (ROOT / "pages").iterdir() if p.name != "__pycache__"}
    assert on_disk == app_pages
