"""Each character's radical (部首), for ``model.radical_dim`` (Dong et al. 2016).

The table comes from the ``cnradical`` package (0.1.0): 27,476 characters, U+3400 to U+9FA5, each
with one of 273 radicals (氵 for 河, 女 for 妈, 口 for 品). On the training splits of weibo,
ecommerce, resume and msra it has every CJK character (docs/configuration.md). The package ships
the table as a pickle of plain dicts, which is read here with an unpickler that refuses every
class, so that loading it can run no code; nothing else of the package is imported. Characters
the table files under 难检字 ("hard to look up"; 8 of them) read as having no radical.

A model file carries the table it was trained with (:func:`pack`, :func:`unpack`), so tagging
never needs the package and reads text as training did.

>>> table = read_radicals()
>>> table["河"], table["妈"], "a" in table
('氵', '女', False)
>>> unpack(pack({"河": "氵", "海": "氵", "妈": "女"})) == {"河": "氵", "海": "氵", "妈": "女"}
True
"""

from __future__ import annotations

import importlib.util
import pickle
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

from brandner.errors import BrandnerError

PACKAGE = "cnradical"
TABLE_FILE = "data/dictionary.pickle"  # in the package's folder: {"radical": {char: radical}, "pinyin": ...}
NO_RADICAL = "难检字"  # the table's entry for characters it gives no radical


class _PlainData(pickle.Unpickler):
    """Unpickles builtin containers, strings and numbers only: any class or function is refused."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"the radical table may hold plain data only, not {module}.{name}")


@lru_cache(maxsize=1)
def read_radicals() -> dict[str, str]:
    """``{character: radical}`` from the cnradical package, without the characters it gives no radical."""
    spec = importlib.util.find_spec(PACKAGE)  # finds the package without running its code
    if spec is None or not spec.submodule_search_locations:
        raise BrandnerError(f"model.radical_dim needs the {PACKAGE} package (pip install {PACKAGE}==0.1.0)")
    path = Path(next(iter(spec.submodule_search_locations))) / TABLE_FILE
    try:
        with open(path, "rb") as data:
            table = _PlainData(data).load()["radical"]
    except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError) as error:
        message = f"{path}: not the radical table of {PACKAGE} 0.1.0 ({type(error).__name__}: {error})"
        raise BrandnerError(message) from None
    if not isinstance(table, dict) or not all(isinstance(c, str) and len(c) == 1 and isinstance(r, str)
                                              for c, r in table.items()):
        raise BrandnerError(f"{path}: not the radical table of {PACKAGE} 0.1.0 (not characters to radicals)")
    return {char: radical for char, radical in table.items() if radical != NO_RADICAL}


def radicals_of(texts: Iterable[str], table: Mapping[str, str]) -> list[list[str]]:
    """The radical of each character of each text that has one in ``table`` (for a vocabulary)."""
    return [[table[c] for c in text if c in table] for text in texts]


def pack(table: Mapping[str, str]) -> dict[str, str]:
    """``table`` as ``{radical: its characters as one string}``, radicals and characters sorted:
    what a model file stores (85 kB as JSON, a fourth of a character-by-character dict's size)."""
    grouped: dict[str, list[str]] = {}
    for char, radical in table.items():
        grouped.setdefault(radical, []).append(char)
    return {radical: "".join(sorted(chars)) for radical, chars in sorted(grouped.items())}


def unpack(packed: Mapping[str, str]) -> dict[str, str]:
    """The ``{character: radical}`` table that :func:`pack` gave."""
    return {char: radical for radical, chars in packed.items() for char in chars}
