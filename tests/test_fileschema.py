"""The file schemas: every declaration keeps the rules, each rule catches what it is for, and the
declared keys, defaults and derivations are the ones the files need."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from ops_core import demo, fileschema, io, vocab
from ops_core.db.models import TABLES
from ops_core.fileschema import SCHEMAS, Derivation, FileSchema, FromRef, Kind, header_key
from tests.wording import english_words

LOAD_ORDER = ["customers", "contacts", "contracts", "invoices", "payments", "usage", "feedback", "events",
              "event_costs", "leads", "lead_touches"]


def test_the_declarations_keep_every_rule():
    assert fileschema.schema_problems() == []


def test_every_importable_entity_is_declared_in_load_order_on_its_table():
    assert list(SCHEMAS) == LOAD_ORDER
    assert tuple(SCHEMAS) == io.ENTITIES


@pytest.mark.parametrize("entity", LOAD_ORDER)
@pytest.mark.parametrize("rule", fileschema.RULES, ids=lambda r: r.__name__)
def test_each_rule_holds_for_each_schema(rule, entity):
    assert rule(SCHEMAS[entity]) == []


def _with_field(entity: str, field_name: str, **changes) -> FileSchema:
    schema = SCHEMAS[entity]
    fields = tuple(dataclasses.replace(f, **changes) if f.name == field_name else f for f in schema.fields)
    return dataclasses.replace(schema, fields=fields)


def _without_field(entity: str, name: str) -> FileSchema:
    schema = SCHEMAS[entity]
    return dataclasses.replace(schema, fields=tuple(f for f in schema.fields if f.name != name))


# Each broken declaration and the sentence its rule gives.
BROKEN = [
    (fileschema.rule_names_unique,
     lambda: dataclasses.replace(SCHEMAS["payments"], fields=SCHEMAS["payments"].fields + SCHEMAS["payments"].fields[:1]),
     ["payments: field 'reference' is declared more than once"]),
    (fileschema.rule_headers_unique, lambda: _with_field("contracts", "delivery_cost", aliases=("金额",)),
     ["contracts: '金额' names both 'amount' and 'delivery_cost'"]),
    (fileschema.rule_headers_unique, lambda: _with_field("invoices", "due_on", aliases=("Issued_On",)),
     ["invoices: 'issued on' names both 'issued_on' and 'due_on'"]),
    (fileschema.rule_texts_present, lambda: _with_field("usage", "sessions", help_zh=" "),
     ["usage.sessions: help_zh is empty"]),
    (fileschema.rule_columns_exist, lambda: _with_field("contracts", "amount", kind=Kind.whole),
     ["contracts.amount: money fields and only they fill *_cents columns"]),
    (fileschema.rule_columns_exist, lambda: _with_field("customers", "code", maximum=100),
     ["customers.code: its maximum length must fit code (32)"]),
    (fileschema.rule_columns_exist, lambda: _with_field("customers", "created_on", kind=Kind.text, maximum=10),
     ["customers.created_on: a text field cannot fill created_on (DATE)"]),
    (fileschema.rule_no_internal_ids,
     lambda: _with_field("contracts", "customer", name="customer_id", kind=Kind.whole, column="customer_id", ref=None,
                         ref_field=None, ref_column=None),
     ["contracts.customer_id: an internal id appears as a field"]),
    (fileschema.rule_columns_filled, lambda: _without_field("contracts", "end_date"),
     ["contracts: column end_date is NOT NULL and no field, default or derivation fills it"]),
    (fileschema.rule_columns_filled, lambda: _with_field("customers", "partnership_level", default=None),
     ["customers: column partnership_level is NOT NULL and no field, default or derivation fills it"]),
    (fileschema.rule_columns_filled, lambda: dataclasses.replace(SCHEMAS["feedback"], on_create={}),
     ["feedback: column status is NOT NULL and no field, default or derivation fills it"]),
    (fileschema.rule_defaults_valid, lambda: _with_field("customers", "demand_type", default="bespoke"),
     ["customers.demand_type: default 'bespoke' is not a DemandType code"]),
    (fileschema.rule_defaults_valid,
     lambda: _with_field("invoices", "customer", default=FromRef("issued_on", "customer", "x", "x")),
     ["invoices.customer: its default goes through 'issued_on', which is not a reference here"]),
    (fileschema.rule_defaults_valid, lambda: _with_field("contracts", "end_date", default=dt.date(2030, 1, 1)),
     ["contracts.end_date: is required and has a default"]),
    (fileschema.rule_keys_required, lambda: _with_field("payments", "reference", required=False, kind=Kind.whole),
     ["payments: key field 'reference' is optional"]),
    (fileschema.rule_references_keys, lambda: _with_field("invoices", "contract", ref_field="signed_on"),
     ["invoices.contract: 'signed_on' is not a key field of contracts"]),
    (fileschema.rule_references_keys, lambda: _with_field("contracts", "customer", ref="leads"),
     ["contracts.customer: refers to leads, which loads after contracts",
      "contracts.customer: 'code' is not a key field of leads",
      "contracts.customer: customer_id does not refer to leads"]),
    (fileschema.rule_references_keys, lambda: _with_field("customers", "csm", ref="staff"),
     ["customers.csm: refers to 'staff', which is neither declared nor a lookup"]),
]


@pytest.mark.parametrize(("rule", "broken", "expected"), BROKEN, ids=[f"{r.__name__}-{i}" for i, (r, _, _) in enumerate(BROKEN)])
def test_each_rule_names_what_is_broken(rule, broken, expected):
    assert rule(broken()) == expected


def test_a_header_is_compared_without_case_width_or_separators():
    assert header_key("Customer_Code") == header_key("customer  code") == header_key("ＣＵＳＴＯＭＥＲ　ＣＯＤＥ") \
        == "customer code"
    assert header_key("合同金额（元）") == header_key("合同金额(元)")
    contracts = SCHEMAS["contracts"]
    assert [contracts.match(h).name for h in ("合同编号", "客户编码", "合同金额（元）", "起始日期", "到期日期", "签约日期")] == \
        ["code", "customer", "amount", "start_date", "end_date", "signed_on"]
    assert contracts.match("amount_cents") is None  # cents are never read as yuan


def test_the_chinese_headers_and_help_hold_no_english_word():
    words = {}
    for schema in SCHEMAS.values():
        for f in schema.fields:
            data = [label for pair in _labels(f) for label in pair]
            found = english_words(f"{f.zh} {f.help_zh} {_described(f, 'zh')}", data)
            if found:
                words[f"{schema.entity}.{f.name}"] = found
    assert words == {}


def _labels(f):
    from ops_core.cells import labels_of

    return labels_of(f.vocabulary).values() if f.vocabulary is not None else ()


def _described(f, lang):
    return f.default.describe(lang) if isinstance(f.default, (Derivation, FromRef)) else ""


def test_business_keys():
    assert {name: s.keys for name, s in SCHEMAS.items()} == {
        "customers": (("code",),),
        "contacts": (("customer", "email"), ("customer", "phone"), ("customer", "name")),
        "contracts": (("code",),),
        "invoices": (("number",),),
        "payments": (("reference",),),
        "usage": (("customer", "day"),),
        "feedback": (("customer", "received_at"),),
        "events": (("name", "start_date"),),
        "event_costs": (("event", "event_start", "category", "note"),),
        "leads": (("company", "contact_name"),),
        "lead_touches": (("lead_company", "lead_contact", "event", "event_start"),),
    }


def test_personal_fields_are_the_names_phones_and_emails_of_people():
    personal = {f"{s.entity}.{f.name}": f.personal for s in SCHEMAS.values() for f in s.fields if f.personal}
    assert personal == {"contacts.name": "name", "contacts.email": "email", "contacts.phone": "phone",
                        "leads.contact_name": "name", "leads.phone": "phone", "leads.email": "email",
                        "lead_touches.lead_contact": "name"}


def test_derivations():
    customers, contracts = SCHEMAS["customers"], SCHEMAS["contracts"]
    size = customers.field("size_band").default
    # The bands of vocab.SizeBand: <50 micro, <250 small, <1000 medium, <5000 large, else enterprise.
    assert [size({"employees": n}) for n in (0, 49, 50, 999, 1000, 4999, 5000)] == \
        ["micro", "micro", "small", "medium", "large", "large", "enterprise"]
    kind = contracts.field("kind").default
    assert kind({"renewal_of": "C-1"}) == "renewal"
    assert kind({"renewal_of": None}) == "new"
    assert contracts.field("signed_on").default({"start_date": dt.date(2025, 3, 1)}) == dt.date(2025, 3, 1)
    touched = SCHEMAS["lead_touches"].field("touched_at").default
    assert touched({"event_start": dt.date(2025, 3, 1)}) == dt.datetime(2025, 3, 1, 0, 0)
    assert SCHEMAS["invoices"].field("customer").default == FromRef("contract", "customer", "the contract's customer",
                                                                    "合同所属客户")
    assert customers.field("partnership_level").default == vocab.PartnershipLevel.basic
    assert customers.field("demand_type").default == vocab.DemandType.standard
    assert customers.field("created_on").required  # never the import day: cohorts and new-customer counts read it


def test_the_csm_is_named_through_the_csm_list():
    csm = SCHEMAS["customers"].field("csm")
    assert (csm.ref, csm.ref_field, csm.ref_column) == ("csms", "name", "csm_id")
    assert fileschema.LOOKUPS["csms"].table == "csms"


def test_workflow_columns_of_feedback_are_not_in_its_file():
    names = {f.column for f in SCHEMAS["feedback"].fields}
    assert names.isdisjoint({"status", "type", "suggested_type", "demand_id", "faq_id", "duplicate_of_id",
                             "first_response_at", "resolved_at", "closed_at", "informed_at"})
    assert SCHEMAS["feedback"].on_create == {"status": "new"}


def test_the_demo_gives_every_payment_a_unique_receipt_number_and_every_cost_line_a_distinct_key(fresh_engine):
    demo.generate(fresh_engine, customers=30, years=1, seed=3, end=dt.date(2025, 12, 31))
    payments, costs = TABLES["payments"], TABLES["event_costs"]
    with fresh_engine.connect() as conn:
        rows = conn.execute(select(payments.c.id, payments.c.reference, payments.c.paid_on).order_by(payments.c.id)).all()
        lines = conn.execute(select(costs.c.event_id, costs.c.category, costs.c.note)).all()
    assert rows and all(ref == f"R{paid.year}-{pid:06d}" for pid, ref, paid in rows)
    assert len({r.reference for r in rows}) == len(rows)
    assert len(set(lines)) == len(lines)
