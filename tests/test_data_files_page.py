"""The data page's downloads of an entity's file: the template beside the export, named and labelled
in the reader's language."""
from __future__ import annotations

import pytest

from tests.conftest import ok, open_page


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", ["Download CSV", "Download Excel", "Template (CSV)", "Template (Excel)"]),
    ("zh", ["下载 CSV", "下载 Excel", "模板（CSV）", "模板（Excel）"]),
])
def test_the_data_page_offers_the_template_of_the_chosen_entity(demo_url, monkeypatch, lang, expected):
    page = open_page(demo_url, "pages/data.py", monkeypatch)
    page.session_state["ops_lang"] = lang
    page.session_state["export_entity"] = "payments"  # picked through the state: the picker shows labels
    ok(page.run())
    assert page.selectbox(key="export_entity").value == "payments"
    assert [e.proto.label for e in page.get("download_button")] == expected
