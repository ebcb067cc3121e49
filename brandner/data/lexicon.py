"""Word lists and finding their words in text: the lexicon and gazetteer features.

A :class:`Lexicon` finds every occurrence of its words in a text, overlapping ones
included, by walking a prefix table from each position (a trie flattened into two
hash sets): the walk from position ``i`` stops as soon as ``text[i:j]`` begins no
word, so a text costs about one set look-up per character times the length of the
longest partial match there, not one per window of every length.

>>> Lexicon(["富士", "富士康", "士康", "手机"]).matches("我买了富士康手机")
[(3, 5), (3, 6), (4, 6), (6, 8)]

Word lists are read from files with one entry a line, or ``jieba`` for the
dictionary that ships with jieba (its lines are ``word frequency tag``). A line of a
brand list may name an alias and its canonical name, ``耐克<TAB>Nike``: both are words
of the list (see :func:`name_lines`; brandner.tagging.canonical reads the same files
for canonical names).
Typed gazetteers are named word lists, written ``TYPE=FILE``, several comma-separated
(a comma not followed by ``TYPE=`` belongs to the file name); a type given twice takes
the words of both files:

>>> parse_gazetteers("brand=brand1.dic,brand=brand2.dic,product=product1.dic")
{'brand': ['brand1.dic', 'brand2.dic'], 'product': ['product1.dic']}
>>> parse_gazetteers("brand=brands,2024.txt")
{'brand': ['brands,2024.txt']}
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import jieba

from brandner.data.formats import read_lines
from brandner.errors import BrandnerError, InputFileError

JIEBA = "jieba"
# Positions of a character in a word that holds it (SoftLexicon's B, M, E, S sets). Not the order of
# features.py's segment ids (S=0, B=1, I=2, E=3): each order is baked into saved models' inputs.
BEGIN, INSIDE, END, SINGLE = 0, 1, 2, 3
NUM_POSITIONS = 4


# The matcher keeps every prefix of every word, so its memory grows with a word's length squared; a
# longer entry is more likely a file whose lines end in \r alone (one line, 37,409 characters, 1.4 GB).
MAX_WORD_LENGTH = 100


class Lexicon:
    """A set of words and a fast matcher for them."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(w for w in words if w)
        self._prefixes = frozenset(w[:k] for w in self.words for k in range(1, len(w)))

    def __len__(self) -> int:
        return len(self.words)

    def matches(self, text: str) -> list[tuple[int, int]]:
        """``(start, end)`` of every occurrence of every word, by start then end."""
        words, prefixes = self.words, self._prefixes
        found = []
        n = len(text)
        for i in range(n):
            for j in range(i + 1, n + 1):
                piece = text[i:j]
                if piece in words:
                    found.append((i, j))
                if piece not in prefixes:
                    break
        return found


def read_words(source: str, normalize: Callable[[str], str] = str) -> list[str]:
    """The words of ``source`` (``jieba`` or a file path), normalised, in file order,
    each once. Blank lines are skipped; a file's entry is the whole line, stripped,
    so brand names with spaces (``new balance``) stay whole; an ``alias<TAB>canonical``
    line gives both names."""
    if source == JIEBA:
        with jieba.get_dict_file() as handle:  # an open file; only its name is wanted
            path = Path(handle.name)
        lines = [line.split(" ", 1)[0] for line in _read_lines(path)]
    else:
        lines = [word for _, alias, canonical in name_lines(source) for word in (alias, canonical)]
    return list(dict.fromkeys(normalize(w) for w in lines if w))


def name_lines(source: str | Path) -> Iterator[tuple[int, str, str]]:
    """``(line number, name, canonical name)`` for each line of a word list that is not blank::

        耐克\tNike        an alias, then its canonical name, a tab between them
        Nike             a bare name is its own canonical name
        new balance      spaces belong to the name; each name is stripped

    A line with two tabs, an empty name beside its tab, or a name over MAX_WORD_LENGTH
    characters is an :class:`InputFileError` naming the line."""
    for number, line in enumerate(_read_lines(Path(source)), start=1):
        if not line.strip():
            continue
        names = [name.strip() for name in line.split("\t")]
        if len(names) > 2 or not all(names):
            raise InputFileError(str(source), number, "a line is a name, or an alias, a tab and its canonical "
                                 f"name; got {len(names) - 1} tab(s) and {sum(map(bool, names))} name(s)")
        for name in names:
            if len(name) > MAX_WORD_LENGTH:
                raise InputFileError(str(source), number, f"an entry of {len(name)} characters (at most "
                                     f"{MAX_WORD_LENGTH}): one word or name a line, and lines end at \\n")
        yield number, names[0], names[-1]


def parse_gazetteers(spec: str | Sequence[str]) -> dict[str, list[str]]:
    """``TYPE=FILE,...`` as ``{type: [files]}`` in order of first appearance (see the module
    docstring). A list holds one ``TYPE=FILE`` per item, not split at commas, so its paths
    may contain them (``brandner tag --gazetteer``)."""
    gazetteers: dict[str, list[str]] = {}
    parts = _gazetteer_items(spec) if isinstance(spec, str) else spec
    for part in filter(None, (p.strip() for p in parts)):
        type_, sep, path = (x.strip() for x in part.partition("="))
        if not sep or not type_ or not path:
            raise BrandnerError(f"a gazetteer is TYPE=FILE (e.g. brand=brands.txt), got {part!r}")
        gazetteers.setdefault(type_, []).append(path)
    return gazetteers


def _gazetteer_items(spec: str) -> list[str]:
    """``spec`` cut at the commas that begin another ``TYPE=``: the others are part of a file name."""
    items: list[str] = []
    for part in spec.split(","):
        if items and part.strip() and "=" not in part:
            items[-1] += "," + part
        else:
            items.append(part)
    return items


def read_lexicon(sources: Iterable[str], normalize: Callable[[str], str] = str) -> Lexicon:
    """One lexicon of the words of all ``sources`` (see :func:`read_words`)."""
    return Lexicon(w for source in sources for w in read_words(str(source), normalize))


def _read_lines(path: Path) -> list[str]:
    """The file's lines, as the corpus readers read them: a byte-order mark is dropped (it is not
    part of the first word), and a byte that is not UTF-8 is an error naming its line."""
    try:
        return read_lines(path)
    except FileNotFoundError:
        raise BrandnerError(f"{path}: word list not found") from None


def positions(matches: Iterable[tuple[int, int]]) -> Iterable[tuple[int, int, int]]:
    """``(char index, position, match index)`` for each character each match covers:
    the first character of a longer word is BEGIN, the last END, those between INSIDE,
    and a one-character word is SINGLE."""
    for m, (start, end) in enumerate(matches):
        if end - start == 1:
            yield start, SINGLE, m
            continue
        yield start, BEGIN, m
        for i in range(start + 1, end - 1):
            yield i, INSIDE, m
        yield end - 1, END, m


def outermost(matches: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The matches no other match covers, in order: how SoftLexicon counts a word's
    frequency (an occurrence inside a longer lexicon word does not count).

    >>> outermost([(3, 5), (3, 6), (4, 6), (6, 8)])
    [(3, 6), (6, 8)]
    """
    found = sorted(set(matches), key=lambda m: (m[0], -m[1]))  # at one start, the longest first
    kept, reach = [], -1  # reach: the furthest end of the matches seen, all starting no later
    for start, end in found:
        if end > reach:
            kept.append((start, end))
        reach = max(reach, end)
    return kept
