"""Canonical brand names: ``耐克``, ``Nike``, ``NIKE`` and ``nike`` are one brand, ``李宁`` and ``李寧`` too.

A brand list is a word list (brandner.data.lexicon) whose lines may pair an alias with its
canonical name::

    耐克<TAB>Nike
    NIKE<TAB>Nike
    李宁
    new balance<TAB>New Balance

A bare line is its own canonical name. The same file serves as a typed gazetteer (both names
of a line are its words) and as the list of canonical names (``brandner tag --canonical``,
``Tagger.load(..., canonical=...)``): an entity whose text, normalised, is a name of the list
gets ``"canonical": NAME``; other entities get no such key. Names are compared by
:func:`name_key`: full-width forms as half-width, lower case, traditional characters as
simplified (OpenCC's ``t2s``), white space runs as one space. Types play no part: the list
names brands, whatever type the model gives them.

>>> names = CanonicalNames({"耐克": "Nike", "nike": "Nike"})
>>> names("ＮＩＫＥ"), names("耐克"), names("阿迪")
('Nike', 'Nike', None)
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from brandner.data.lexicon import name_lines
from brandner.data.text import Normalizer
from brandner.errors import InputFileError, quote

_WIDTH_AND_CASE = Normalizer(fullwidth=True, lowercase=True)
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _simplified():  # noqa: ANN202 - an opencc.OpenCC, imported here: only canonical names need it
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1 << 16)  # entity words repeat: a brand is named again and again
def name_key(text: str) -> str:
    """What two spellings of one name share: ``name_key("ＮＩＫＥ") == name_key("nike")``,
    ``name_key("李寧") == name_key("李宁")``, ``name_key(" New  Balance") == "new balance"``."""
    return _SPACES.sub(" ", _simplified().convert(_WIDTH_AND_CASE(text))).strip()


class CanonicalNames:
    """A lookup from any spelling of a listed name to its canonical name.

    ``names`` maps keys (:func:`name_key` of an alias) to canonical names; :meth:`read` builds
    one from brand list files."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self._names = {name_key(alias): canonical for alias, canonical in names.items()}

    @classmethod
    def read(cls, paths: str | Path | Sequence[str | Path]) -> "CanonicalNames":
        """The canonical names of brand list files (see the module's docstring).

        Where two lines give one key, an alias line (``alias<TAB>canonical``) wins over a
        canonical name's own spelling, which wins over a bare line; among bare lines and among
        canonical spellings the first wins. Two alias lines that give one key different
        canonical names are an :class:`InputFileError` naming both lines."""
        files = [paths] if isinstance(paths, (str, Path)) else list(paths)
        aliases: dict[str, tuple[str, str]] = {}  # key -> (canonical, "path:line")
        canonicals: dict[str, str] = {}
        bare: dict[str, str] = {}
        for path in files:
            for number, alias, canonical in name_lines(path):
                if alias == canonical:
                    bare.setdefault(name_key(alias), alias)
                    continue
                key = name_key(alias)
                earlier = aliases.setdefault(key, (canonical, f"{path}:{number}"))
                if earlier[0] != canonical:
                    raise InputFileError(str(path), number, f"{quote(alias)} is an alias of {quote(canonical)} here "
                                                            f"and of {quote(earlier[0])} at {earlier[1]}")
                canonicals.setdefault(name_key(canonical), canonical)
        # the keys are name_key's already, and name_key of a key is that key
        return cls({**bare, **canonicals, **{key: canonical for key, (canonical, _) in aliases.items()}})

    def __len__(self) -> int:
        return len(self._names)

    def __call__(self, word: str) -> str | None:
        """The canonical name of ``word``, or None when the list does not name it."""
        return self._names.get(name_key(word))

    def annotate(self, entities: Iterable[dict]) -> None:
        """Add ``"canonical"`` to each entity dict (``{"word", ...}``) whose word the list names."""
        for entity in entities:
            canonical = self(entity["word"])
            if canonical is not None:
                entity["canonical"] = canonical
