"""Brand lists swapped in at tagging time: are brands the model never saw found once they are on the list?

    python benchmarks/hot_swap.py -m model.pt [-m other.pt …]       # models trained with --gazetteer HP=…
    python benchmarks/hot_swap.py -m model.pt --titles 20 --no-write # a small run (the tests')

Every ecommerce test title (``--split dev``: dev title, to choose settings on) with a brand (an
HP entity) gets its first brand replaced by an invented name: 2 to 4 characters drawn
(``--seed``) from characters common in brand names, on no brand or product list of the corpus
and in no title of the corpus. Each model tags these titles twice: with its own gazetteers,
then with the invented names added to its ``HP`` list (``Tagger.load(…, gazetteers={"HP":
[its files…, invented.txt]})``), as a user adds new brands.
The figure is the recall of the invented brands (exact span, type HP) both times, and the gain.
The section of docs/benchmarks.md is replaced unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import default_data_dir, publish  # noqa: E402
from brandner import Tagger  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402
from brandner.data.lexicon import read_words  # noqa: E402
from brandner.data.sentence import Sentence  # noqa: E402

# Characters that brand names are often made of (an invented name is a few of them).
BRAND_CHARACTERS = "宝丽雅美森尚欧康佳诺维克斯帝凯迪莱思菲奇朗依泰卡拉蒙瑞博盛源恒昌华隆润泽贝琪芙"
TYPE = "HP"


def invented_names(count: int, taken: set[str], rng: random.Random, known_text: str) -> list[str]:
    """``count`` different names of 2 to 4 BRAND_CHARACTERS, none in ``taken`` nor inside ``known_text``."""
    names: list[str] = []
    while len(names) < count:
        name = "".join(rng.choices(BRAND_CHARACTERS, k=rng.randint(2, 4)))
        if name not in taken and name not in known_text and name not in names:
            names.append(name)
    return names


def swapped(sentences: Sequence[Sentence], names: Sequence[str]) -> list[tuple[str, int, int]]:
    """Each sentence with a brand, its first brand replaced by the next name: ``(text, start, end)``
    of the invented brand in the new text."""
    out = []
    for sentence, name in zip((s for s in sentences if any(sp.type == TYPE for sp in s.spans)), names):
        span = next(sp for sp in sentence.spans if sp.type == TYPE)
        text = sentence.text[:span.start] + name + sentence.text[span.end:]
        out.append((text, span.start, span.start + len(name)))
    return out


def recall(tagger: Tagger, cases: Sequence[tuple[str, int, int]]) -> float:
    """The share of ``cases`` whose invented brand comes back as an entity of exactly its span and TYPE."""
    found = 0
    for (_, start, end), result in zip(cases, tagger.predict([text for text, _, _ in cases])):
        found += any((e["start"], e["end"], e["type"]) == (start, end, TYPE) for e in result["entities"])
    return found / len(cases)


def measure(model: Path, cases: Sequence[tuple[str, int, int]], names_file: Path) -> dict:
    """Recall of the invented brands with ``model``'s own lists, and with ``names_file`` added to its HP list."""
    plain = Tagger.load(model)
    lists = plain.config.gazetteer_lists
    if TYPE not in lists:
        raise SystemExit(f"{model}: no {TYPE} gazetteer (train it with --gazetteer {TYPE}=FILE)")
    extended = Tagger.load(model, gazetteers={TYPE: [*lists[TYPE], str(names_file)]})
    before, after = recall(plain, cases), recall(extended, cases)
    return {"model": model.name, "titles": len(cases), "before": before, "after": after}


def table(rows: Sequence[dict]) -> str:
    lines = ["| model | titles | recall, training lists | recall, invented names added | gain (points) |",
             "|---|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['model']} | {row['titles']} | {100 * row['before']:.1f} | {100 * row['after']:.1f} | "
                     f"{100 * (row['after'] - row['before']):+.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", "--model", type=Path, action="append", required=True)
    parser.add_argument("--titles", type=int, help="at most this many titles (default: all with a brand)")
    parser.add_argument("--seed", type=int, default=0, help="the invented names' draw (default 0)")
    parser.add_argument("--split", choices=("test", "dev"), default="test", help="the titles (default: test)")
    parser.add_argument("--data-dir", default=default_data_dir(), help="corpora root (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    titles = load_split("ecommerce", args.split, args.data_dir)
    known = [s.text for split in ("train", "dev", "test") for s in load_split("ecommerce", split, args.data_dir)]
    listed = {word for path in sorted((Path(args.data_dir) / "ecommerce" / "gazetteers").glob("*.dic"))
              for word in read_words(str(path))}
    with_brand = [s for s in titles if any(sp.type == TYPE for sp in s.spans)][:args.titles]
    names = invented_names(len(with_brand), listed, random.Random(args.seed), "\n".join(known))
    cases = swapped(with_brand, names)
    with tempfile.TemporaryDirectory() as scratch:
        names_file = Path(scratch) / "invented.txt"
        names_file.write_text("\n".join(names) + "\n", encoding="utf-8")
        rows = [measure(model, cases, names_file) for model in args.model]
    body = (f"The first brand of each of {len(cases)} ecommerce {args.split} titles replaced by an invented name "
            f"(seed {args.seed}); recall of those brands (exact span, type {TYPE}) with the model's own lists, "
            f"then with the invented names added to its {TYPE} list at tagging time.\n\n" + table(rows))
    publish(f"brands added to the list at tagging time ({args.split} titles)", body, write=not args.no_write)


if __name__ == "__main__":
    main()
