"""Tag schemes as data: BIO, IOBES and BMES.

One table per scheme (prefix -> role) drives everything that depends on the
scheme: validating tags read from files, turning spans into tags and back, and
the transitions a CRF may take when decoding.

>>> IOBES.to_tags([Span(0, 2, "HP")], 3)
['B-HP', 'E-HP', 'O']
>>> spans_from_tags(['B-HP', 'E-HP', 'O'], IOBES)
([Span(start=0, end=2, type='HP')], 0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal, Sequence

from brandner.data.sentence import Span
from brandner.errors import BrandnerError, quote

Role = Literal["begin", "inside", "end", "single"]
OUTSIDE = "O"


@dataclass(frozen=True)
class Scheme:
    """A tagging scheme: which prefix plays which role in an entity."""

    name: str
    prefixes: tuple[tuple[str, Role], ...]

    @property
    def role_of(self) -> dict[str, Role]:
        return dict(self.prefixes)

    @property
    def prefix_of(self) -> dict[Role, str]:
        return {role: prefix for prefix, role in self.prefixes}

    @property
    def closes_entities(self) -> bool:
        """Whether an entity must end with an explicit end (or single) tag."""
        return "end" in self.prefix_of

    def parse(self, tag: str) -> tuple[Role | None, str | None]:
        """``'B-HP'`` -> ``('begin', 'HP')``; ``'O'`` -> ``(None, None)``.

        Raises ValueError for a prefix this scheme does not have or a missing type.
        """
        if tag == OUTSIDE:
            return None, None
        prefix, sep, type_ = tag.partition("-")
        if not sep or not type_:
            raise ValueError(f"tag {quote(tag)} is not 'O' nor PREFIX-TYPE")
        role = self.role_of.get(prefix)
        if role is None:
            known = "/".join(p for p, _ in self.prefixes)
            raise ValueError(f"tag {quote(tag)} has prefix {quote(prefix)}, not one of {known} ({self.name})")
        return role, type_

    def tag(self, role: Role, type_: str) -> str:
        return f"{self.prefix_of[role]}-{type_}"

    def tags_for(self, types: Iterable[str]) -> list[str]:
        """Every tag of the scheme for these entity types, ``'O'`` first."""
        tags = [OUTSIDE]
        for type_ in sorted(set(types)):
            tags.extend(f"{prefix}-{type_}" for prefix, _ in self.prefixes)
        return tags

    def to_tags(self, spans: Iterable[Span], length: int) -> list[str]:
        """Tags for ``length`` characters carrying these (non-overlapping) spans."""
        tags = [OUTSIDE] * length
        prefix = self.prefix_of
        for span in spans:
            size = span.end - span.start
            if size == 1 and "single" in prefix:
                tags[span.start] = self.tag("single", span.type)
                continue
            tags[span.start] = self.tag("begin", span.type)
            for i in range(span.start + 1, span.end):
                tags[i] = self.tag("inside", span.type)
            if size > 1 and "end" in prefix:
                tags[span.end - 1] = self.tag("end", span.type)
        return tags

    def allowed(self, tags: Sequence[str]) -> tuple[list[list[bool]], list[bool], list[bool]]:
        """Which transitions between these tags can occur in a valid sequence.

        Returns ``(transitions[from][to], start[to], end[from])``.
        """
        parsed = [self.parse(t) for t in tags]
        opens = ("begin", "inside")
        continues = ("inside", "end")

        def can_follow(prev: tuple[Role | None, str | None], cur: tuple[Role | None, str | None]) -> bool:
            prev_open = prev[0] in opens
            if cur[0] in continues:
                return prev_open and prev[1] == cur[1]
            return not (prev_open and self.closes_entities)

        transitions = [[can_follow(a, b) for b in parsed] for a in parsed]
        start = [role not in continues for role, _ in parsed]
        end = [not (role in opens and self.closes_entities) for role, _ in parsed]
        return transitions, start, end


BIO = Scheme("BIO", (("B", "begin"), ("I", "inside")))
IOBES = Scheme("IOBES", (("B", "begin"), ("I", "inside"), ("E", "end"), ("S", "single")))
BMES = Scheme("BMES", (("B", "begin"), ("M", "inside"), ("E", "end"), ("S", "single")))
SCHEMES: dict[str, Scheme] = {s.name: s for s in (BIO, IOBES, BMES)}


def get_scheme(name: str) -> Scheme:
    """The scheme called ``name`` (case-insensitive; ``BIOES`` is IOBES)."""
    key = name.upper().replace("BIOES", "IOBES")
    if key not in SCHEMES:
        raise ValueError(f"unknown tag scheme {name!r}; expected one of {', '.join(SCHEMES)}")
    return SCHEMES[key]


def check_type(type_: str) -> str:
    """``type_`` if it can name an entity type: not empty, not ``O``, printable and without white
    space (it must survive a column file, where a tab or space ends the tag); else ValueError.

    >>> check_type("HP")
    'HP'
    """
    if not type_:
        raise ValueError("the entity type is empty")
    if type_ == OUTSIDE:
        raise ValueError("'O' is the tag outside entities, not an entity type")
    if not type_.isprintable() or any(char.isspace() for char in type_):
        raise ValueError(f"entity type {quote(type_)} holds white space or a character that is not printable")
    return type_


def detect_scheme(tags: Iterable[str]) -> Scheme:
    """The scheme these tags are written in: M- means BMES, E-/S- means IOBES, else BIO."""
    prefixes = {t.partition("-")[0] for t in tags if t != OUTSIDE}
    if "M" in prefixes:
        return BMES
    if prefixes & {"E", "S"}:
        return IOBES
    return BIO


def spans_from_tags(tags: Sequence[str], scheme: Scheme) -> tuple[list[Span], int]:
    """Entity spans in a tag sequence, and how many entities had to be repaired.

    Reads leniently, as conlleval and seqeval's default mode do: an inside or end
    tag that does not continue an open entity of its type starts a new entity
    (a *repair*); an entity left open simply ends where the next tag does not
    continue it. Raises ValueError for a tag the scheme does not know.
    """
    return spans_from_roles([scheme.parse(t) for t in tags])


def spans_from_roles(parsed: Sequence[tuple[Role | None, str | None]]) -> tuple[list[Span], int]:
    """:func:`spans_from_tags` over already parsed ``(role, type)`` pairs."""
    spans: list[Span] = []
    repairs = 0
    start = -1  # start of the open entity, -1 when none is open
    open_type: str | None = None
    for i, (role, type_) in enumerate(parsed):
        continuing = start >= 0 and role in ("inside", "end") and type_ == open_type
        if start >= 0 and not continuing:
            spans.append(Span(start, i, open_type))
            start = -1
        if role is None:
            continue
        if not continuing:
            repairs += role in ("inside", "end")
            start, open_type = i, type_
        if role in ("end", "single"):
            spans.append(Span(start, i + 1, open_type))
            start = -1
    if start >= 0:
        spans.append(Span(start, len(parsed), open_type))
    return spans, repairs


def convert_tags(tags: Sequence[str], source: Scheme, target: Scheme) -> list[str]:
    """Rewrite a tag sequence from one scheme into another (through spans)."""
    spans, _ = spans_from_tags(tags, source)
    return target.to_tags(spans, len(tags))


def as_scheme(scheme: Scheme | str | None) -> Scheme | None:
    """A Scheme from a Scheme, a name (``"bioes"``, ``"BMES"``...) or None."""
    if scheme is None or isinstance(scheme, Scheme):
        return scheme
    try:
        return get_scheme(scheme)
    except ValueError as error:
        raise BrandnerError(str(error)) from None
