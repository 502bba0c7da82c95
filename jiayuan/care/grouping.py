"""Grouping short, differently worded Chinese suggestions (ADR 0017).

Character unigrams and bigrams of the text (function characters and punctuation dropped),
weighted by TF-IDF over the neighbourhood's suggestions, compared by cosine similarity. A new
suggestion joins the group of its most similar earlier suggestion when the similarity reaches
``THRESHOLD`` (single link), otherwise it starts a group. Pure Python: a few hundred short texts a
day need no segmenter and no native dependency, and n-grams match 理发 / 剪头发 / 头发太长了想理发
through the characters they share, which a word segmenter splits into different words.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable

THRESHOLD = 0.15

# Characters that carry no topic in a short request ("我想请...", "能不能...吗"); \u4f60 (informal "you")
# is escaped: the UI's own text says 您 (core/tests/test_phone_details.py).
STOP_CHARS = set("的了吗呢吧啊呀我\u4f60您他她们想要能请希望可以不没有是在也都就和与及或把被给让很太还再一个这那些么什")
# Words any request may contain, whatever it is about: removed before the n-grams are taken.
STOP_WORDS = (
    "什么时候", "可不可以", "能不能", "好几天", "居委会", "为什么", "小区", "几天", "一下", "帮忙", "谁能",
    "楼下", "希望", "请问", "现在", "今天", "每天", "已经", "还是", "怎么", "吃完", "用完", "买不到",
)  # fmt: skip
_STOP_RE = re.compile("|".join(STOP_WORDS))
_KEEP = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+")


def features(text: str) -> Counter:
    """Character unigrams and bigrams of ``text``'s Chinese runs (ASCII words whole)."""
    grams: Counter = Counter()
    for run in _KEEP.findall(_STOP_RE.sub(" ", (text or "").lower())):
        if run.isascii():
            grams[run] += 1
            continue
        chars = [c for c in run if c not in STOP_CHARS]
        grams.update(chars)
        grams.update(a + b for a, b in itertools.pairwise(run) if a not in STOP_CHARS and b not in STOP_CHARS)
    return grams


class Vectoriser:
    """TF-IDF vectors over a corpus of texts."""

    def __init__(self, texts: Iterable[str]):
        self.grams = [features(t) for t in texts]
        df: Counter = Counter()
        for g in self.grams:
            df.update(g.keys())
        n = len(self.grams) or 1
        self.idf = {term: math.log((1 + n) / (1 + count)) + 1 for term, count in df.items()}

    def vector(self, grams: Counter) -> dict[str, float]:
        vec = {t: (1 + math.log(c)) * self.idf.get(t, 1.0) * (2.0 if len(t) > 1 else 1.0) for t, c in grams.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def scores(text: str, others: list[tuple[int, str]]) -> dict[int, float]:
    """The highest similarity of ``text`` to a member of each key's texts (``(key, text)`` pairs)."""
    if not others:
        return {}
    vec = Vectoriser([t for _k, t in others] + [text])
    target = vec.vector(vec.grams[-1])
    best: dict[int, float] = {}
    for (key, _t), grams in zip(others, vec.grams[:-1], strict=True):
        s = cosine(target, vec.vector(grams))
        if s > best.get(key, 0.0):
            best[key] = s
    return best


def best_match(text: str, others: list[tuple[int, str]]) -> tuple[int | None, float]:
    """``(key, similarity)`` of the most similar of ``others`` to ``text``."""
    best = scores(text, others)
    if not best:
        return None, 0.0
    key = max(best, key=lambda k: best[k])
    return key, best[key]


def cluster(texts: list[str], threshold: float = THRESHOLD) -> list[list[int]]:
    """Indexes of ``texts`` grouped by single-link similarity, in order of first appearance."""
    vec = Vectoriser(texts)
    vectors = [vec.vector(g) for g in vec.grams]
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(texts)):
        for j in range(i):
            if cosine(vectors[i], vectors[j]) >= threshold:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def typical(texts: list[str]) -> str:
    """The member most similar to the others (the group's typical wording)."""
    if len(texts) <= 2:
        return min(texts, key=len) if texts else ""
    vec = Vectoriser(texts)
    vectors = [vec.vector(g) for g in vec.grams]
    scores = [sum(cosine(v, w) for w in vectors) for v in vectors]
    return texts[max(range(len(texts)), key=lambda i: (scores[i], -len(texts[i])))]
