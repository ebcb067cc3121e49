"""Long posts: a corpus's sentences joined into one text, tagged, against the sentences tagged alone.

    python benchmarks/long_text.py                    # trains ecommerce as make demo does; test joined with 。 and \\n
    python benchmarks/long_text.py -m MODEL.pt
    python benchmarks/long_text.py -m MODEL.pt --corpus weibo --split dev --separator "。"

A user with a long document (a thread, a shop page, a day's posts pasted together) gives
brandner one text; the model learnt from sentences. Each split of ``--corpus`` is tagged
twice: every sentence on its own, and all of them joined by ``--separator`` into one text
(the gold spans shifted by each sentence's offset). The table gives entity F1 of both and
the share of predicted entities the two agree on. The tagger cuts a long text at sentence
ends and tags each sentence as its own sequence, so joined and alone should agree; a
separator that is not a sentence end (a space) leaves the cut to clause breaks and the
length limit. The table replaces this script's section of docs/benchmarks.md unless
``--no-write``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import brandner_command, default_data_dir, publish  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402
from brandner.data.metrics import score  # noqa: E402
from brandner.data.sentence import Sentence, Span  # noqa: E402
from brandner.tagging.tagger import Tagger  # noqa: E402


def joined(sentences: list[Sentence], separator: str) -> tuple[str, list[Span], list[int]]:
    """The sentences' texts as one text, their gold spans shifted into it, and each sentence's offset."""
    offsets, gold, position = [], [], 0
    for sentence in sentences:
        offsets.append(position)
        gold += [Span(s.start + position, s.end + position, s.type) for s in sentence.spans]
        position += len(sentence.text) + len(separator)
    return separator.join(s.text for s in sentences), gold, offsets


def compare(tagger: Tagger, sentences: list[Sentence], separator: str) -> dict:
    """F1 of the sentences tagged alone and joined into one text, and the share of entities both find."""
    alone = tagger.predict_spans([s.text for s in sentences])
    text, gold, offsets = joined(sentences, separator)
    together = set(tagger.predict_spans([text])[0])
    shifted = {Span(s.start + offset, s.end + offset, s.type) for spans, offset in zip(alone, offsets) for s in spans}
    both = len(shifted & together) / max(len(shifted | together), 1)
    return {"alone": score([s.spans for s in sentences], alone).micro.f1 * 100,
            "joined": score([gold], [sorted(together)]).micro.f1 * 100, "agree": both * 100, "length": len(text)}


def train(corpus: str, data_dir: str, path: Path) -> str:
    command = brandner_command() + ["train", "--corpus", corpus, "--epochs", "15", "-o", str(path)]
    subprocess.run(command, check=True, env={**os.environ, "BRANDNER_DATA": data_dir})
    return str(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-m", "--model", help="a model file or ONNX file (default: train one on --corpus, "
                                              "15 epochs, default settings, as make demo does)")
    parser.add_argument("--corpus", default="ecommerce")
    parser.add_argument("--split", default="test")
    parser.add_argument("--separator", action="append", help="joins the sentences (repeatable; default 。 and \\n)")
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        model = args.model or train(args.corpus, args.data_dir, Path(scratch) / "model.pt")
        tagger = Tagger.load(model)
    sentences = load_split(args.corpus, args.split, args.data_dir)
    rows = ["| separator | characters | F1 alone | F1 joined | difference | entities agreeing |",
            "|---|---|---|---|---|---|"]
    for separator in args.separator or ["。", "\n"]:
        r = compare(tagger, sentences, separator)
        rows.append(f"| `{separator!r}` | {r['length']:,} | {r['alone']:.2f} | {r['joined']:.2f} | "
                    f"{r['joined'] - r['alone']:+.2f} | {r['agree']:.1f}% |")
    trained = f"`{Path(args.model).name}`" if args.model else f"trained on {args.corpus} train (15 epochs, defaults)"
    body = (f"{args.corpus} {args.split} ({len(sentences)} sentences), model {trained}: "
            "each sentence tagged alone, and all joined into one text.\n\n" + "\n".join(rows) + "\n")
    publish("long text against its sentences alone", body, not args.no_write)


if __name__ == "__main__":
    main()
