"""The presentation layer: stored values in, what a person reads out (yuan, labels, headers, formats)."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from ops_core import present, vocab
from ops_core.i18n import TEXT
from ops_core.present import Format, Kind


def stored_customers() -> pd.DataFrame:
    """Two customers as the store and the calculations hold them: cents, codes, ids."""
    return pd.DataFrame({
        "customer_id": [7, 8],
        "code": ["C0007", "C0008"],
        "arr_cents": [171603285, None],
        "industry": ["manufacturing", "food"],
        "region": ["east_china", None],
        "size_band": ["enterprise", "micro"],
        "csm_name": ["王芳", None],
    })


def test_a_customer_list_reads_in_yuan_with_labels_and_english_headers():
    shown, formats = present.frame(stored_customers(), "en")
    # 171603285 cents = 1,716,032.85 yuan; the id column is dropped; a missing text is empty, not "None".
    assert list(shown.columns) == ["Code", "ARR (¥)", "Industry", "Region", "Size band", "CSM"]
    assert shown.iloc[0].tolist() == ["C0007", 1716032.85, "Manufacturing", "East China", "Enterprise (5,000+)", "王芳"]
    second = shown.iloc[1].tolist()
    assert second[0] == "C0008" and math.isnan(second[1])
    assert second[2:] == ["Food & beverage", "", "Micro (<50)", ""]
    assert formats == {"ARR (¥)": Format(Kind.money, 2)}


def test_the_same_list_reads_in_chinese():
    shown, _ = present.frame(stored_customers(), "zh")
    assert list(shown.columns) == ["编号", "ARR（元）", "行业", "区域", "规模", "客户成功经理"]
    assert shown.iloc[0].tolist() == ["C0007", 1716032.85, "制造业", "华东", "超大型（5000人以上）", "王芳"]


def test_a_churn_drill_down_shows_yuan_under_headers_that_say_yuan():
    stored = pd.DataFrame({"customer_id": [3], "code": ["C0003"], "name": ["Acme"], "start_mrr": [6462500],
                           "change": [-6462500]})
    shown, formats = present.frame(stored, "en")
    # 6,462,500 cents = 64,625.00 yuan, the fall as large as the start.
    assert shown.to_dict("records") == [{"Code": "C0003", "Customer": "Acme", "MRR at the start (¥)": 64625.0,
                                         "Change (¥)": -64625.0}]
    assert {f.excel for f in formats.values()} == {"#,##0.00"}


def test_ratios_stay_ratios_with_a_percent_format():
    stored = pd.DataFrame({"name": ["Expo"], "roi": [1.6615], "share": [0.25]})
    shown, formats = present.frame(stored, "en")
    assert shown.to_dict("records") == [{"Customer": "Expo", "ROI": 1.6615, "Share": 0.25}]
    assert formats["ROI"].excel == "0.0%" and formats["Share"].excel == "0.0%"


def test_event_codes_become_labels_in_both_languages():
    stored = pd.DataFrame({"format": ["offline"], "kind": ["supplier_conference"], "organisation": ["self_hosted"],
                           "category": ["advertising"]})
    assert present.frame(stored, "en")[0].iloc[0].tolist() == ["Offline", "Supplier conference", "Self-hosted",
                                                                "Advertising"]
    assert present.frame(stored, "zh")[0].iloc[0].tolist() == ["线下", "供应商大会", "自办", "广告"]


def test_next_action_codes_and_missing_roles_become_words():
    stored = pd.DataFrame({"reason": ["chain_gap", "renewal_risk"], "missing_roles": ["boss,veto_head", ""],
                           "priority": [1, 3]})
    shown, _ = present.frame(stored, "en")
    assert shown.to_dict("records") == [
        {"Reason": "Decision chain incomplete", "Missing roles": "Decision-making boss, Department head with a veto",
         "Priority": 1},
        {"Reason": "Renewal at risk", "Missing roles": "", "Priority": 3}]
    assert present.frame(stored, "zh")[0].iloc[0, 1] == "决策老板、有否决权的部门负责人"


def test_a_page_names_the_vocabulary_a_shared_column_name_means_there():
    stored = pd.DataFrame({"status": ["in_development"]})
    assert present.frame(stored, "en")[0].iloc[0, 0] == "in_development"  # not a feedback status
    shown, _ = present.frame(stored, "en", columns=present.with_vocabulary("status", vocab.DemandStatus))
    assert shown.iloc[0, 0] == "In development"


def test_dates_are_dates_and_missing_dates_are_empty():
    stored = pd.DataFrame({"start_date": pd.to_datetime(["2026-03-01", None]),
                           "received_at": pd.to_datetime(["2026-03-01 09:30", None])})
    shown, formats = present.frame(stored, "en")
    assert shown["Starts"].tolist() == [dt.date(2026, 3, 1), None]
    assert shown["Received"].iloc[0] == pd.Timestamp("2026-03-01 09:30") and shown["Received"].iloc[1] is None
    assert formats["Starts"].excel == "yyyy-mm-dd" and formats["Received"].excel == "yyyy-mm-dd hh:mm"


def test_feedback_groups_read_as_words():
    stored = pd.DataFrame({"items": [4], "customers": [3], "representative": ["导出报表很慢"],
                           "customer_names": ["甲公司, 乙公司"]})
    assert list(present.frame(stored, "en")[0].columns) == ["Items", "Customers", "Example text", "Customers asking"]
    assert list(present.frame(stored, "zh")[0].columns) == ["条数", "客户数", "代表性内容", "提出的客户"]


@pytest.mark.parametrize(("cents", "lang", "text"), [
    (4_967_000_000, "en", "¥49.67M"),
    (4_967_000_000, "zh", "¥4,967.0万"),
    (12_345_678_900, "zh", "¥1.23亿"),  # 123,456,789 yuan
    (-6_462_500, "en", "-¥64.62K"),
    (9_900, "zh", "¥99"),
    (None, "en", "—"),
], ids=["millions", "wan", "yi", "negative", "small", "missing"])
def test_metric_tiles_write_money_compactly(cents, lang, text):
    assert present.money(cents, lang) == text


def test_every_catalogued_header_and_label_key_exists_in_both_languages():
    for name, spec in present.CATALOGUE.items():
        assert spec.header in TEXT, name
        if spec.kind == Kind.vocabulary:
            assert spec.vocabulary is not None, name
    for key in [k for k in TEXT if k.split(".")[0] in ("action", "goal", "step", "model", "rfm", "catalogue")]:
        assert all(TEXT[key]), key


def test_unknown_columns_pass_through_and_ids_never_show():
    stored = pd.DataFrame({"customer_id": [1], "contract_id": [2], "csm_id": [3], "whatever": [None]})
    shown, _ = present.frame(stored, "en")
    assert shown.to_dict("records") == [{"whatever": ""}]


def test_flags_read_yes_or_no_and_unknown_flags_stay_empty():
    stored = pd.DataFrame({"key_contact_change": [True, False, None]}, dtype=object)
    assert present.frame(stored, "en")[0].iloc[:, 0].tolist() == ["yes", "no", ""]
    assert present.frame(stored, "zh")[0].iloc[:, 0].tolist() == ["是", "否", ""]


def test_a_count_column_with_a_fraction_keeps_its_fraction():
    stored = pd.DataFrame({"customers": [2.5, 3.0, None]})  # e.g. an average over demands
    shown = present.frame(stored, "en")[0]["Customers"]
    assert shown.iloc[0] == 2.5 and shown.iloc[1] == 3.0 and pd.isna(shown.iloc[2])
    assert present.frame(pd.DataFrame({"customers": [2.0, None]}), "en")[0]["Customers"].tolist() == [2, pd.NA]


@pytest.mark.parametrize(("unit", "value", "lang", "text"), [
    ("cents", 171603285, "en", "¥1,716,033"),  # 1,716,032.85 yuan, whole yuan in the explanation
    ("ratio", 0.25, "en", "+25%"),
    ("ratio", None, "zh", "前 12 个月无订单"),
    ("category", "customised", "zh", "定制型"),
    ("employees", 1200, "en", "1,200 employees"),
], ids=["cents", "growth", "no-baseline", "category", "employees"])
def test_a_dimensions_raw_value_reads_in_units_a_person_knows(unit, value, lang, text):
    assert present.dimension_value(unit, value, lang) == text


def test_the_audit_log_reads_its_kinds_of_change_and_tables_as_words():
    """Seen on the data page: create, update, import, feedback as the store writes them."""
    stored = pd.DataFrame({"at": [dt.datetime(2026, 12, 1, 9, 30)] * 3, "actor": ["admin", "admin", "system"],
                           "action": ["create", "update", "import"], "entity": ["feedback", "demands", "customers"],
                           "entity_id": ["12", "7", None]})
    english, _ = present.frame(stored, "en")
    assert list(english.columns) == ["When", "Who", "Action", "Table"]  # the record's id is not shown
    assert english["Action"].tolist() == ["Created", "Changed", "Imported from a file"]
    assert english["Table"].tolist() == ["Feedback", "Demands", "Customers"]
    chinese, _ = present.frame(stored, "zh")
    assert chinese["操作"].tolist() == ["新建", "修改", "从文件导入"]
    assert chinese["数据表"].tolist() == ["反馈", "需求", "客户"]
