"""How far feedback grouping and the duplicate look-up are from the floor: a bare sparse product.

Texts are generated from the demo company's recurring questions (``ops_core.demo.TOPICS``, Chinese
and English paraphrases) with a greeting and two closing notes (thanks, a plant and line, a ticket
number, a version ...) drawn at random, so almost every text is a distinct wording, as real feedback is. Timed in the same run:

- group: ``similarity.group`` over ``--group-size`` texts (default 20,000): features, TF-IDF of the
  distinct wordings, the thresholded pairwise product in row blocks and the star groups;
  floor: the bare ``X @ X.T`` of the same matrix (scipy, one product, nothing kept). ``group``
  multiplies only the upper triangle, so it can come in under this floor;
- look-up: ``SimilarityIndex.similar(text, k=5)`` of one new text against ``--index-size`` stored
  texts (default 100,000), a different text each repeat: features of the text, the inverted-index
  product, top-k and the DataFrame;
  floor: the bare product of the same inverted index by the same query vector
  (``by_feature[cols].T @ weights``), and for reference the full ``X @ q`` that scans every stored row.

Medians over ``--group-repeats`` (default 5) and ``--lookup-repeats`` (default 50), with the ratio to the floor.

    .venv/bin/python bench/bench_feedback.py --group-size 20000 --index-size 100000
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ops_core import similarity
from ops_core.demo import TOPICS, ZH_CITIES

ZH_HEAD = ("", "您好，", "请问，", "我们这边", "麻烦看一下：", "紧急：", "客户反馈：")
EN_HEAD = ("", "Hi, ", "Quick question: ", "Hello team, ", "Urgent: ", "Customer says: ")
ZH_TAIL = ("", "谢谢", "今天上午开始的", "影响{city}工厂{line}号线", "工单号{order}", "麻烦尽快处理", "从上周就这样了",
           "{city}基地反馈", "第{line}车间", "版本V{line}.{order}")
EN_TAIL = ("", "Thanks.", "Started this morning.", "Affects line {line} at the {city} plant.", "Ticket {order}.",
           "Please help asap.", "Since last week.", "Reported by the {city} site.", "Workshop {line}.",
           "Version {line}.{order}.")
CITIES_EN = ("Suzhou", "Ningbo", "Dongguan", "Qingdao", "Chengdu", "Wuhan", "Xiamen", "Tianjin")


def generate_texts(n: int, seed: int) -> list[str]:
    """``n`` feedback texts, about two thirds Chinese, built as described in the module docstring."""
    rng = np.random.default_rng(seed)
    topic = rng.integers(0, len(TOPICS), n)
    english = rng.random(n) < 0.35
    variant, head = rng.integers(0, 100, n), rng.integers(0, 100, n)
    tails = rng.integers(0, 100, (n, 2))
    city, line, order = rng.integers(0, 100, n), rng.integers(1, 30, n), rng.integers(10_000, 99_999, n)
    texts = []
    for i in range(n):
        lang = "en" if english[i] else "zh"
        options = TOPICS[topic[i]][lang]
        heads, ends = (EN_HEAD, EN_TAIL) if english[i] else (ZH_HEAD, ZH_TAIL)
        cities = CITIES_EN if english[i] else ZH_CITIES
        words = {"city": cities[city[i] % len(cities)], "line": line[i], "order": order[i]}
        end = " ".join(ends[k % len(ends)].format(**words) for k in tails[i])
        texts.append(f"{heads[head[i] % len(heads)]}{options[variant[i] % len(options)]} {end}".strip())
    return texts


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_group(n: int, repeats: int, seed: int) -> dict[str, float]:
    texts = generate_texts(n, seed)
    # The floor multiplies the matrix group() multiplies: one row per distinct wording.
    matrix = similarity.TfidfMatrix.fit(list(dict.fromkeys(similarity.normalise(t) for t in texts))).matrix
    transposed = matrix.T.tocsr()
    times: dict[str, list[float]] = {"floor": [], "group": []}
    labels = None
    for _ in range(repeats):
        t = time.perf_counter()
        product = matrix @ transposed
        times["floor"].append(time.perf_counter() - t)
        del product
        t = time.perf_counter()
        labels = similarity.group(texts, None)
        times["group"].append(time.perf_counter() - t)
    assert labels is not None
    sizes = np.bincount(labels.to_numpy())
    return {"floor_ms": _median_ms(times["floor"]), "group_ms": _median_ms(times["group"]),
            "distinct": float(len(set(texts))), "groups": float(len(sizes)), "largest": float(sizes.max())}


def bench_lookup(n: int, repeats: int, seed: int) -> dict[str, float]:
    stored = generate_texts(n, seed)
    queries = generate_texts(repeats, seed + 1)
    t = time.perf_counter()
    index = similarity.SimilarityIndex.build(stored, np.arange(1, n + 1))
    build = time.perf_counter() - t
    times: dict[str, list[float]] = {"floor": [], "full_scan": [], "similar": []}
    for text in queries:
        cols, weights = index.tfidf.vector(text)
        dense = np.zeros(index.tfidf.matrix.shape[1], dtype=np.float32)
        dense[cols] = weights

        t = time.perf_counter()
        index.by_feature[cols].T @ weights
        times["floor"].append(time.perf_counter() - t)

        t = time.perf_counter()
        index.tfidf.matrix @ dense
        times["full_scan"].append(time.perf_counter() - t)

        t = time.perf_counter()
        index.similar(text, k=5)
        times["similar"].append(time.perf_counter() - t)
    return {"build_s": build, "floor_ms": _median_ms(times["floor"]), "full_scan_ms": _median_ms(times["full_scan"]),
            "similar_ms": _median_ms(times["similar"]), "p95_similar_ms": float(np.percentile(times["similar"], 95) * 1000)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group-size", type=int, default=20_000)
    parser.add_argument("--index-size", type=int, default=100_000)
    parser.add_argument("--group-repeats", type=int, default=5)
    parser.add_argument("--lookup-repeats", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    g = bench_group(args.group_size, args.group_repeats, args.seed)
    print(f"group {args.group_size:,} texts ({g['distinct']:,.0f} distinct wordings, threshold "
          f"{similarity.DEFAULT_THRESHOLD}): {g['group_ms']:,.0f} ms median of {args.group_repeats}; "
          f"floor (bare X @ X.T) {g['floor_ms']:,.0f} ms; ratio {g['group_ms'] / g['floor_ms']:.1f}x; "
          f"{g['groups']:,.0f} groups, largest {g['largest']:,.0f}")
    s = bench_lookup(args.index_size, args.lookup_repeats, args.seed)
    print(f"look-up of one new text in {args.index_size:,} stored texts (index built in {s['build_s']:.1f} s): "
          f"{s['similar_ms']:.2f} ms median of {args.lookup_repeats} (p95 {s['p95_similar_ms']:.2f} ms); "
          f"floor (bare inverted-index product) {s['floor_ms']:.2f} ms; ratio {s['similar_ms'] / s['floor_ms']:.1f}x; "
          f"full scan X @ q for reference {s['full_scan_ms']:.2f} ms")


if __name__ == "__main__":
    main()
