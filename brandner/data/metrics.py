"""Entity-level precision, recall and F1 (strict span match), micro and per type.

Scores are fractions in [0, 1], as seqeval and spaCy report them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

from brandner.data.sentence import Span


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    support: int  # gold entities

    @classmethod
    def from_counts(cls, correct: int, predicted: int, gold: int) -> "Scores":
        precision = correct / predicted if predicted else 0.0
        recall = correct / gold if gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(precision, recall, f1, gold)

    def to_dict(self) -> dict:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "support": self.support}


@dataclass(frozen=True)
class Report:
    micro: Scores
    per_type: dict[str, Scores]

    def to_dict(self) -> dict:
        """``{"precision", "recall", "f1", "per_type": {TYPE: {...,"support"}}}``."""
        return {"precision": self.micro.precision, "recall": self.micro.recall, "f1": self.micro.f1,
                "support": self.micro.support,
                "per_type": {t: s.to_dict() for t, s in sorted(self.per_type.items())}}

    def table(self) -> str:
        """A fixed-width table: one row per type, then the micro average."""
        rows = [f"{'type':<14}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
        for name, s in sorted(self.per_type.items()) + [("micro", self.micro)]:
            rows.append(f"{name:<14}{s.precision * 100:>10.2f}{s.recall * 100:>10.2f}{s.f1 * 100:>10.2f}"
                        f"{s.support:>9}")
        return "\n".join(rows)


def score(gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[Span]]) -> Report:
    """Compare gold and predicted spans sentence by sentence (same order, same count)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    correct: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    for gold_spans, pred_spans in zip(gold, predicted):
        gold_set, pred_set = set(gold_spans), set(pred_spans)
        n_gold.update(s.type for s in gold_set)
        n_pred.update(s.type for s in pred_set)
        correct.update(s.type for s in gold_set & pred_set)
    types = sorted(set(n_gold) | set(n_pred))
    per_type = {t: Scores.from_counts(correct[t], n_pred[t], n_gold[t]) for t in types}
    micro = Scores.from_counts(sum(correct.values()), sum(n_pred.values()), sum(n_gold.values()))
    return Report(micro, per_type)


ERROR_KINDS = ("missed", "spurious", "type", "boundary")


@dataclass(frozen=True)
class SpanError:
    """One disagreement in a sentence: ``missed`` (a gold entity no prediction touches),
    ``spurious`` (a prediction touching no gold entity), ``type`` (same characters, other
    type) or ``boundary`` (overlapping characters, other start or end; the type may differ too).
    """

    kind: str
    gold: Span | None
    predicted: Span | None


def span_errors(gold: Iterable[Span], predicted: Iterable[Span]) -> list[SpanError]:
    """The errors of one sentence's predicted spans against its gold spans, by position.

    Exact matches are not errors. A gold entity overlapped by two predictions gives
    two ``boundary`` errors, one per pair.
    """
    gold_set, pred_set = set(gold), set(predicted)
    gold_left, pred_left = sorted(gold_set - pred_set), sorted(pred_set - gold_set)
    errors: list[SpanError] = []
    touched: set[Span] = set()
    for g in gold_left:
        overlapping = [p for p in pred_left if p.start < g.end and g.start < p.end]
        touched.update(overlapping)
        if not overlapping:
            errors.append(SpanError("missed", g, None))
        for p in overlapping:
            same_place = (p.start, p.end) == (g.start, g.end)
            errors.append(SpanError("type" if same_place else "boundary", g, p))
    errors.extend(SpanError("spurious", None, p) for p in pred_left if p not in touched)
    errors.sort(key=lambda e: (e.gold or e.predicted).start)
    return errors
