"""Similar texts: features without a dictionary, TF-IDF cosines by hand, star groups, look-up, FAQ candidates."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from ops_core import feedback, similarity, writes
from ops_core.config import SETTINGS_BY_KEY
from ops_core.db.engine import transaction
from ops_core.errors import UsageError
from tests.factories import make_customer

RESET_PASSWORD = [  # "how do I reset a sub-account password", five ways
    "如何重置子账号密码",
    "子账户的密码忘了怎么重置",
    "怎么给子账号重设密码",
    "子账号密码重置的方法是什么",
    "子帐号的登录密码忘记了，如何重新设置？",
]
UNRELATED = ["报表导出 Excel 乱码", "手机App扫码后闪退", "希望支持Webhook推送告警", "客户说竞品报价低30%，要求降价"]


def test_chinese_is_cut_into_characters_and_pairs_and_latin_into_words():
    # 子账号 -> 子 账 号 子账 账号; excel; 导出 -> 导 出 导出. 的 is a function character: pairs only.
    assert similarity.features("子账号Excel导出") == ["子", "账", "号", "子账", "账号", "excel", "导", "出", "导出"]
    assert similarity.features("我的密码") == ["密", "码", "我的", "的密", "密码"]
    # Question pairs (如何) are left out; English stop words and plural s too.
    assert similarity.features("如何导出 the Reports") == ["导", "出", "何导", "导出", "report"]


def test_full_width_letters_and_the_old_account_character_are_normalised():
    assert similarity.normalise("ＥＸＣＥＬ  子帐号") == "excel 子账号"


def test_cosine_matches_the_hand_computed_tf_idf():
    # Two texts, n = 2. df(export) = 2: idf = ln(3/3) + 1 = 1; df(report) = df(error) = 1: idf = ln(3/2) + 1 = 1.405465.
    # "export report" = (1, 1.405465) / 1.724915 (its length); cosine with "export error" = 1 / 1.724915² = 0.336097.
    index = similarity.SimilarityIndex.build(["export report", "export error"], [10, 20])
    found = index.similar("export report", k=5)
    assert found["id"].tolist() == [10, 20]
    assert found["score"].tolist() == pytest.approx([1.0, 0.336097], abs=1e-6)


def test_a_word_the_store_never_saw_still_counts_in_the_new_texts_length():
    # "export printer": printer is unseen, weighed at the largest idf ln(1 + 2) + 1 = 2.098612.
    # Query length sqrt(1 + 2.098612²) = 2.324687, so export weighs 1 / 2.324687 = 0.430165; each stored
    # text weighs export 1 / 1.724915 = 0.579739: cosine 0.430165 x 0.579739 = 0.249383 (not 0.58).
    index = similarity.SimilarityIndex.build(["export report", "export error"], [10, 20])
    assert index.similar("export printer")["score"].tolist() == pytest.approx([0.249383, 0.249383], abs=1e-6)


def test_paraphrases_of_resetting_a_sub_account_password_form_one_group_and_other_questions_stay_out():
    texts = RESET_PASSWORD + UNRELATED
    labels = similarity.group(texts, list(range(100, 100 + len(texts))))
    password = labels.iloc[: len(RESET_PASSWORD)]
    assert password.nunique() == 1
    assert password.iloc[0] == 0  # the largest group is labelled 0
    assert not labels.iloc[len(RESET_PASSWORD):].isin(password).any()
    assert labels.index.tolist() == list(range(100, 100 + len(texts)))


def test_look_up_returns_the_paraphrase_first():
    stored = UNRELATED + ["怎么给子账号重设密码", "员工想修改自己的头像"]
    index = similarity.SimilarityIndex.build(stored, [1, 2, 3, 4, 5, 6])
    found = index.similar("子账户的密码忘了怎么重置", k=3)
    assert found["id"].iloc[0] == 5
    assert found["score"].is_monotonic_decreasing
    assert len(found) <= 3


def test_groups_are_stars_so_a_chain_of_small_steps_does_not_join_its_ends():
    # n = 4; df 1 -> idf ln(5/2) + 1 = 1.916291, df 2 -> ln(5/3) + 1 = 1.510826.
    # cos(A, B) = 1.510826² / (2.440239 x 2.136630) = 0.437791; cos(B, C) = 1.510826² / 2.136630² = 0.5;
    # cos(C, D) = 0.437791; A-C, A-D, B-D share nothing. At 0.4 the chain A-B-C-D is connected, but the
    # centre B (reaches 3 items, before C) covers A and C; D is not like B, so it starts its own group.
    texts = ["alpha beta", "beta gamma", "gamma delta", "delta epsilon"]
    matrix = similarity.TfidfMatrix.fit(texts).matrix
    assert (matrix @ matrix.T).toarray()[0, 1] == pytest.approx(0.437791, abs=1e-6)
    assert similarity.group(texts, threshold=0.4).tolist() == [0, 0, 0, 1]
    assert similarity.group(texts, threshold=0.45).tolist() == [1, 0, 0, 2]  # only B-C left


def test_identical_texts_are_always_together_and_a_text_without_features_is_alone():
    labels = similarity.group(["报表导出乱码", "😀", "报表导出乱码 ", "Ｅｘｃｅｌ", "excel"], threshold=0.99)
    assert labels.iloc[0] == labels.iloc[2]
    assert labels.iloc[3] == labels.iloc[4]  # full-width letters normalise to the same text
    assert labels.iloc[1] not in (labels.iloc[0], labels.iloc[3])


def test_group_checks_its_arguments():
    with pytest.raises(UsageError, match="threshold"):
        similarity.group(["a"], threshold=0)
    with pytest.raises(UsageError, match="one id per text"):
        similarity.group(["a", "b"], [1])
    assert similarity.group([]).empty


def test_the_greedy_centres_are_the_same_found_one_by_one_or_in_rounds():
    rng = np.random.default_rng(3)
    n = 60
    pairs = rng.integers(0, n, (150, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    import scipy.sparse as sp

    graph = sp.csr_matrix((np.ones(2 * len(pairs)), (np.r_[pairs[:, 0], pairs[:, 1]], np.r_[pairs[:, 1], pairs[:, 0]])),
                          shape=(n, n))
    graph.sum_duplicates()
    priority = rng.permutation(n).astype(float)
    one_by_one = np.zeros(n, dtype=bool)
    covered = np.zeros(n, dtype=bool)
    for node in np.argsort(-priority):  # the definition, node by node
        if not covered[node]:
            one_by_one[node] = True
            covered[node] = True
            covered[graph.indices[graph.indptr[node]:graph.indptr[node + 1]]] = True
    assert np.array_equal(similarity._leaders(graph, priority), one_by_one)


def test_faq_candidates_are_the_largest_groups_of_the_period_with_their_customers(fresh_engine):
    received = dt.datetime(2025, 6, 2, 10)
    with transaction(fresh_engine) as s:
        customers = [make_customer(s, name=f"客户{i}")["id"] for i in range(4)]
        texts = [(RESET_PASSWORD[0], 0), (RESET_PASSWORD[1], 1), (RESET_PASSWORD[2], 2), (RESET_PASSWORD[3], 2),
                 (UNRELATED[0], 3), ("报表导出Excel以后是乱码", 3), (UNRELATED[1], 0),
                 (RESET_PASSWORD[4], 3)]  # this one is received after the period
        ids = []
        for k, (text, who) in enumerate(texts):
            at = received + dt.timedelta(hours=k) if k < len(texts) - 1 else dt.datetime(2025, 8, 1, 9)
            ids.append(feedback.submit(s, writes.LOCAL_ADMIN, {
                "customer_id": customers[who], "channel": "wechat", "received_at": at, "product_area": "permissions",
                "text": text, "severity": "low", "importance": "nice_to_have"})["id"])
    with fresh_engine.connect() as conn:
        found = similarity.faq_candidates(conn, dt.date(2025, 6, 1), dt.date(2025, 6, 30), top=10)
    # Password: 4 items in the period from customers 0, 1, 2, 2 (3 distinct); Excel: 2 items, customer 3.
    assert found["items"].tolist() == [4, 2]
    assert found["customers"].tolist() == [3, 1]
    assert found.loc[0, "customer_names"] == "客户0, 客户1, 客户2"
    assert sorted(found.loc[0, "feedback_ids"]) == ids[:4]
    assert found.loc[0, "representative"] in RESET_PASSWORD
    assert found.loc[0, "representative_id"] in ids[:4]
    assert found.loc[0, "faq_ids"] == []
    assert list(found.columns) == ["group", "items", "customers", "customer_names", "representative",
                                   "representative_id", "feedback_ids", "faq_ids", "types"]


def test_the_threshold_setting_defaults_to_the_tuned_threshold():
    assert SETTINGS_BY_KEY["feedback.group_threshold"].default == similarity.DEFAULT_THRESHOLD


def test_faq_candidates_of_an_empty_period_is_an_empty_frame(fresh_engine):
    with fresh_engine.connect() as conn:
        found = similarity.faq_candidates(conn, dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    assert found.empty and "representative" in found.columns


def test_transform_matches_the_fitted_rows():
    texts = ["导出报表", "export the reports", "子账号密码"]
    tfidf = similarity.TfidfMatrix.fit(texts)
    again = tfidf.transform(texts).toarray()
    assert np.allclose(again, tfidf.matrix.toarray(), atol=1e-6)
    cols, weights = tfidf.vector("导出报表")
    dense = np.zeros(tfidf.matrix.shape[1])
    dense[cols] = weights
    assert np.allclose(dense, again[0], atol=1e-6)
    assert math.isclose(float(np.linalg.norm(again[1])), 1.0, rel_tol=1e-6)
    assert isinstance(similarity.SimilarityIndex.build(texts).similar("导出", k=1), pd.DataFrame)
