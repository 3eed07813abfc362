"""The translation table: both languages everywhere, every vocabulary value labelled."""
from __future__ import annotations

import re

import pytest

from ops_core import i18n
from tests.conftest import ROOT


def test_every_key_has_english_and_chinese():
    missing = [key for key, (en, zh) in i18n.TEXT.items() if not en.strip() or not zh.strip()]
    assert missing == []


def test_placeholders_match_between_languages():
    mismatched = [key for key, (en, zh) in i18n.TEXT.items()
                  if set(re.findall(r"{(\w+)}", en)) != set(re.findall(r"{(\w+)}", zh))]
    assert mismatched == []


@pytest.mark.parametrize("enum", i18n.LABELLED_VOCABULARIES, ids=lambda e: e.__name__)
def test_every_vocabulary_value_has_a_label(enum):
    assert [v.value for v in enum if f"{enum.__name__.lower()}.{v.value}" not in i18n.TEXT] == []


KEY_USES = [r"""\btr\(\s*["']([\w.]+)["']""", r"""pending_page\(\s*["']([\w.]+)["']""",
            r"""pending_page\(\s*["'][\w.]+["'],\s*["']([\w.]+)["']"""]


def test_every_key_the_app_uses_exists():
    used = set()
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py")]:
        for pattern in KEY_USES:
            used |= set(re.findall(pattern, path.read_text()))
    assert len(used) > 20, "the scan found few keys: the patterns are wrong"
    assert sorted(used - set(i18n.TEXT)) == []


def test_chinese_text_and_placeholders_render():
    assert i18n.t("import.more_rejected", "zh", shown=3, count=5) == "共拒绝 5 行，列出前 3 行。"
    assert i18n.t("no.such.key", "zh") == "no.such.key"


def test_every_metric_and_value_dimension_has_its_chinese_definition():
    """The catalogue, the tiles' help and the weight sliders' help read them in 简体中文."""
    from ops_core import metrics, scoring

    assert sorted(set(m.key for m in metrics.REGISTRY) - set(i18n.METRIC_TEXT_ZH)) == []
    assert sorted(set(d.key for d in scoring.DIMENSIONS) - set(i18n.DIMENSION_TEXT_ZH)) == []
    assert scoring.DIMENSIONS_BY_KEY["brand"].definition_in("zh").startswith("得分：世界 500 强")
