"""What a file of each entity looks like to the person who brings or receives it, declared once.

A file schema is separate from the table: its fields are named and headed in the reader's language,
money is in yuan, vocabularies are labels, and other entities are named by their business keys
(a contract's customer by the customer's code), never by the store's internal ids. Import, export,
templates, the data page and the README's field tables all read these declarations.

Kinds of field (``Kind``) and how a cell of each is read are in ``ops_core.cells``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ops_core import vocab


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
    ``default`` (a value, or a function of the row's other typed values: a derivation) when blank.
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
    personal: bool = False                    # masked on export unless an admin asks
    help_en: str = ""
    help_zh: str = ""

    def header(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def help(self, lang: str) -> str:
        return self.help_zh if lang == "zh" else self.help_en


@dataclass(frozen=True)
class FileSchema:
    """An entity's file: its fields in file order and the business key that identifies a row.

    ``keys`` lists the key field sets to try in order (contacts: by e-mail, else phone, else name,
    each within the customer); the first set whose fields all have values identifies the row.
    A row whose key is stored already is an update, never a second record.
    """

    entity: str
    table: str
    en: str
    zh: str
    fields: tuple[Field, ...]
    keys: tuple[tuple[str, ...], ...]
    after_import: str | None = None  # "module:function" refreshed with the Connection and customer ids

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def title(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


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


# The schemas, in load order: an entity only refers to entities above it. Each entity's declaration
# lists its fields as a person reads the file, key fields first.
SCHEMAS: dict[str, FileSchema] = {}


def declare(schema: FileSchema) -> FileSchema:
    SCHEMAS[schema.entity] = schema
    return schema


declare(FileSchema(
    entity="customers", table="customers", en="Customers", zh="客户",
    keys=(("code",),),
    fields=(
        Field("code", "Customer code", "客户编号", Kind.text, column="code", required=True, maximum=32,
              aliases=("code", "customer code", "customer id", "customer no", "account code", "客户编码", "客户代码", "客户号"),
              help_en="Your code for the customer, as in your CRM; it identifies the customer in every file.",
              help_zh="您在 CRM 中使用的客户编号；在所有文件中用它识别客户。"),
        Field("name", "Customer name", "客户名称", Kind.text, column="name", required=True, maximum=256,
              aliases=("name", "company", "account name", "customer", "客户", "公司名称", "企业名称")),
        Field("industry", "Industry", "行业", Kind.choice, column="industry", required=True, vocabulary=vocab.Industry,
              aliases=("sector", "所属行业")),
        Field("region", "Region", "区域", Kind.choice, column="region", required=True, vocabulary=vocab.Region,
              aliases=("area", "大区", "地区", "所属区域")),
        Field("employees", "Employees", "员工人数", Kind.whole, column="employees", required=True, minimum=0,
              maximum=10_000_000, aliases=("headcount", "staff", "人数", "员工数", "公司规模")),
        Field("size_band", "Size band", "规模档", Kind.choice, column="size_band", vocabulary=vocab.SizeBand,
              default=size_band_of, aliases=("size", "规模"),
              help_en="Derived from the employees when left empty.", help_zh="留空时按员工人数推算。"),
        # ... the remaining fields of the customer file are declared here.
    ),
))
