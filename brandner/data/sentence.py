"""The two data types every layer shares: an entity span and an annotated sentence."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Span:
    """An entity: characters ``start`` (inclusive) to ``end`` (exclusive) of type ``type``."""

    start: int
    end: int
    type: str

    def to_dict(self, text: str) -> dict:
        """The output-format entity: ``{"word", "type", "start", "end"}``."""
        return {"word": text[self.start:self.end], "type": self.type,
                "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Sentence:
    """A text (one character per position) and its entity spans, sorted by start."""

    text: str
    spans: tuple[Span, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for span in self.spans:
            if not 0 <= span.start < span.end <= len(self.text):
                raise ValueError(f"span {span} lies outside a text of {len(self.text)} characters")

    def to_dict(self) -> dict:
        """The output format: ``{"string", "entities": [...]}``."""
        return {"string": self.text, "entities": [s.to_dict(self.text) for s in self.spans]}
