"""Brand mentions counted over tagged posts (``brandner report``): per name and type, per day,
week or month, and the pairs of names mentioned together. Definitions in docs/monitoring.md.

A post is a record as ``brandner tag`` writes it (brandner.reports.tagged reads them)::

    {"string": "耐克和阿迪哪个好", "date": "2026-03-01",
     "entities": [{"word": "耐克", "type": "HP", "start": 0, "end": 2, "canonical": "Nike"},
                  {"word": "阿迪", "type": "HP", "start": 3, "end": 5}]}

- an entity's **name** is its ``canonical`` (a non-empty string) if it has one, else its
  ``word``, blanks around it dropped; ``by="word"`` always takes the word. Names are counted per name and type: the same
  name found as two types is two rows;
- **mentions** of a name: its entities; **posts**: the posts with at least one (a post counts
  once per name, however often it names it); **share**: its mentions over all mentions counted;
- a **co-mention** is a pair of different names in one post, counted once per post (types
  aside): ``{Nike, 阿迪}`` above;
- ``types`` keeps only the entities of those types (an empty collection keeps all);
- a record with an ``error`` that is not null (``tag --on-error skip``'s ``{"error": ...,
  "line": N}``, a Spark or Ray row that failed to tag) is no post: it is skipped and counted.

Memory grows with the number of distinct names, names per period and pairs, never with the
number of posts. Pairs alone can grow as the square of the names, so they are capped: past
``max_pairs`` distinct pairs, the counts are lowered together by the median count and those at
zero dropped (Misra and Gries's frequent-items summary). Each pair's count is then at most
:attr:`MentionCounts.pairs_shortfall` below its true count (0 while the cap was never reached),
never above it, and every pair named together in more posts than that is kept.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from typing import Collection, Iterable, NamedTuple

from brandner.data.records import json_type
from brandner.errors import InputFileError, quote
from brandner.reports.periods import PERIODS, day_of, next_period, period_start
from brandner.reports.tagged import Tagged

BY = ("canonical", "word")
# Distinct co-mention pairs kept at most (about 200 bytes each): see the module's docstring.
MAX_PAIRS = 200_000
# The periods between the first and last dated post are listed, those without posts as zeros,
# when there are at most this many (ten years of days); past that only the periods with posts.
MAX_FILLED_PERIODS = 3660

Key = tuple[str, str]  # (name, type)


class NameCount(NamedTuple):
    name: str
    type: str
    mentions: int
    posts: int
    share: float  # of all mentions counted, 0 to 1


@dataclass
class MentionCounts:
    """What :func:`count_mentions` found. Counters are keyed by ``(name, type)``, by
    ``(name, type, period)`` (a period is its first day, a ``datetime.date``), by period, or by a
    pair of names in sorted order; zeros are not stored.
    Pairs are kept after each post to ``max_pairs`` at most (see the module's docstring)."""

    by: str = "canonical"
    types: tuple[str, ...] = ()
    posts: int = 0  # records counted, with or without entities
    posts_with_mentions: int = 0  # posts with at least one entity counted
    error_records: int = 0  # records with an error, skipped
    mentions: Counter = field(default_factory=Counter)  # (name, type) -> entities
    name_posts: Counter = field(default_factory=Counter)  # (name, type) -> posts naming it
    time_field: str | None = None
    period: str | None = None  # "day", "week" or "month" when there is a time field
    undated: int = 0  # posts whose time field is missing or not a time
    first_undated: str | None = None  # "path:line" of the first of them
    period_posts: Counter = field(default_factory=Counter)  # period -> dated posts
    period_mentions: Counter = field(default_factory=Counter)  # period -> mentions in dated posts
    mentions_by_period: Counter = field(default_factory=Counter)  # (name, type, period) -> mentions
    posts_by_period: Counter = field(default_factory=Counter)  # (name, type, period) -> posts
    pairs: Counter = field(default_factory=Counter)  # (name, name) -> posts naming both
    max_pairs: int = MAX_PAIRS
    pairs_shortfall: int = 0  # how far below its true count a pair's count may be

    @property
    def total_mentions(self) -> int:
        return sum(self.mentions.values())

    def top(self, n: int | None = None) -> list[NameCount]:
        """The ``n`` names with most mentions (all if None): ties by posts, then by name and type."""
        total = self.total_mentions or 1
        order = sorted(self.mentions, key=lambda key: (-self.mentions[key], -self.name_posts[key], key))
        return [NameCount(name, type_, self.mentions[(name, type_)], self.name_posts[(name, type_)],
                          self.mentions[(name, type_)] / total) for name, type_ in order[:n]]

    def periods(self) -> list[datetime.date]:
        """The periods of the dated posts in order, from the first to the last, those without
        posts included (see :data:`MAX_FILLED_PERIODS`)."""
        seen = sorted(self.period_posts)
        if not seen or self.period is None:
            return seen
        filled, start = [], seen[0]
        while len(filled) <= MAX_FILLED_PERIODS:
            filled.append(start)
            if start >= seen[-1]:
                return filled
            start = next_period(start, self.period)
        return seen

    def top_pairs(self, n: int | None = None) -> list[tuple[str, str, int]]:
        """The ``n`` pairs of names in most posts together (all if None), as (name, name, posts)."""
        order = sorted(self.pairs.items(), key=lambda item: (-item[1], item[0]))
        return [(a, b, posts) for (a, b), posts in order[:n]]


def count_mentions(records: Iterable[Tagged], by: str = "canonical", types: Collection[str] = (),
                   time_field: str | None = None, period: str = "day",
                   zone: datetime.tzinfo = datetime.timezone.utc, max_pairs: int = MAX_PAIRS) -> MentionCounts:
    """Count the mentions in ``records`` (as brandner.reports.tagged.read_tagged gives them; see
    the module's docstring for what is counted). With ``time_field``, each post's value there
    (brandner.reports.periods.day_of, in ``zone``) puts it in its ``period``; a post without
    one is counted everywhere but per period. A record without ``entities`` or with a malformed
    entity is an InputFileError (``path:line: what``), raised where it is met."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}, got {by!r}")
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    if max_pairs < 1:
        raise ValueError(f"max_pairs must be at least 1, got {max_pairs}")
    counts = MentionCounts(by=by, types=tuple(sorted(types)), time_field=time_field,
                           period=period if time_field is not None else None, max_pairs=max_pairs)
    wanted = frozenset(types)
    for path, number, record in records:
        if record.get("error") is not None:
            counts.error_records += 1
            continue
        names = _post_names(record, by, wanted, path, number)
        counts.posts += 1
        _add_post(counts, names)
        if time_field is not None:
            _add_dated(counts, names, record.get(time_field), zone, f"{path}:{number}")
        if len(names) > 1:
            _add_pairs(counts, sorted({name for name, _ in names}))
    return counts


def _post_names(record: dict, by: str, wanted: frozenset[str], path: str, number: int) -> Counter:
    """The post's entities counted by (name, type), after checking them."""
    entities = record.get("entities")
    if not isinstance(entities, list):
        what = "no 'entities'" if "entities" not in record else f"'entities' is {json_type(entities)}, not a list"
        raise InputFileError(path, number, f"{what}: expected a tagged post, {{\"string\": ..., "
                                           "\"entities\": [{\"word\": ..., \"type\": ...}, ...]}")
    names: Counter = Counter()
    for index, entity in enumerate(entities, start=1):
        if not isinstance(entity, dict):
            raise InputFileError(path, number, f"entity {index} is {json_type(entity)}, not an object")
        word, type_ = entity.get("word"), entity.get("type")
        if isinstance(word, str):
            word = word.strip()  # a span with a blank in it (ecommerce's gold '索尼 ') names the same brand
        if not (isinstance(word, str) and word and isinstance(type_, str) and type_):
            raise InputFileError(path, number, f"entity {index} needs a 'word' and a 'type', each a non-empty "
                                               f"string: got word {quote(word)}, type {quote(type_)}")
        if wanted and type_ not in wanted:
            continue
        canonical = entity.get("canonical")
        if canonical is not None and not isinstance(canonical, str):
            raise InputFileError(path, number, f"entity {index}: 'canonical' is {json_type(canonical)}, not a string")
        if by == "canonical" and canonical and (canonical := canonical.strip()):
            word = canonical
        names[(word, type_)] += 1
    return names


def _add_post(counts: MentionCounts, names: Counter) -> None:
    counts.posts_with_mentions += bool(names)
    counts.mentions.update(names)
    counts.name_posts.update(names.keys())


def _add_dated(counts: MentionCounts, names: Counter, value: object, zone: datetime.tzinfo, where: str) -> None:
    day = day_of(value, zone)
    if day is None:
        counts.undated += 1
        counts.first_undated = counts.first_undated or where
        return
    start = period_start(day, counts.period)
    counts.period_posts[start] += 1
    counts.period_mentions[start] += sum(names.values())
    for (name, type_), mentions in names.items():
        counts.mentions_by_period[(name, type_, start)] += mentions
        counts.posts_by_period[(name, type_, start)] += 1


def _add_pairs(counts: MentionCounts, names: list[str]) -> None:
    pairs = counts.pairs
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            pairs[(first, second)] += 1
    while len(counts.pairs) > counts.max_pairs:  # one post of many names may need several rounds
        _shrink_pairs(counts)


def _shrink_pairs(counts: MentionCounts) -> None:
    """Lower every pair's count by the median count and drop those at zero: at least half go."""
    values = sorted(counts.pairs.values())
    cut = values[(len(values) - 1) // 2]
    counts.pairs = Counter({pair: posts - cut for pair, posts in counts.pairs.items() if posts > cut})
    counts.pairs_shortfall += cut
