"""What a model gets wrong, over a whole evaluation set: error counts per type, the confusion
between types, and the words most often missed or found where there is none.

Built on :func:`brandner.data.metrics.span_errors` (one sentence's errors). An error counts
under the gold entity's type (``missed``, ``type``, ``boundary``) or, for ``spurious``, under the
predicted one.

>>> from brandner.data.sentence import Sentence, Span
>>> gold = [Sentence("我买了特步鞋", (Span(3, 5, "SHOE"),))]
>>> analysis = error_analysis(gold, [[Span(3, 6, "SHOE")]])
>>> analysis.per_type["SHOE"]["boundary"], analysis.confusion["SHOE"]["SHOE"]
(1, 1)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

from brandner.data.metrics import ERROR_KINDS, span_errors
from brandner.data.sentence import Sentence, Span

# The confusion's row for a prediction with no gold entity under it, and its column for a gold
# entity that no prediction touches. (A corpus whose type is named "none" would share it.)
NONE = "none"
# How the text table heads each kind of error.
KIND_NAMES = {"missed": "missed", "spurious": "spurious", "type": "wrong type", "boundary": "wrong boundary"}


@dataclass(frozen=True)
class WordCount:
    """One word (an entity's characters) of one type, and how often it was missed or spurious."""

    word: str
    type: str
    count: int

    def to_dict(self) -> dict:
        return {"word": self.word, "type": self.type, "count": self.count}


@dataclass(frozen=True)
class ErrorAnalysis:
    """The errors of a model's predictions on a set of sentences.

    ``per_type``: ``{TYPE: {"missed", "spurious", "type", "boundary": count}}`` for every type in
    the gold or the predictions. ``confusion``: ``{gold type or "none": {predicted type or "none":
    count}}`` over the same types: exact matches and wrong types (same characters), and each
    overlapping pair of a wrong boundary; ``none`` columns count missed entities, the ``none`` row
    spurious ones. ``top``: ``{"missed", "spurious": [WordCount]}``, most frequent first.
    """

    sentences: int
    sentences_with_errors: int
    per_type: dict[str, dict[str, int]]
    confusion: dict[str, dict[str, int]]
    top: dict[str, list[WordCount]]

    def to_dict(self) -> dict:
        """``{"sentences", "sentences_with_errors", "per_type", "confusion", "top": {"missed":
        [{"word", "type", "count"}], "spurious": [...]}}``."""
        return {"sentences": self.sentences, "sentences_with_errors": self.sentences_with_errors,
                "per_type": self.per_type, "confusion": self.confusion,
                "top": {kind: [w.to_dict() for w in words] for kind, words in self.top.items()}}

    def table(self) -> str:
        """Fixed-width text: errors per type, the confusion, then the most frequent words."""
        return "\n\n".join([self.counts_table(), self.confusion_table(), *(
            self.words_table(kind) for kind in self.top)])

    def totals(self) -> dict[str, int]:
        """``{kind: count}`` over every type."""
        return {k: sum(counts[k] for counts in self.per_type.values()) for k in ERROR_KINDS}

    def counts_table(self) -> str:
        width, cells = _width(self.per_type, "total"), [len(KIND_NAMES[k]) + 2 for k in ERROR_KINDS]
        rows = [f"{'errors':<{width}}" + "".join(f"{KIND_NAMES[k]:>{c}}" for k, c in zip(ERROR_KINDS, cells))]
        for name, counts in [*self.per_type.items(), ("total", self.totals())]:
            rows.append(f"{name:<{width}}" + "".join(f"{counts[k]:>{c}}" for k, c in zip(ERROR_KINDS, cells)))
        return "\n".join(rows)

    def confusion_table(self) -> str:
        names, corner = list(self.confusion), "gold \\ predicted"
        width, cell = _width(names, corner), max(8, *(len(n) + 2 for n in names))
        rows = [f"{corner:<{width}}" + "".join(f"{n:>{cell}}" for n in names)]
        rows += [f"{gold:<{width}}" + "".join(f"{row[p]:>{cell}}" for p in names) for gold, row in
                 self.confusion.items()]
        return "\n".join(rows)

    def words_table(self, kind: str) -> str:
        words = self.top[kind]
        width = _width([w.type for w in words], "type")
        rows = [f"most often {kind}", f"{'count':>7}  {'type':<{width}}  word"]
        rows += [f"{w.count:>7}  {w.type:<{width}}  {w.word}" for w in words]
        return "\n".join(rows)


def error_analysis(sentences: Sequence[Sentence], predicted: Sequence[Iterable[Span]],
                   top: int = 10) -> ErrorAnalysis:
    """The errors of ``predicted`` (spans per sentence, in order) against the sentences' spans,
    with the ``top`` most frequent missed and spurious words (ties: by word, then type)."""
    if len(sentences) != len(predicted):
        raise ValueError(f"{len(sentences)} gold sentences but {len(predicted)} predicted")
    kinds: Counter[tuple[str, str]] = Counter()  # (type, kind)
    pairs: Counter[tuple[str, str]] = Counter()  # (gold type, predicted type)
    words: dict[str, Counter[tuple[str, str]]] = {"missed": Counter(), "spurious": Counter()}
    types: set[str] = set()
    with_errors = 0
    for sentence, spans in zip(sentences, predicted):
        gold, guessed = set(sentence.spans), set(spans)
        types.update(s.type for s in gold | guessed)
        pairs.update((s.type, s.type) for s in gold & guessed)
        errors = span_errors(gold, guessed)
        with_errors += bool(errors)
        for error in errors:
            entity = error.gold or error.predicted
            kinds[entity.type, error.kind] += 1
            pairs[error.gold.type if error.gold else NONE, error.predicted.type if error.predicted else NONE] += 1
            if error.kind in words:
                words[error.kind][sentence.text[entity.start:entity.end], entity.type] += 1
    names = sorted(types)
    return ErrorAnalysis(
        len(sentences), with_errors,
        {t: {k: kinds[t, k] for k in ERROR_KINDS} for t in names},
        {g: {p: pairs[g, p] for p in [*names, NONE]} for g in [*names, NONE]},
        {kind: [WordCount(word, type_, n) for (word, type_), n in
                sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]]
         for kind, counts in words.items()})


def _width(names: Iterable[str], *more: str) -> int:
    return max(len(n) for n in [*names, *more]) + 2
