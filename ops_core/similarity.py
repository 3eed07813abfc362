"""Similar feedback texts, in any language: duplicate look-up while typing and FAQ candidates.

Chinese has no spaces between words, so a text is cut into features without a dictionary:

- runs of Chinese characters give each character and each pair of neighbouring characters
  (1- and 2-grams inside the run). Left out: function characters as 1-grams (的 / 吗 / 请 ...) and
  question or politeness pairs (如何 / 怎么 / 请问 ...): unrelated questions share them and
  paraphrases of one question often do not. 3-grams were tried and left out: on hand-written
  paraphrase sets they lowered the cosine of paraphrases (mean 0.20 against 0.28 with 1- and
  2-grams) more than that of different questions;
- runs of other letters and digits give lower-cased words, with a crude English suffix strip
  (exports / exporting / exported -> export) and a short English stop-word list;
- text is NFKC-normalised first (full-width letters and punctuation become plain), and 帐 is folded
  to 账 (both are written for "account").

Each text becomes a TF-IDF vector (sublinear term frequency 1 + ln(tf), smooth idf
ln((1 + n) / (1 + df)) + 1, L2-normalised), and similarity is the cosine of two vectors. Chinese and
English wordings of one question share no features: they are found, and grouped, apart.

A look-up multiplies the stored matrix, kept transposed as an inverted index (feature -> texts), by
the new text's vector: it touches only the texts that share a feature with it. Features the stored
texts never had still count in the new text's length (at the largest idf), so a text sharing one
common character with the store is not scored as a near copy.

Grouping (``group``) builds the sparse graph of cosines at or above a threshold from the pairwise
product in row blocks, over distinct wordings only, and cuts it into star groups (see ``group``).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from ops_core import settings
from ops_core.db.models import TABLES
from ops_core.db.queries import frame_of
from ops_core.errors import UsageError

# A text joins a group when its cosine with the group's centre is at least this (the default of the
# setting feedback.group_threshold). Chosen on hand-written paraphrase sets (six Chinese, five English;
# tests/test_similarity.py has one) mixed with the demo company's questions: paraphrases scored 0.12-0.45
# with each other in Chinese and 0.3-0.8 in English; different questions at most 0.17 in Chinese and
# 0.30 in English. At 0.25 each set became one group and no two sets merged; a set does take in demo
# questions that share its key words ("Excel export garbled" with "how do I export to Excel").
DEFAULT_THRESHOLD = 0.25
BLOCK_ROWS = 2_000  # rows of the pairwise product computed at once (memory stays ~ BLOCK_ROWS x n)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKENS = re.compile(rf"[{_CJK}]+|(?:(?![{_CJK}])[^\W_])+")
_CJK_RUN = re.compile(rf"[{_CJK}]")
_FOLD = str.maketrans({"帐": "账"})
# Function characters that say nothing alone (kept inside pairs, dropped as single characters).
_CJK_STOP = frozenset("的了吗呢吧啊呀么是在有和与或及我你您他她它们这那个请问好就都也还又把被给让从对为能会要想怎如何哪样")
# Question and politeness words: shared by unrelated questions, absent from half of the paraphrases.
_CJK_STOP_PAIRS = frozenset({"如何", "怎么", "怎样", "什么", "方法", "请问", "可以", "能否", "能不", "有没",
                             "哪里", "为什", "么办", "一下", "是否", "您好", "你好", "我们", "这边", "谢谢"})
_EN_STOP_TEXT = """a an the and or but if of to in on at by for with from as is are was were be been being do does did
i we you he she it they me us our your my its this that these those there here what which who how can could would
should will shall may might must please hi hello dear thanks thank team quick question so not no any some just also"""
_EN_STOP = frozenset(_EN_STOP_TEXT.split())
_SUFFIXES = (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""))


def _stem(word: str) -> str:
    if len(word) <= 4 or word.isdigit():
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + replacement
    return word


def normalise(text: str) -> str:
    """The text as compared: NFKC, lower case, 帐 -> 账, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", str(text)).lower().translate(_FOLD).split())


def features(text: str) -> list[str]:
    """The features of one text (see the module docstring); repeated features repeat."""
    out: list[str] = []
    for run in _TOKENS.findall(normalise(text)):
        if _CJK_RUN.match(run):
            n = len(run)
            out.extend(c for c in run if c not in _CJK_STOP)
            out.extend(pair for i in range(n - 1) if (pair := run[i:i + 2]) not in _CJK_STOP_PAIRS)
        elif run not in _EN_STOP:
            out.append(_stem(run))
    return out


def _check_lengths(texts: Sequence[str], ids: Sequence[Any] | None) -> None:
    if ids is not None and len(ids) != len(texts):
        raise UsageError(f"{len(texts)} texts but {len(ids)} ids: give one id per text")


@dataclass(frozen=True)
class TfidfMatrix:
    """Row-normalised TF-IDF vectors of some texts, and the vocabulary that maps new texts onto them."""

    matrix: sp.csr_matrix        # texts x features, float32, rows of length 1 (or 0 for a text without features)
    vocabulary: dict[str, int]   # feature -> column
    idf: np.ndarray              # per column

    @classmethod
    def fit(cls, texts: Sequence[str]) -> TfidfMatrix:
        lists = [features(t) for t in texts]
        lengths = np.fromiter((len(f) for f in lists), dtype=np.int64, count=len(lists))
        flat = np.fromiter(chain.from_iterable(lists), dtype=object, count=int(lengths.sum()))
        codes, uniques = pd.factorize(flat) if len(flat) else (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object))
        n, width = len(lists), len(uniques)
        rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
        counts = sp.csr_matrix((np.ones(len(codes), dtype=np.float32), (rows, codes)), shape=(n, width))
        counts.sum_duplicates()
        df = np.bincount(counts.indices, minlength=width)
        idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
        counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]
        norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        counts.data *= np.repeat(scale, np.diff(counts.indptr)).astype(np.float32)
        vocabulary = {str(f): i for i, f in enumerate(uniques.tolist())}
        return cls(counts.astype(np.float32), vocabulary, idf)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Vectors of new ``texts`` on this vocabulary (one row each), normalised as ``vector`` is."""
        lists = [features(t) for t in texts]
        lengths = np.fromiter((len(f) for f in lists), dtype=np.int64, count=len(lists))
        flat = pd.Series(np.fromiter(chain.from_iterable(lists), dtype=object, count=int(lengths.sum())), dtype=object)
        rows = np.repeat(np.arange(len(lists), dtype=np.int64), lengths)
        counts = pd.DataFrame({"row": rows, "feature": flat}).value_counts(sort=False).reset_index(name="n")
        cols = pd.Index(list(self.vocabulary)).get_indexer(counts["feature"])
        known = cols >= 0
        idf = np.where(known, self.idf[np.maximum(cols, 0)], self.unseen_idf)
        weight = (1.0 + np.log(counts["n"].to_numpy(dtype=np.float64))) * idf
        norms = np.sqrt(np.bincount(counts["row"].to_numpy(), weights=weight**2, minlength=len(lists)))
        weight = weight / np.where(norms > 0, norms, 1.0)[counts["row"].to_numpy()]
        return sp.csr_matrix((weight[known].astype(np.float32), (counts["row"].to_numpy()[known], cols[known])),
                             shape=(len(lists), self.matrix.shape[1]))

    @property
    def unseen_idf(self) -> float:
        """The idf a feature no stored text has (df = 0)."""
        return float(np.log(1.0 + self.matrix.shape[0]) + 1.0)

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, weights) of ``text`` on this vocabulary, normalised with its unseen features included."""
        counts = Counter(features(text))
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        tf = {f: 1.0 + np.log(c) for f, c in counts.items()}
        known = [(self.vocabulary[f], w) for f, w in tf.items() if f in self.vocabulary]
        cols = np.fromiter((c for c, _ in known), dtype=np.int64, count=len(known))
        weights = np.fromiter((w for _, w in known), dtype=np.float64, count=len(known)) * self.idf[cols]
        unseen = np.fromiter((w for f, w in tf.items() if f not in self.vocabulary), dtype=np.float64) * self.unseen_idf
        norm = np.sqrt(np.sum(weights**2) + np.sum(unseen**2))
        return cols, (weights / norm).astype(np.float32)


@dataclass(frozen=True)
class SimilarityIndex:
    """Stored texts ready for look-up: build once (the page caches it), ask ``similar`` per keystroke."""

    tfidf: TfidfMatrix
    by_feature: sp.csr_matrix  # features x texts: the inverted index a look-up reads
    ids: np.ndarray

    @classmethod
    def build(cls, texts: Sequence[str], ids: Sequence[Any] | None = None) -> SimilarityIndex:
        _check_lengths(texts, ids)
        tfidf = TfidfMatrix.fit(texts)
        keys = np.arange(len(texts)) if ids is None else np.asarray(ids)
        return cls(tfidf, tfidf.matrix.T.tocsr(), keys)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, text: str) -> np.ndarray:
        """Cosine of ``text`` with every stored text (dense, in stored order)."""
        cols, weights = self.tfidf.vector(text)
        if len(cols) == 0:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self.by_feature[cols].T @ weights

    def similar(self, text: str, k: int = 5, min_score: float = 0.0) -> pd.DataFrame:
        """The ``k`` stored texts most like ``text``: DataFrame(id, score), best first, score > min_score."""
        if k < 1:
            raise UsageError(f"k must be at least 1, not {k}")
        scores = self.scores(text)
        if len(scores) == 0:
            return pd.DataFrame({"id": self.ids[:0], "score": np.zeros(0)})
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k] if len(scores) > k else np.arange(len(scores))
        top = top[scores[top] > min_score]
        order = top[np.lexsort((top, -scores[top]))]  # best first; ties by stored order
        return pd.DataFrame({"id": self.ids[order], "score": scores[order].astype(np.float64)})


def _rows_of(indptr: np.ndarray) -> np.ndarray:
    """The row of each entry of a CSR matrix."""
    return np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))


def similarity_edges(matrix: sp.csr_matrix, threshold: float,
                     block_rows: int = BLOCK_ROWS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of rows whose cosine is at least ``threshold``, and the cosine.

    Rows ``a..b`` are multiplied by rows ``a..n`` only (the upper triangle: half the work of X @ X.T),
    one block at a time so memory stays near ``block_rows`` x n.
    """
    n = matrix.shape[0]
    heads: list[np.ndarray] = []
    tails: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    for start in range(0, n, block_rows):
        block = matrix[start:start + block_rows] @ matrix[start:].T.tocsr()
        rows = _rows_of(block.indptr)
        keep = (block.data >= threshold) & (block.indices > rows)
        heads.append(rows[keep] + start)
        tails.append(block.indices[keep].astype(np.int64) + start)
        scores.append(block.data[keep])
    if not heads:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    return np.concatenate(heads), np.concatenate(tails), np.concatenate(scores)


def _leaders(graph: sp.csr_matrix, priority: np.ndarray) -> np.ndarray:
    """The greedy independent set by descending ``priority`` (distinct values), found in parallel rounds.

    Taking nodes one by one, best first, and keeping a node unless a kept neighbour covers it gives
    the same set as these rounds: a still-undecided node whose priority beats every undecided
    neighbour is kept, and its neighbours are covered. Each round is a few array operations.
    """
    n = graph.shape[0]
    undecided = np.ones(n, dtype=bool)
    leader = np.zeros(n, dtype=bool)
    rows, cols = _rows_of(graph.indptr), graph.indices.astype(np.int64)
    while undecided.any():
        live = undecided[rows] & undecided[cols]  # the graph shrinks as nodes are decided
        rows, cols = rows[live], cols[live]
        best_neighbour = np.full(n, -np.inf)
        if len(rows):
            starts = np.flatnonzero(np.concatenate([[True], rows[1:] != rows[:-1]]))
            best_neighbour[rows[starts]] = np.maximum.reduceat(priority[cols], starts)
        chosen = undecided & (priority > best_neighbour)
        leader |= chosen
        undecided &= ~chosen
        undecided[cols[chosen[rows]]] = False  # covered by a new centre
    return leader


@dataclass(frozen=True)
class Grouping:
    """Groups of texts: ``labels`` per text (0 the largest group) and ``centres[g]``, a text of group g."""

    labels: np.ndarray
    centres: np.ndarray


def cluster(texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD) -> Grouping:
    """Star groups of ``texts`` (positions); see ``group`` for the rule."""
    if not 0.0 < threshold <= 1.0:
        raise UsageError(f"threshold must be in (0, 1], not {threshold}")
    if len(texts) == 0:
        return Grouping(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    wording, distinct = pd.factorize(pd.Series([normalise(t) for t in texts], dtype=object))
    m = len(distinct)
    copies = np.bincount(wording, minlength=m)
    heads, tails, scores = similarity_edges(TfidfMatrix.fit(list(distinct)).matrix, threshold)
    both = np.concatenate([heads, tails]), np.concatenate([tails, heads])
    graph = sp.csr_matrix((np.concatenate([scores, scores]), both), shape=(m, m))
    # Priority: how many items (copies counted) are within the threshold, then the earlier wording.
    reach = copies + graph.astype(bool).astype(np.int64) @ copies
    order = np.lexsort((-np.arange(m), reach))
    priority = np.empty(m, dtype=np.float64)
    priority[order] = np.arange(m)
    leader = _leaders(graph, priority)
    # Every other wording joins the most similar centre among its neighbours (one always exists).
    centre_of = np.arange(m)
    rows = _rows_of(graph.indptr)
    link = ~leader[rows] & leader[graph.indices]
    r, c, s = rows[link], graph.indices[link], graph.data[link]
    pick = np.lexsort((c, -s, r))
    first = np.ones(len(pick), dtype=bool)
    first[1:] = r[pick][1:] != r[pick][:-1]
    centre_of[r[pick][first]] = c[pick][first]
    # Label groups by size in items (largest 0), ties by the earlier centre wording.
    centres = np.nonzero(leader)[0]
    slot = np.full(m, -1, dtype=np.int64)
    slot[centres] = np.arange(len(centres))
    sizes = np.bincount(slot[centre_of], weights=copies, minlength=len(centres))
    rank = np.empty(len(centres), dtype=np.int64)
    ranked = np.lexsort((centres, -sizes))
    rank[ranked] = np.arange(len(centres))
    labels = rank[slot[centre_of[wording]]]
    first_text = np.full(m, len(texts), dtype=np.int64)
    np.minimum.at(first_text, wording, np.arange(len(texts)))
    return Grouping(labels, first_text[centres[ranked]])


def group(texts: Sequence[str], ids: Sequence[Any] | None = None, threshold: float = DEFAULT_THRESHOLD) -> pd.Series:
    """Group similar texts: a Series (index ``ids``, name "group") of labels, 0 the largest group.

    Star groups over the sparse graph of cosines >= ``threshold``: the wording that reaches the most
    items within the threshold becomes a centre, its neighbours are covered; the best uncovered
    wording is the next centre, and so on (greedy, by priority, computed in parallel rounds). Every
    other wording joins its most similar centre. So each member is directly similar to its centre:
    groups cannot chain through a series of small steps, as connected components of the same graph
    do (on the benchmark's 20,000 texts components made one group of 13,000 of them). Identical texts
    after ``normalise`` are always together. A text like no other is a group of its own.
    """
    _check_lengths(texts, ids)
    index = pd.RangeIndex(len(texts)) if ids is None else pd.Index(ids)
    return pd.Series(cluster(texts, threshold).labels, index=index, name="group")


def faq_candidates(conn: Connection | Session, first: dt.date, last: dt.date, threshold: float | None = None,
                   top: int = 10, types: Sequence[str] | None = None) -> pd.DataFrame:
    """The ``top`` largest groups of feedback received from ``first`` to ``last`` (inclusive): FAQ candidates.

    One row per group, largest first, with columns group (0 the largest), items, customers (distinct
    count), customer_names (sorted, comma-separated), representative (the group's centre text: the
    wording most items are close to), representative_id, feedback_ids (list), faq_ids (FAQ entries its
    items already link to: empty means no FAQ answers it yet) and types (confirmed types seen).
    ``types`` restricts the items, e.g. to usage questions. Groups of one item are left out.
    ``threshold`` defaults to the setting feedback.group_threshold.
    """
    if threshold is None:
        threshold = float(settings.get(conn, "feedback.group_threshold"))
    feedback, customers = TABLES["feedback"], TABLES["customers"]
    query = (select(feedback.c.id, feedback.c.text, feedback.c.customer_id, customers.c.name.label("customer"),
                    feedback.c.faq_id, feedback.c.type)
             .join(customers, customers.c.id == feedback.c.customer_id)
             .where(feedback.c.received_at >= dt.datetime.combine(first, dt.time()),
                    feedback.c.received_at < dt.datetime.combine(last + dt.timedelta(days=1), dt.time()))
             .order_by(feedback.c.id))
    if types:
        query = query.where(feedback.c.type.in_(list(types)))
    items = frame_of(conn.execute(query).all(), columns=["id", "text", "customer_id", "customer", "faq_id", "type"])
    columns = ["group", "items", "customers", "customer_names", "representative", "representative_id",
               "feedback_ids", "faq_ids", "types"]
    if items.empty:
        return pd.DataFrame(columns=columns)
    grouping = cluster(items["text"].tolist(), threshold)
    texts, ids = items["text"].to_numpy(), items["id"].to_numpy()
    items["group"] = grouping.labels
    items = items[items["group"] < top]
    per = items.groupby("group", sort=True)  # at most ``top`` groups: the lambdas below run per group
    out = pd.DataFrame({
        "items": per.size(),
        "customers": per["customer_id"].nunique(),
        "customer_names": per["customer"].agg(lambda s: ", ".join(sorted(set(s)))),
        "feedback_ids": per["id"].agg(list),
        "faq_ids": per["faq_id"].agg(lambda s: sorted({int(v) for v in s.dropna()})),
        "types": per["type"].agg(lambda s: sorted(set(s.dropna()))),
    })
    out = out[out["items"] > 1]
    centre = grouping.centres[out.index.to_numpy()]
    out["representative"] = texts[centre]
    out["representative_id"] = ids[centre]
    return out.reset_index()[columns]
