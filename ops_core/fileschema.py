"""What a file of each entity looks like to the person who brings or receives it, declared once.

A file schema is separate from the table: its fields are named and headed in the reader's language,
money is in yuan, vocabularies are labels, and other entities are named by their business keys
(a contract's customer by the customer's code), never by the store's internal ids. Import, export,
templates, the data page and the README's field tables all read these declarations.

Kinds of field (``Kind``) and how a cell of each is read are in ``ops_core.cells``.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Float, Integer, String, Text

from ops_core import vocab
from ops_core.db.models import TABLES, entered_columns


class Kind(StrEnum):
    text = "text"          # free text, trimmed; ``maximum`` is its length limit
    whole = "whole"        # a whole number within minimum..maximum
    decimal = "decimal"    # a number with a fraction (effort in days)
    money = "money"        # yuan in the file (12000, 12,000.00, ¥12,000), cents in the store
    date = "date"          # 2025-03-01, 2025/3/1, 2025.3.1, 2025年3月1日 or an Excel date cell
    datetime = "datetime"  # a date with an optional time of day
    yes_no = "yes_no"      # yes/no, true/false, 1/0, 是/否
    choice = "choice"      # one value of a vocabulary: its code, English or Chinese label
    choices = "choices"    # several values of a vocabulary, separated by commas
    ref = "ref"            # another entity named by (part of) its business key


@dataclass(frozen=True)
class Field:
    """One column of an entity's file.

    ``column`` is the table column it fills (None for a reference, which the import resolves into
    ``ref_column``). A required field must have a value in every row; an optional one takes
    ``default`` when blank: a value (as stored: a code, cents, a date), a ``Derivation`` (a
    function of the row's other typed values, by field name) or a ``FromRef`` (a value the row's
    other reference names: an invoice's customer is its contract's customer).

    ``personal`` says which kind of personal data the field holds ("name", "phone", "email"; empty
    for none): masked on export unless an admin asks, by ``exports.mask_*`` of that kind.
    ``minimum``/``maximum`` are in the file's terms: yuan for money, characters for text.
    """

    name: str
    en: str
    zh: str
    kind: Kind
    column: str | None = None
    required: bool = False
    default: Any | Callable[[Mapping[str, Any]], Any] = None
    aliases: tuple[str, ...] = ()
    vocabulary: type[StrEnum] | None = None   # for choice / choices
    ref: str | None = None                    # for ref: the entity referred to ...
    ref_field: str | None = None              # ... and which of its key fields this cell holds
    ref_column: str | None = None             # the id column it fills (``customer_id``)
    minimum: float | None = None
    maximum: float | None = None
    personal: str = ""                        # "name", "phone" or "email": masked on export unless asked
    help_en: str = ""
    help_zh: str = ""

    def header(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def help(self, lang: str) -> str:
        return self.help_zh if lang == "zh" else self.help_en

    def names(self) -> tuple[str, ...]:
        """Every header this field answers to: its name, both headers and the aliases."""
        return (self.name, self.en, self.zh, *self.aliases)


@dataclass(frozen=True)
class FileSchema:
    """An entity's file: its fields in file order and the business key that identifies a row.

    ``keys`` lists the key field sets to try in order (contacts: by e-mail, else phone, else name,
    each within the customer); the first set whose fields all have values identifies the row.
    A row whose key is stored already is an update, never a second record. A key field is required,
    except in an alternative key set that a later set backs up (a contact's e-mail or phone), and
    except optional text (an event cost's note), where a blank cell is a value of the key and
    matches a stored empty one (NULL or '').

    ``on_create`` gives columns the file does not carry their value in a new record (a feedback
    item starts ``new``); an update never touches them.
    """

    entity: str
    table: str
    en: str
    zh: str
    fields: tuple[Field, ...]
    keys: tuple[tuple[str, ...], ...]
    after_import: str | None = None  # "module:function" refreshed with the Connection and customer ids
    on_create: Mapping[str, Any] = field(default_factory=dict)

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def title(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def key_fields(self) -> tuple[str, ...]:
        """Every field of any key set, each once, in file order."""
        named = {name for names in self.keys for name in names}
        return tuple(f.name for f in self.fields if f.name in named)

    def match(self, header: str) -> Field | None:
        """The field a file's header names (through ``header_key``), or None."""
        wanted = header_key(header)
        for candidate in self.fields:
            if wanted in {header_key(name) for name in candidate.names()}:
                return candidate
        return None


def header_key(text: str) -> str:
    """A header as it is compared: full-width folded (NFKC), any case, and ``_``, ``-`` and runs of
    spaces alike, so ``Customer_Code``, ``customer code`` and ``ＣＵＳＴＯＭＥＲ　ＣＯＤＥ`` are one header."""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return _SPACES.sub(" ", folded).strip()


_SPACES = re.compile(r"[\s_\-]+")


@dataclass(frozen=True)
class Derivation:
    """A default computed from the row's other typed values (by field name); ``en``/``zh`` say how,
    for templates and the data page."""

    function: Callable[[Mapping[str, Any]], Any]
    en: str
    zh: str

    def __call__(self, row: Mapping[str, Any]) -> Any:
        return self.function(row)

    def describe(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class FromRef:
    """A default taken from the row that another reference of this row names: ``via`` is that
    reference field (an invoice's ``contract``), ``take`` the referenced entity's field whose stored
    value this field gets (the contract's ``customer``, i.e. contracts.customer_id)."""

    via: str
    take: str
    en: str
    zh: str

    def describe(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Lookup:
    """A stored list that files name but do not import (CSMs by name): its table and naming column.
    Names are matched as ``cells.normalise`` does; a name two rows share is ambiguous and refused."""

    entity: str
    table: str
    column: str
    en: str
    zh: str


LOOKUPS: dict[str, Lookup] = {
    "csms": Lookup("csms", "csms", "name", "CSMs", "客户成功经理"),
}

# Kinds of personal data (``Field.personal``).
NAME, PHONE, EMAIL = "name", "phone", "email"


def size_band_of(row: Mapping[str, Any]) -> str | None:
    """The size band of a customer's head count (the bands of vocab.SizeBand)."""
    employees = row.get("employees")
    if employees is None:
        return None
    for band, below in ((vocab.SizeBand.micro, 50), (vocab.SizeBand.small, 250), (vocab.SizeBand.medium, 1000),
                        (vocab.SizeBand.large, 5000)):
        if employees < below:
            return band.value
    return vocab.SizeBand.enterprise.value


def same_as(name: str, en: str, zh: str) -> Derivation:
    """A default that repeats another field of the row (a contract signed on its start day)."""
    return Derivation(lambda row: row.get(name), en, zh)


def _kind_of_contract(row: Mapping[str, Any]) -> str:
    return (vocab.ContractKind.renewal if row.get("renewal_of") is not None else vocab.ContractKind.new).value


def _start_of_day(name: str) -> Callable[[Mapping[str, Any]], Any]:
    def start(row: Mapping[str, Any]) -> Any:
        day = row.get(name)
        return dt.datetime.combine(day, dt.time()) if isinstance(day, dt.date) else None
    return start


# Limits in the file's terms: yuan for one amount, counts for one day of one account.
MAX_YUAN = 10_000_000_000          # ten billion yuan: far above any one contract, invoice or cost line
MAX_DAILY_COUNT = 1_000_000_000

# The schemas, in load order: an entity only refers to entities above it (or to itself: a renewal
# names the contract it renews). Each entity's declaration lists its fields as a person reads the
# file, key fields first.
SCHEMAS: dict[str, FileSchema] = {}


def declare(schema: FileSchema) -> FileSchema:
    SCHEMAS[schema.entity] = schema
    return schema


def _customer_ref(*, required: bool = True, default: Any = None, help_en: str = "", help_zh: str = "") -> Field:
    """The customer a row belongs to, named by the customer's code (the same field in every file)."""
    return Field("customer", "Customer code", "客户编号", Kind.ref, required=required, default=default,
                 ref="customers", ref_field="code", ref_column="customer_id", maximum=32,
                 aliases=("customer", "customer_code", "customer id", "customer no", "account code", "客户编码",
                          "客户代码", "客户号"),
                 help_en=help_en or "The code of the customer, as in the customer file.",
                 help_zh=help_zh or "客户编号，与客户文件中的一致。")


def _yes_no(name: str, en: str, zh: str, aliases: tuple[str, ...], help_en: str, help_zh: str) -> Field:
    """A yes/no field of a customer that is "no" when blank."""
    return Field(name, en, zh, Kind.yes_no, column=name, default=False, aliases=aliases,
                 help_en=f"{help_en} Yes or no; no when empty.", help_zh=f"{help_zh}填是或否；留空为否。")


declare(FileSchema(
    entity="customers", table="customers", en="Customers", zh="客户",
    keys=(("code",),),
    fields=(
        Field("code", "Customer code", "客户编号", Kind.text, column="code", required=True, maximum=32,
              aliases=("customer code", "customer_code", "customer id", "customer no", "account code", "客户编码",
                       "客户代码", "客户号"),
              help_en="Your code for the customer, as in your CRM; it identifies the customer in every file.",
              help_zh="您在客户管理系统中使用的客户编号；在所有文件中用它识别客户。"),
        Field("name", "Customer name", "客户名称", Kind.text, column="name", required=True, maximum=256,
              aliases=("company", "company name", "account name", "customer", "客户", "公司名称", "企业名称", "客户全称"),
              help_en="The customer's company name.", help_zh="客户的公司名称。"),
        Field("industry", "Industry", "行业", Kind.choice, column="industry", required=True, vocabulary=vocab.Industry,
              aliases=("sector", "所属行业", "行业分类"),
              help_en="The industry the company works in.", help_zh="公司所属的行业。"),
        Field("region", "Region", "区域", Kind.choice, column="region", required=True, vocabulary=vocab.Region,
              aliases=("area", "sales region", "大区", "地区", "所属区域", "销售区域"),
              help_en="The sales region the customer belongs to.", help_zh="客户所属的销售区域。"),
        Field("employees", "Employees", "员工人数", Kind.whole, column="employees", required=True, minimum=0,
              maximum=10_000_000, aliases=("headcount", "staff", "employee count", "number of employees", "人数",
                                           "员工数", "公司人数"),
              help_en="The customer's head count, a whole number.", help_zh="客户的员工人数，整数。"),
        Field("size_band", "Size band", "规模档", Kind.choice, column="size_band", vocabulary=vocab.SizeBand,
              default=Derivation(size_band_of, "from the employees", "按员工人数推算"),
              aliases=("size", "company size", "规模", "企业规模", "公司规模"),
              help_en="Derived from the employees when left empty.", help_zh="留空时按员工人数推算。"),
        Field("partnership_level", "Partnership level", "合作级别", Kind.choice, column="partnership_level",
              vocabulary=vocab.PartnershipLevel, default=vocab.PartnershipLevel.basic.value,
              aliases=("partnership", "partner level", "cooperation level", "合作等级", "合作伙伴级别"),
              help_en="Basic when left empty.", help_zh="留空为普通。"),
        Field("demand_type", "Demand type", "需求类型", Kind.choice, column="demand_type", vocabulary=vocab.DemandType,
              default=vocab.DemandType.standard.value,
              aliases=("product demand type", "产品需求类型"),
              help_en="What the customer needs of the product; standard product when left empty.",
              help_zh="客户对产品的需求类型；留空为标准化产品。"),
        _yes_no("fortune500", "Fortune 500", "世界500强", ("fortune 500 company", "global 500", "是否500强", "500强"),
                "Whether the customer is a Fortune Global 500 company.", "是否为世界 500 强企业。"),
        _yes_no("listed", "Listed company", "上市公司", ("listed", "public company", "是否上市", "已上市"),
                "Whether the customer is listed on a stock exchange.", "是否为上市公司。"),
        _yes_no("high_valuation", "High valuation", "高估值企业", ("high valuation company", "unicorn", "是否高估值", "独角兽"),
                "Whether the customer is a highly valued private company.", "是否为高估值企业。"),
        _yes_no("reference_case", "Reference case", "标杆案例", ("reference", "reference customer", "是否标杆", "标杆客户"),
                "Whether the customer is one of your reference cases.", "是否为标杆案例客户。"),
        _yes_no("competitor_price_cut", "Competitor price cut", "竞品降价", ("competitor discount", "竞品低价", "竞争对手降价"),
                "Whether a competitor is offering this customer a lower price.", "是否有竞品向该客户降价。"),
        Field("csm", "CSM", "客户成功经理", Kind.ref, ref="csms", ref_field="name", ref_column="csm_id", maximum=128,
              aliases=("csm name", "customer success manager", "account manager", "负责人", "CSM 姓名", "客户经理"),
              help_en="The name of the customer's CSM, as listed under Settings; empty when none is assigned.",
              help_zh="负责该客户的客户成功经理姓名，需与设置中的名单一致；未分配时留空。"),
        Field("created_on", "Customer since", "建档日期", Kind.date, column="created_on", required=True,
              aliases=("created", "created on", "created at", "create date", "created date", "创建日期", "创建时间",
                       "建档时间", "录入日期"),
              help_en="The day the customer was created in your CRM. Required: new-customer counts and cohorts "
                      "read it, so neither the day of the import nor a later contract may stand in for it.",
              help_zh="客户在客户管理系统中建档的日期。必填：新客户数和同期群分析都依据它，不能用导入当天或之后的合同代替。"),
    ),
))

declare(FileSchema(
    entity="contacts", table="contacts", en="Contacts", zh="联系人",
    keys=(("customer", "email"), ("customer", "phone"), ("customer", "name")),
    fields=(
        _customer_ref(help_en="The code of the customer the person works for.", help_zh="联系人所在客户的客户编号。"),
        Field("name", "Contact name", "联系人姓名", Kind.text, column="name", required=True, maximum=128, personal=NAME,
              aliases=("contact", "full name", "person", "联系人", "姓名", "联系人名称"),
              help_en="The person's name.", help_zh="联系人的姓名。"),
        Field("email", "E-mail", "电子邮箱", Kind.text, column="email", maximum=256, personal=EMAIL,
              aliases=("email", "email address", "e-mail address", "mail", "邮箱", "邮件地址", "电子邮件"),
              help_en="The person's e-mail address; it identifies the contact within the customer.",
              help_zh="联系人的电子邮箱；在同一客户内用它识别联系人。"),
        Field("phone", "Phone", "电话", Kind.text, column="phone", maximum=32, personal=PHONE,
              aliases=("mobile", "telephone", "phone number", "mobile phone", "手机", "手机号", "联系电话", "电话号码"),
              help_en="The person's phone; identifies the contact when there is no e-mail.",
              help_zh="联系人的电话；没有邮箱时用它识别联系人。"),
        Field("title", "Job title", "职务", Kind.text, column="title", maximum=128,
              aliases=("title", "position", "job", "职位", "岗位", "头衔"),
              help_en="The person's job title, as entered.", help_zh="联系人的职务，按原样填写。"),
        Field("role", "Role", "角色", Kind.choice, column="role", vocabulary=vocab.ContactRole,
              default=vocab.ContactRole.user.value,
              aliases=("contact role", "decision role", "联系人角色", "决策角色"),
              help_en="The person's part in decisions; user when left empty.", help_zh="联系人在决策中的角色；留空为使用者。"),
        Field("is_key", "Key contact", "关键联系人", Kind.yes_no, column="is_key", default=False,
              aliases=("key", "is key", "primary contact", "main contact", "是否关键联系人", "主要联系人"),
              help_en="Whether this is a key contact. Yes or no; no when empty.", help_zh="是否为关键联系人。填是或否；留空为否。"),
        Field("start_date", "Contact since", "起始日期", Kind.date, column="start_date", required=True,
              aliases=("start date", "since", "created", "created on", "开始日期", "创建日期", "任职开始"),
              help_en="The day the person became the customer's contact (a CRM's creation date will do).",
              help_zh="此人成为客户联系人的日期（可用客户管理系统中的创建日期）。"),
        Field("end_date", "Contact until", "结束日期", Kind.date, column="end_date",
              aliases=("end date", "until", "left on", "离职日期", "截止日期"),
              help_en="The day the person stopped being a contact; empty while they still are.",
              help_zh="此人不再是联系人的日期；仍在职时留空。"),
    ),
))

declare(FileSchema(
    entity="contracts", table="contracts", en="Contracts", zh="合同",
    keys=(("code",),),
    fields=(
        Field("code", "Contract code", "合同编号", Kind.text, column="code", required=True, maximum=32,
              aliases=("contract code", "contract no", "contract number", "contract id", "合同号", "合同编码", "合同代码"),
              help_en="Your code for the contract; it identifies the contract in every file.",
              help_zh="合同编号；在所有文件中用它识别合同。"),
        _customer_ref(help_en="The code of the customer who signed.", help_zh="签约客户的客户编号。"),
        Field("kind", "Contract kind", "合同类型", Kind.choice, column="kind", vocabulary=vocab.ContractKind,
              default=Derivation(_kind_of_contract, "renewal when it renews a contract, else new",
                                 "填写了续约的原合同时为续约，否则为新签"),
              aliases=("contract type", "type", "order type", "签约类型", "订单类型"),
              help_en="New, renewal or expansion; when empty: renewal if it renews a contract, else new.",
              help_zh="新签、续约或增购；留空时，填写了原合同的为续约，否则为新签。"),
        Field("product_line", "Product line", "产品线", Kind.choice, column="product_line", vocabulary=vocab.ProductLine,
              default=vocab.ProductLine.mes.value,
              aliases=("product", "product name", "产品", "产品名称", "所属产品线"),
              help_en="The product line sold; MES when left empty.", help_zh="所售产品线；留空为 MES。"),
        Field("signed_on", "Signed on", "签约日期", Kind.date, column="signed_on",
              default=same_as("start_date", "the start date", "开始日期"),
              aliases=("signing date", "sign date", "signed", "date signed", "签订日期", "签署日期"),
              help_en="The day the contract was signed; the start date when left empty.",
              help_zh="合同签订日期；留空时取开始日期。"),
        Field("start_date", "Start date", "开始日期", Kind.date, column="start_date", required=True,
              aliases=("start", "starts on", "begin date", "service start", "起始日期", "生效日期", "服务开始日期"),
              help_en="The first day the contract covers.", help_zh="合同覆盖的第一天。"),
        Field("end_date", "End date", "结束日期", Kind.date, column="end_date", required=True,
              aliases=("end", "ends on", "expiry date", "expiration date", "service end", "到期日期", "终止日期",
                       "服务结束日期"),
              help_en="The last day the contract covers.", help_zh="合同覆盖的最后一天。"),
        Field("amount", "Amount (yuan)", "合同金额(元)", Kind.money, column="amount_cents", required=True, minimum=0,
              maximum=MAX_YUAN,
              aliases=("amount", "contract amount", "contract value", "value", "total", "金额", "合同金额", "合同总额",
                       "签约金额"),
              help_en="What the contract is worth over its whole term, in yuan (like 86,800.00).",
              help_zh="合同整个期限的金额，以元为单位（如 86,800.00）。"),
        Field("delivery_cost", "Delivery cost (yuan)", "交付成本(元)", Kind.money, column="delivery_cost_cents",
              default=0, minimum=0, maximum=MAX_YUAN,
              aliases=("delivery cost", "implementation cost", "交付成本", "实施成本"),
              help_en="What delivering the contract costs, in yuan; 0 when left empty.",
              help_zh="交付该合同的成本，以元为单位；留空为 0。"),
        Field("service_cost", "Service cost (yuan)", "服务成本(元)", Kind.money, column="service_cost_cents",
              default=0, minimum=0, maximum=MAX_YUAN,
              aliases=("service cost", "support cost", "服务成本", "运维成本"),
              help_en="What serving the customer under the contract costs, in yuan; 0 when left empty.",
              help_zh="该合同的服务成本，以元为单位；留空为 0。"),
        Field("renewal_of", "Renews contract", "续约原合同", Kind.ref, ref="contracts", ref_field="code",
              ref_column="renewal_of_id", maximum=32,
              aliases=("renewal of", "renews", "previous contract", "original contract", "原合同编号", "原合同",
                       "上期合同"),
              help_en="The code of the contract this one renews; it may be in the same file.",
              help_zh="本合同续约的原合同编号；原合同可在同一文件中。"),
    ),
))

declare(FileSchema(
    entity="invoices", table="invoices", en="Invoices", zh="发票",
    keys=(("number",),),
    fields=(
        Field("number", "Invoice number", "发票号码", Kind.text, column="number", required=True, maximum=32,
              aliases=("invoice number", "invoice no", "invoice", "invoice id", "发票号", "发票编号"),
              help_en="The invoice's number; it identifies the invoice in every file.",
              help_zh="发票号码；在所有文件中用它识别发票。"),
        Field("contract", "Contract code", "合同编号", Kind.ref, ref="contracts", ref_field="code",
              ref_column="contract_id", maximum=32,
              aliases=("contract", "contract code", "contract no", "contract number", "合同号", "合同编码"),
              help_en="The code of the contract the invoice bills; empty for an invoice outside any contract.",
              help_zh="发票所对应的合同编号；不属于任何合同的发票留空。"),
        _customer_ref(required=False,
                      default=FromRef("contract", "customer", "the contract's customer", "合同所属客户"),
                      help_en="The code of the customer billed; the contract's customer when left empty "
                              "(then the contract is needed).",
                      help_zh="开票客户的客户编号；留空时取合同所属客户（此时须填写合同编号）。"),
        Field("issued_on", "Issued on", "开票日期", Kind.date, column="issued_on", required=True,
              aliases=("issue date", "invoice date", "issued", "date", "发票日期", "开具日期"),
              help_en="The day the invoice was issued.", help_zh="发票开具日期。"),
        Field("due_on", "Due on", "到期日期", Kind.date, column="due_on", required=True,
              aliases=("due date", "due", "payment due", "应收日期", "付款截止日期", "应付日期"),
              help_en="The day payment is due; overdue days count from it.", help_zh="付款到期日；逾期天数从这天算起。"),
        Field("amount", "Amount (yuan)", "发票金额(元)", Kind.money, column="amount_cents", required=True, minimum=0,
              maximum=MAX_YUAN,
              aliases=("amount", "invoice amount", "total", "金额", "发票金额", "开票金额", "价税合计"),
              help_en="The invoice's amount in yuan.", help_zh="发票金额，以元为单位。"),
    ),
))

declare(FileSchema(
    entity="payments", table="payments", en="Payments", zh="回款",
    keys=(("reference",),),
    fields=(
        Field("reference", "Receipt number", "收款单号", Kind.text, column="reference", required=True, maximum=64,
              aliases=("reference", "receipt no", "receipt", "payment reference", "payment no", "payment number",
                       "transaction id", "回款单号", "收款编号", "回款编号", "流水号"),
              help_en="The payment's own number (a receipt or bank transaction number); it identifies the "
                      "payment, so the same file imported twice pays nothing twice.",
              help_zh="回款自身的编号（收款单号或银行流水号）；用它识别回款，同一文件导入两次也不会重复记账。"),
        Field("invoice", "Invoice number", "发票号码", Kind.ref, required=True, ref="invoices", ref_field="number",
              ref_column="invoice_id", maximum=32,
              aliases=("invoice", "invoice no", "invoice number", "发票号", "发票编号"),
              help_en="The number of the invoice paid.", help_zh="所支付发票的号码。"),
        Field("paid_on", "Paid on", "回款日期", Kind.date, column="paid_on", required=True,
              aliases=("payment date", "paid", "received on", "date", "收款日期", "到账日期", "付款日期"),
              help_en="The day the money arrived.", help_zh="款项到账日期。"),
        Field("amount", "Amount (yuan)", "回款金额(元)", Kind.money, column="amount_cents", required=True, minimum=0,
              maximum=MAX_YUAN,
              aliases=("amount", "payment amount", "paid amount", "金额", "回款金额", "收款金额", "到账金额"),
              help_en="The amount received in yuan.", help_zh="到账金额，以元为单位。"),
    ),
))


def _count(name: str, en: str, zh: str, aliases: tuple[str, ...], help_en: str, help_zh: str, *,
           required: bool = False) -> Field:
    """One of the day's usage counts: a whole number of 0 or more."""
    if not required:
        help_en, help_zh = f"{help_en} 0 when left empty.", f"{help_zh}留空为 0。"
    return Field(name, en, zh, Kind.whole, column=name, required=required, default=None if required else 0,
                 minimum=0, maximum=MAX_DAILY_COUNT, aliases=aliases, help_en=help_en, help_zh=help_zh)


declare(FileSchema(
    entity="usage", table="usage_daily", en="Usage", zh="使用数据",
    keys=(("customer", "day"),),
    after_import="ops_core.db.rollups:refresh_usage",
    fields=(
        _customer_ref(help_en="The code of the customer whose account was used.", help_zh="使用账户所属客户的客户编号。"),
        Field("day", "Day", "日期", Kind.date, column="day", required=True,
              aliases=("date", "usage date", "stat date", "统计日期", "使用日期"),
              help_en="The day counted; one row per customer and day.", help_zh="统计的日期；每个客户每天一行。"),
        _count("active_users", "Active users", "活跃用户数", ("dau", "active user count", "日活", "日活跃用户", "活跃用户"),
               "People who used the account that day.", "当天使用该账户的人数。", required=True),
        _count("sessions", "Sessions", "会话数", ("session count", "visits", "访问次数", "会话"),
               "Sessions that day.", "当天的会话数。"),
        _count("page_views", "Page views", "页面浏览量", ("pv", "pageviews", "浏览量", "页面浏览"),
               "Pages viewed that day.", "当天浏览的页面数。"),
        _count("unique_visitors", "Unique visitors", "独立访客数", ("uv", "visitors", "独立访客", "访客数"),
               "Distinct visitors that day.", "当天的独立访客数。"),
        _count("feature_events", "Feature events", "功能事件数", ("events", "feature usage", "功能使用次数", "功能事件"),
               "Uses of the tracked features that day.", "当天对所跟踪功能的使用次数。"),
    ),
))

declare(FileSchema(
    entity="feedback", table="feedback", en="Feedback", zh="客户反馈",
    keys=(("customer", "received_at"),),
    on_create={"status": vocab.FeedbackStatus.new.value},
    fields=(
        _customer_ref(help_en="The code of the customer who gave the feedback.", help_zh="提出反馈的客户的客户编号。"),
        Field("received_at", "Received at", "接收时间", Kind.datetime, column="received_at", required=True,
              aliases=("received", "received on", "created", "created at", "date", "submitted at", "反馈时间",
                       "提交时间", "创建时间"),
              help_en="When the feedback arrived (a date, with the time of day if known); with the customer it "
                      "identifies the item.",
              help_zh="收到反馈的时间（日期，可带具体时间）；与客户编号一起识别这条反馈。"),
        Field("channel", "Channel", "渠道", Kind.choice, column="channel", vocabulary=vocab.FeedbackChannel,
              default=vocab.FeedbackChannel.ticket.value,
              aliases=("source", "feedback channel", "来源", "反馈渠道"),
              help_en="How the feedback came in; ticket when left empty.", help_zh="反馈的来源渠道；留空为工单。"),
        Field("product_area", "Product area", "产品模块", Kind.choice, column="product_area", required=True,
              vocabulary=vocab.ProductArea,
              aliases=("area", "module", "feature", "模块", "功能模块", "产品领域"),
              help_en="The part of the product it is about.", help_zh="反馈涉及的产品模块。"),
        Field("text", "Feedback", "反馈内容", Kind.text, column="text", required=True, maximum=100_000,
              aliases=("text", "content", "description", "comment", "message", "内容", "描述", "问题描述"),
              help_en="What the customer said, as entered.", help_zh="客户反馈的内容，按原样填写。"),
        Field("severity", "Severity", "严重程度", Kind.choice, column="severity", vocabulary=vocab.Severity,
              default=vocab.Severity.medium.value,
              aliases=("priority", "严重性", "优先级", "紧急程度"),
              help_en="How badly it hurts the customer; medium when left empty.", help_zh="对客户影响的严重程度；留空为中。"),
        Field("importance", "Importance", "重要性", Kind.choice, column="importance", vocabulary=vocab.Importance,
              default=vocab.Importance.important.value,
              aliases=("importance level", "重要程度"),
              help_en="How much it matters to the customer; important when left empty.",
              help_zh="对客户的重要程度；留空为重要。"),
    ),
))

declare(FileSchema(
    entity="events", table="events", en="Events", zh="市场活动",
    keys=(("name", "start_date"),),
    fields=(
        Field("name", "Event name", "活动名称", Kind.text, column="name", required=True, maximum=256,
              aliases=("event", "name", "title", "event title", "活动", "活动主题"),
              help_en="The event's name; with its start date it identifies the event.",
              help_zh="活动名称；与开始日期一起识别活动。"),
        Field("start_date", "Start date", "开始日期", Kind.date, column="start_date", required=True,
              aliases=("start", "date", "event date", "begin date", "起始日期", "活动日期", "举办日期"),
              help_en="The event's first day.", help_zh="活动的第一天。"),
        Field("end_date", "End date", "结束日期", Kind.date, column="end_date",
              default=same_as("start_date", "the start date", "开始日期"),
              aliases=("end", "finish date", "截止日期"),
              help_en="The event's last day; the start date when left empty (a one-day event).",
              help_zh="活动的最后一天；留空时取开始日期（一天的活动）。"),
        Field("format", "Format", "形式", Kind.choice, column="format", required=True, vocabulary=vocab.EventFormat,
              aliases=("online or offline", "event format", "活动形式", "线上线下"),
              help_en="Online or offline.", help_zh="线上或线下。"),
        Field("kind", "Event type", "活动类型", Kind.choice, column="kind", vocabulary=vocab.EventKind,
              default=vocab.EventKind.other.value,
              aliases=("type", "kind", "event kind", "类型"),
              help_en="What sort of event; other when left empty.", help_zh="活动的类型；留空为其他。"),
        Field("organisation", "Organisation", "组织方式", Kind.choice, column="organisation",
              vocabulary=vocab.EventOrganisation, default=vocab.EventOrganisation.self_hosted.value,
              aliases=("organization", "organiser", "hosting", "举办方式", "主办方式"),
              help_en="Who runs it; self-hosted when left empty.", help_zh="活动的组织方式；留空为自办。"),
        Field("location", "Location", "地点", Kind.text, column="location", maximum=128,
              aliases=("city", "venue", "place", "城市", "举办地点", "活动地点"),
              help_en="Where it takes place; empty for an online event.", help_zh="举办地点；线上活动留空。"),
        Field("purposes", "Purposes", "活动目的", Kind.choices, column="purposes", vocabulary=vocab.EventPurpose,
              default="", maximum=64,
              aliases=("purpose", "goals", "objective", "目的", "活动目标"),
              help_en="What the event is for, one or more separated by commas; empty when none is stated.",
              help_zh="活动目的，可填多个，用逗号或顿号分隔；未说明时留空。"),
        Field("budget", "Budget (yuan)", "预算(元)", Kind.money, column="budget_cents", default=0, minimum=0,
              maximum=MAX_YUAN, aliases=("budget", "预算", "活动预算", "预算金额"),
              help_en="The event's budget in yuan; 0 when left empty.", help_zh="活动预算，以元为单位；留空为 0。"),
        Field("goal_leads", "Goal: leads", "目标线索数", Kind.whole, column="goal_leads", minimum=0, maximum=10_000_000,
              aliases=("lead goal", "target leads", "线索目标"),
              help_en="How many leads the event should bring; empty when no goal was set.",
              help_zh="活动预期带来的线索数；未设目标时留空。"),
        Field("goal_effective_leads", "Goal: effective leads", "目标有效线索数", Kind.whole, column="goal_effective_leads",
              minimum=0, maximum=10_000_000, aliases=("effective lead goal", "target effective leads", "有效线索目标"),
              help_en="How many effective leads it should bring; empty when no goal was set.",
              help_zh="预期的有效线索数；未设目标时留空。"),
        Field("goal_opportunities", "Goal: opportunities", "目标商机数", Kind.whole, column="goal_opportunities",
              minimum=0, maximum=10_000_000, aliases=("opportunity goal", "target opportunities", "商机目标"),
              help_en="How many opportunities it should bring; empty when no goal was set.",
              help_zh="预期的商机数；未设目标时留空。"),
        Field("goal_conversions", "Goal: conversions", "目标成交数", Kind.whole, column="goal_conversions",
              minimum=0, maximum=10_000_000, aliases=("conversion goal", "target conversions", "成交目标"),
              help_en="How many deals it should bring; empty when no goal was set.", help_zh="预期的成交数；未设目标时留空。"),
        Field("goal_revenue", "Goal: revenue (yuan)", "目标收入(元)", Kind.money, column="goal_revenue_cents",
              minimum=0, maximum=MAX_YUAN, aliases=("revenue goal", "target revenue", "收入目标", "目标收入"),
              help_en="The revenue it should bring, in yuan; empty when no goal was set.",
              help_zh="预期带来的收入，以元为单位；未设目标时留空。"),
    ),
))


def _event_ref(name: str, en: str, zh: str, ref_field: str, kind: Kind, aliases: tuple[str, ...],
               help_en: str, help_zh: str) -> Field:
    """Half of a reference to an event: its name or its start date (together they name it)."""
    return Field(name, en, zh, kind, required=True, ref="events", ref_field=ref_field, ref_column="event_id",
                 maximum=256 if kind is Kind.ref else None, aliases=aliases, help_en=help_en, help_zh=help_zh)


declare(FileSchema(
    entity="event_costs", table="event_costs", en="Event costs", zh="活动费用",
    keys=(("event", "event_start", "category", "note"),),
    fields=(
        _event_ref("event", "Event name", "活动名称", "name", Kind.ref, ("event", "event name", "活动"),
                   "The name of the event the cost belongs to.", "费用所属活动的名称。"),
        _event_ref("event_start", "Event start date", "活动开始日期", "start_date", Kind.date,
                   ("event start", "event date", "活动日期"),
                   "The event's start date (with the name it names the event).", "活动的开始日期（与名称一起确定活动）。"),
        Field("category", "Cost category", "费用类别", Kind.choice, column="category", required=True,
              vocabulary=vocab.CostCategory, aliases=("category", "cost type", "expense type", "类别", "费用类型"),
              help_en="What the money was spent on.", help_zh="费用的用途类别。"),
        Field("note", "Note", "备注", Kind.text, column="note", maximum=256,
              aliases=("memo", "remark", "description", "说明", "费用说明"),
              help_en="A note on the cost line; it tells apart two lines of one category for the same event.",
              help_zh="费用备注；同一活动同一类别有多笔费用时，用它区分。"),
        Field("amount", "Amount (yuan)", "金额(元)", Kind.money, column="amount_cents", required=True, minimum=0,
              maximum=MAX_YUAN, aliases=("amount", "cost", "expense", "金额", "费用金额", "费用"),
              help_en="The cost in yuan.", help_zh="费用金额，以元为单位。"),
    ),
))

declare(FileSchema(
    entity="leads", table="leads", en="Leads", zh="线索",
    keys=(("company", "contact_name"),),
    fields=(
        Field("company", "Company", "公司名称", Kind.text, column="company", required=True, maximum=256,
              aliases=("company name", "account", "organisation", "公司", "企业名称", "单位名称"),
              help_en="The lead's company; with the contact's name it identifies the lead.",
              help_zh="线索所在公司；与联系人姓名一起识别线索。"),
        Field("contact_name", "Contact name", "联系人姓名", Kind.text, column="contact_name", required=True, maximum=128,
              personal=NAME, aliases=("contact", "name", "full name", "联系人", "姓名"),
              help_en="The person's name.", help_zh="联系人的姓名。"),
        Field("phone", "Phone", "电话", Kind.text, column="phone", maximum=32, personal=PHONE,
              aliases=("mobile", "telephone", "phone number", "手机", "手机号", "联系电话"),
              help_en="The person's phone.", help_zh="联系人的电话。"),
        Field("email", "E-mail", "电子邮箱", Kind.text, column="email", maximum=256, personal=EMAIL,
              aliases=("email", "email address", "mail", "邮箱", "电子邮件"),
              help_en="The person's e-mail address.", help_zh="联系人的电子邮箱。"),
        Field("title_level", "Title level", "职级", Kind.choice, column="title_level", vocabulary=vocab.TitleLevel,
              default=vocab.TitleLevel.staff.value, aliases=("level", "seniority", "job level", "职位级别", "级别"),
              help_en="The person's seniority; staff when left empty.", help_zh="联系人的职级；留空为员工。"),
        Field("industry", "Industry", "行业", Kind.choice, column="industry", required=True, vocabulary=vocab.Industry,
              aliases=("sector", "所属行业"),
              help_en="The industry the company works in.", help_zh="公司所属的行业。"),
        Field("company_size", "Employees", "员工人数", Kind.whole, column="company_size", minimum=0,
              maximum=10_000_000, aliases=("company size", "headcount", "employee count", "公司规模", "人数"),
              help_en="The company's head count, if known.", help_zh="公司的员工人数（如已知）。"),
        Field("budget_confirmed", "Budget confirmed", "预算已确认", Kind.yes_no, column="budget_confirmed",
              default=False, aliases=("budget", "has budget", "是否有预算", "预算确认"),
              help_en="Whether the lead has confirmed a budget. Yes or no; no when empty.",
              help_zh="线索是否已确认预算。填是或否；留空为否。"),
        Field("created_at", "Created at", "创建时间", Kind.datetime, column="created_at", required=True,
              aliases=("created", "created on", "date", "lead date", "创建日期", "获取时间", "录入时间"),
              help_en="When the lead came in.", help_zh="获得线索的时间。"),
        Field("opportunity_at", "Opportunity at", "转为商机时间", Kind.datetime, column="opportunity_at",
              aliases=("opportunity date", "qualified at", "商机时间", "商机日期"),
              help_en="When it became an opportunity; empty if it has not.", help_zh="转为商机的时间；尚未转化时留空。"),
        Field("opportunity_amount", "Opportunity amount (yuan)", "商机金额(元)", Kind.money,
              column="opportunity_amount_cents", minimum=0, maximum=MAX_YUAN,
              aliases=("opportunity amount", "opportunity value", "商机金额", "预计金额"),
              help_en="The opportunity's expected value in yuan.", help_zh="商机的预计金额，以元为单位。"),
        Field("won_at", "Won at", "成交时间", Kind.datetime, column="won_at",
              aliases=("won", "won date", "closed at", "deal date", "成交日期", "赢单时间"),
              help_en="When the deal was won; empty if it has not been.", help_zh="赢单时间；尚未成交时留空。"),
        Field("won_amount", "Won amount (yuan)", "成交金额(元)", Kind.money, column="won_amount_cents", minimum=0,
              maximum=MAX_YUAN, aliases=("won amount", "deal amount", "成交金额", "赢单金额"),
              help_en="The amount won in yuan.", help_zh="成交金额，以元为单位。"),
        _customer_ref(required=False, help_en="The code of the customer the lead became; empty until it did.",
                      help_zh="线索成交后成为的客户的客户编号；尚未成交时留空。"),
        Field("lost_at", "Lost at", "丢单时间", Kind.datetime, column="lost_at",
              aliases=("lost", "lost date", "closed lost", "closed lost at", "丢单日期", "输单时间", "关闭时间"),
              help_en="When the lead was lost or closed without a win; empty while it is open or won. A lost "
                      "opportunity leaves the pipeline.",
              help_zh="线索丢单或未成交即关闭的时间；仍在跟进或已成交时留空。丢单的商机不再计入商机储备。"),
    ),
))

declare(FileSchema(
    entity="lead_touches", table="lead_touches", en="Lead touches", zh="线索触达",
    keys=(("lead_company", "lead_contact", "event", "event_start"),),
    fields=(
        Field("lead_company", "Lead company", "线索公司", Kind.ref, required=True, ref="leads", ref_field="company",
              ref_column="lead_id", maximum=256, aliases=("company", "company name", "公司名称", "公司"),
              help_en="The lead's company, as in the leads file.", help_zh="线索所在公司，与线索文件一致。"),
        Field("lead_contact", "Lead contact", "线索联系人", Kind.ref, required=True, ref="leads", ref_field="contact_name",
              ref_column="lead_id", maximum=128, personal=NAME,
              aliases=("contact", "contact name", "联系人", "联系人姓名"),
              help_en="The lead's contact name, as in the leads file (with the company it names the lead).",
              help_zh="线索联系人姓名，与线索文件一致（与公司一起确定线索）。"),
        _event_ref("event", "Event name", "活动名称", "name", Kind.ref, ("event", "event name", "活动"),
                   "The name of the event that met the lead.", "接触线索的活动名称。"),
        _event_ref("event_start", "Event start date", "活动开始日期", "start_date", Kind.date,
                   ("event start", "event date", "活动日期"),
                   "The event's start date (with the name it names the event).", "活动的开始日期（与名称一起确定活动）。"),
        Field("touched_at", "Touched at", "接触时间", Kind.datetime, column="touched_at",
              default=Derivation(_start_of_day("event_start"), "the event's start date", "活动开始日期"),
              aliases=("touch time", "touched", "date", "contact time", "触达时间"),
              help_en="When the event met the lead; the event's start date when left empty.",
              help_zh="活动接触线索的时间；留空时取活动开始日期。"),
    ),
))


# --- the rules every declaration keeps (checked by tests/test_fileschema.py) ----------------------


def _table_of(schema: FileSchema) -> Any:
    return TABLES.get(schema.table)


def _generated_id(column: Column[Any]) -> bool:
    """The store's own numbering of a table's rows (a single integer primary key)."""
    return (column.primary_key and len(column.table.primary_key.columns) == 1
            and isinstance(column.type, (Integer, BigInteger)))


def rule_names_unique(schema: FileSchema) -> list[str]:
    """Field names are unique within a schema."""
    names = [f.name for f in schema.fields]
    return [f"{schema.entity}: field '{n}' is declared more than once" for n in sorted({n for n in names if names.count(n) > 1})]


def rule_headers_unique(schema: FileSchema) -> list[str]:
    """No header, alias or name of one field equals (as ``header_key`` compares) one of another field."""
    owner: dict[str, str] = {}
    problems = []
    for f in schema.fields:
        for said in dict.fromkeys(header_key(n) for n in f.names()):
            if said in owner and owner[said] != f.name:
                problems.append(f"{schema.entity}: '{said}' names both '{owner[said]}' and '{f.name}'")
            owner.setdefault(said, f.name)
    return problems


def rule_texts_present(schema: FileSchema) -> list[str]:
    """Both headers and both help texts are written."""
    return [f"{schema.entity}.{f.name}: {what} is empty" for f in schema.fields
            for what, text in (("en", f.en), ("zh", f.zh), ("help_en", f.help_en), ("help_zh", f.help_zh))
            if not text.strip()]


def rule_columns_exist(schema: FileSchema) -> list[str]:
    """Every field fills a column of its table, of the right type; a reference fills an id column."""
    table = _table_of(schema)
    if table is None:
        return [f"{schema.entity}: there is no table '{schema.table}'"]
    types = {Kind.text: (String, Text), Kind.whole: (Integer, BigInteger), Kind.decimal: (Float,),
             Kind.money: (BigInteger,), Kind.date: (Date,), Kind.datetime: (DateTime,), Kind.yes_no: (Boolean,),
             Kind.choice: (String,), Kind.choices: (String,)}
    problems = []
    for f in schema.fields:
        name = f.ref_column if f.ref else f.column
        if name is None or name not in table.c:
            problems.append(f"{schema.entity}.{f.name}: fills no column of {schema.table} ({name!r})")
            continue
        column = table.c[name]
        if f.ref:
            if not column.foreign_keys:
                problems.append(f"{schema.entity}.{f.name}: {name} is not an id column referring to another table")
            continue
        if f.kind is Kind.ref or not isinstance(column.type, types[f.kind]):
            problems.append(f"{schema.entity}.{f.name}: a {f.kind} field cannot fill {name} ({column.type})")
        if (f.kind is Kind.money) != bool(column.info.get("money") or name.endswith("_cents")):
            problems.append(f"{schema.entity}.{f.name}: money fields and only they fill *_cents columns")
        length = column.type.length if isinstance(column.type, String) else None
        if f.kind in (Kind.text, Kind.choices) and length and (f.maximum is None or f.maximum > length):
            problems.append(f"{schema.entity}.{f.name}: its maximum length must fit {name} ({column.type.length})")
        if f.kind in (Kind.choice, Kind.choices) and f.vocabulary is None:
            problems.append(f"{schema.entity}.{f.name}: a {f.kind} field names no vocabulary")
    return problems


def rule_no_internal_ids(schema: FileSchema) -> list[str]:
    """No field is a store id: primary keys and id columns are filled by references, never from a cell."""
    table = _table_of(schema)
    if table is None:
        return []
    problems = []
    for f in schema.fields:
        column = table.c.get(f.column) if f.column else None
        internal = column is not None and (_generated_id(column) or bool(column.foreign_keys))
        if internal or f.name == "id" or f.name.endswith("_id"):
            problems.append(f"{schema.entity}.{f.name}: an internal id appears as a field")
    return problems


def rule_columns_filled(schema: FileSchema) -> list[str]:
    """Every NOT NULL column without a default is filled by a required field, a field with a default
    (or derivation), or ``on_create``; the generated id and ``version`` are the store's."""
    table = _table_of(schema)
    if table is None:
        return []
    filled: set[str] = set(schema.on_create)
    for f in schema.fields:
        if f.required or f.default is not None:
            filled.add(f.ref_column if f.ref else f.column or "")
    problems = []
    for column in entered_columns(table):
        if column.nullable or column.default is not None or _generated_id(column) or column.name == "version":
            continue
        if column.name not in filled:
            problems.append(f"{schema.entity}: column {column.name} is NOT NULL and no field, default or "
                            "derivation fills it")
    return problems


def rule_defaults_valid(schema: FileSchema) -> list[str]:
    """A required field has no default; a choice default is a code of its vocabulary; a FromRef goes
    through a reference of the same schema to a field of the referenced entity."""
    problems = []
    names = {f.name for f in schema.fields}
    for f in schema.fields:
        where = f"{schema.entity}.{f.name}"
        if f.required and f.default is not None:
            problems.append(f"{where}: is required and has a default")
        if isinstance(f.default, FromRef):
            via = next((g for g in schema.fields if g.name == f.default.via), None)
            if via is None or via.ref is None:
                problems.append(f"{where}: its default goes through '{f.default.via}', which is not a reference here")
            elif via.ref in SCHEMAS and f.default.take not in {g.name for g in SCHEMAS[via.ref].fields}:
                problems.append(f"{where}: {via.ref} has no field '{f.default.take}'")
        elif f.kind is Kind.choice and isinstance(f.vocabulary, type) and f.default is not None \
                and not callable(f.default) and f.default not in {m.value for m in f.vocabulary}:
            problems.append(f"{where}: default {f.default!r} is not a {f.vocabulary.__name__} code")
        elif isinstance(f.default, Derivation) and not f.default.en:
            problems.append(f"{where}: its derivation does not say how it derives")
    for key_set in schema.keys:
        problems += [f"{schema.entity}: key field '{n}' is not declared" for n in key_set if n not in names]
    return problems


def rule_keys_required(schema: FileSchema) -> list[str]:
    """Every row has a key: the last key set's fields are required (or optional text, whose blank is a
    value); earlier sets may hold optional fields, skipped in a row where they are blank."""
    if not schema.keys:
        return [f"{schema.entity}: declares no business key"]
    by_name = {f.name: f for f in schema.fields}
    return [f"{schema.entity}: key field '{n}' is optional" for n in schema.keys[-1]
            if n in by_name and not by_name[n].required and by_name[n].kind is not Kind.text]


def rule_references_keys(schema: FileSchema) -> list[str]:
    """A reference names a key field of an entity declared above (or of its own), or a ``LOOKUPS`` list;
    the id column it fills refers to that entity's table."""
    order = list(SCHEMAS)
    problems = []
    table = _table_of(schema)
    for f in schema.fields:
        if f.ref is None:
            continue
        where = f"{schema.entity}.{f.name}"
        if f.ref in LOOKUPS:
            lookup = LOOKUPS[f.ref]
            target_table, ok = lookup.table, f.ref_field == lookup.column
        elif f.ref in SCHEMAS:
            target = SCHEMAS[f.ref]
            target_table = target.table
            ok = f.ref_field in target.key_fields() and target.field(f.ref_field).ref is None
            if schema.entity in order and order.index(f.ref) > order.index(schema.entity):
                problems.append(f"{where}: refers to {f.ref}, which loads after {schema.entity}")
        else:
            problems.append(f"{where}: refers to '{f.ref}', which is neither declared nor a lookup")
            continue
        if not ok:
            problems.append(f"{where}: '{f.ref_field}' is not a key field of {f.ref}")
        if table is not None and f.ref_column in table.c:
            targets = {fk.column.table.name for fk in table.c[f.ref_column].foreign_keys}
            if target_table not in targets:
                problems.append(f"{where}: {f.ref_column} does not refer to {target_table}")
    return problems


RULES: tuple[Callable[[FileSchema], list[str]], ...] = (
    rule_names_unique, rule_headers_unique, rule_texts_present, rule_columns_exist, rule_no_internal_ids,
    rule_columns_filled, rule_defaults_valid, rule_keys_required, rule_references_keys,
)


def schema_problems(schemas: Mapping[str, FileSchema] | None = None) -> list[str]:
    """Everything wrong with the declarations, one sentence each (empty when they are sound)."""
    return [problem for schema in (SCHEMAS if schemas is None else schemas).values() for rule in RULES
            for problem in rule(schema)]
