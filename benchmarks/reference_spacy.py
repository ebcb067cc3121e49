"""The spaCy reference: its NER trained from scratch on the CPU with its defaults, as a spaCy user would.

    python benchmarks/reference_spacy.py --train-epochs 2 --data-dir D   # {"rate": training sentences/s, ...}
    python benchmarks/reference_spacy.py --tag FILE --data-dir D         # {"rate": lines/s of nlp.pipe, ...}
    python benchmarks/reference_spacy.py --f1 --epochs 5 --data-dir D    # {"dev": {"f1", ...}, "test": {...}}

The pipeline is the one ``spacy init config --lang zh --pipeline ner --optimize efficiency``
writes (CPU): the ``zh`` tokenizer with its default ``char`` segmenter (one token a
character; a single space after a character is that token's trailing white space, any
other run of white space a token of its own), then ``tok2vec`` (MultiHashEmbed of NORM,
PREFIX, SUFFIX and SHAPE, width 96, a MaxoutWindowEncoder of depth 4) and ``ner`` (the
transition-based parser, hidden width 64). It is trained as ``spacy train`` trains it:
the config's ``DocBin`` corpus reader, ``init_nlp`` (seed 0, labels from the training
data), then spaCy's own loop ``train_while_improving`` with the config's batcher (batches
of 100 to 1,000 words, i.e. characters here, compounding), dropout 0.1 and Adam (lr 1e-3,
L2 0.01, gradient clip 1.0). Only the number of epochs is ours (``max_epochs`` E,
``max_steps`` 0, ``patience`` 0), and the dev evaluation that ``spacy train`` runs every
200 steps is left out, as brandner's and the pytorch-crf reference's training rates leave
theirs out.

The corpus comes from brandner's readers (``Sentence`` objects with character-offset
spans) and goes into ``Doc`` objects through ``doc.char_span(..., alignment_mode="strict")``:
a span that starts or ends with a space does not align with the character tokens and is
left out of the training data (counted in the output, as spaCy's docs' conversion
scripts skip it). Entities come back as character spans (``ent.start_char``,
``ent.end_char``) and are scored against the corpus's own spans.

spaCy sets no thread count: its CPU matrix multiplies (thinc's NumpyOps, the parser's
own layers) go through cython-blis, which is built without threading, so it computes on
one thread whatever OMP_NUM_THREADS says; numpy's OpenBLAS and PyTorch's OpenMP pools
are loaded (thinc imports torch when it is installed) but this pipeline does not use them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import spacy
from spacy.cli.init_config import init_config
from spacy.schemas import ConfigSchemaTraining
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.training.initialize import init_nlp
from spacy.training.loop import create_train_batches, train_while_improving
from spacy.util import load_config_from_str, registry, resolve_dot_names
from thinc.api import Optimizer, fix_random_seed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import default_data_dir  # noqa: E402
from brandner.data.sentence import Sentence, Span  # noqa: E402

# What ``spacy init config`` is asked for: Chinese, NER alone, the efficiency (CPU) settings.
INIT_CONFIG = {"lang": "zh", "pipeline": ["ner"], "optimize": "efficiency", "gpu": False}


def to_doc(nlp: Language, sentence: Sentence) -> tuple[Doc, int]:
    """``sentence`` as a ``Doc`` of ``nlp``'s tokens with its entities, and how many of its
    spans did not align with the tokens (left out; the other tokens are outside any entity)."""
    doc = nlp.make_doc(sentence.text)
    ents = [doc.char_span(s.start, s.end, label=s.type, alignment_mode="strict") for s in sentence.spans]
    doc.ents = [ent for ent in ents if ent is not None]
    return doc, sum(ent is None for ent in ents)


def write_docbin(nlp: Language, sentences: Iterable[Sentence], path: Path) -> tuple[int, int]:
    """Write ``sentences`` as a ``.spacy`` file (what ``spacy train`` reads); returns
    (spans, spans left out because they do not align with the tokens)."""
    docs, spans, unaligned = DocBin(), 0, 0
    for sentence in sentences:
        doc, missed = to_doc(nlp, sentence)
        docs.add(doc)
        spans += len(sentence.spans)
        unaligned += missed
    docs.to_disk(path)
    return spans, unaligned


@dataclass
class Trainer:
    """A pipeline made by ``init_nlp`` and what spaCy's training loop needs for it."""

    nlp: Language
    examples: list[Example]  # the training corpus, read once (as ``spacy train`` reads it)
    training: dict  # the resolved [training] section: batcher, optimizer, dropout, ...
    spans: int
    unaligned: int

    @property
    def optimizer(self) -> Optimizer:
        return self.training["optimizer"]


def build(train: Sequence[Sentence], dev: Sequence[Sentence], folder: Path, epochs: int) -> Trainer:
    """The default pipeline, initialised on ``train`` as ``spacy train`` does; the ``.spacy``
    files go to ``folder``. ``epochs`` is the config's ``max_epochs``."""
    config = init_config(**INIT_CONFIG)
    blank = spacy.blank(INIT_CONFIG["lang"])  # its default segmenter, "char", as in the config
    spans, unaligned = write_docbin(blank, train, folder / "train.spacy")
    write_docbin(blank, dev, folder / "dev.spacy")
    config = load_config_from_str(config.to_str(), overrides={
        "paths.train": str(folder / "train.spacy"), "paths.dev": str(folder / "dev.spacy"),
        "training.max_epochs": epochs, "training.max_steps": 0, "training.patience": 0})
    nlp = init_nlp(config)
    # What spacy.training.loop.train does next: seed again, resolve [training] afresh (a new optimizer).
    filled = nlp.config.interpolate()
    fix_random_seed(filled["training"]["seed"])
    training = registry.resolve(filled["training"], schema=ConfigSchemaTraining)
    train_corpus, = resolve_dot_names(filled, [training["train_corpus"]])
    return Trainer(nlp, list(train_corpus(nlp)), training, spans, unaligned)


def train(trainer: Trainer, epochs: int) -> float:
    """``epochs`` passes of spaCy's training loop over the examples; returns the seconds they took."""
    t = trainer.training
    steps = train_while_improving(
        trainer.nlp, trainer.optimizer,
        create_train_batches(trainer.nlp, lambda nlp: trainer.examples, t["batcher"], epochs),
        lambda: (0.0, {}),  # no dev evaluation (see the module docstring)
        dropout=t["dropout"], eval_frequency=t["eval_frequency"], accumulate_gradient=t["accumulate_gradient"],
        patience=t["patience"], max_steps=t["max_steps"], exclude=t["frozen_components"],
        annotating_components=t["annotating_components"], before_update=t["before_update"])
    started = time.perf_counter()
    for _ in steps:
        pass
    return time.perf_counter() - started


def predict_spans(nlp: Language, texts: Sequence[str]) -> list[list[Span]]:
    """The entities of each text as character spans, through ``nlp.pipe`` at its default batch size."""
    return [[Span(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents] for doc in nlp.pipe(texts)]


def measure(args: argparse.Namespace) -> dict:
    """What one command line asks for (the module docstring), as the dict to print."""
    from brandner.data.corpora import load_split
    from brandner.data.metrics import score

    train_set = load_split("ecommerce", "train", args.data_dir)
    dev_set = load_split("ecommerce", "dev", args.data_dir)
    epochs = args.train_epochs or args.epochs
    with tempfile.TemporaryDirectory() as folder:
        trainer = build(train_set, dev_set, Path(folder), epochs)
    facts = {"sentences": len(trainer.examples), "spans": trainer.spans, "unaligned_spans": trainer.unaligned}
    if args.train_epochs:
        return {"rate": epochs * len(trainer.examples) / train(trainer, epochs), **facts}
    if args.tag:
        train(trainer, 1)  # a model to tag with (not timed)
        texts = Path(args.tag).read_text(encoding="utf-8").splitlines()
        started = time.perf_counter()
        predict_spans(trainer.nlp, texts)
        return {"rate": len(texts) / (time.perf_counter() - started), **facts}
    train(trainer, epochs)
    test_set = load_split("ecommerce", "test", args.data_dir)
    reports = {name: score([s.spans for s in sentences], predict_spans(trainer.nlp, [s.text for s in sentences]))
               for name, sentences in (("dev", dev_set), ("test", test_set))}
    return {"epochs": epochs, **{name: report.to_dict() for name, report in reports.items()}, **facts}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--train-epochs", type=positive, metavar="E", help="print training sentences/s over E epochs")
    mode.add_argument("--tag", metavar="FILE", help="train one epoch, then print lines/s of nlp.pipe over FILE")
    mode.add_argument("--f1", action="store_true", help="print dev and test entity scores after --epochs epochs")
    parser.add_argument("--epochs", type=positive, default=1, help="training epochs for --f1 (default 1)")
    parser.add_argument("--data-dir", default=default_data_dir(), help="the corpora's root")
    print(json.dumps(measure(parser.parse_args(argv))))


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value}")
    return number


if __name__ == "__main__":
    main()
