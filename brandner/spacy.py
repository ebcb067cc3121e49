"""brandner as a spaCy pipeline component (``pip install 'brandner[spacy]'``, spaCy 3.7 or later):
brandner's entities become ``doc.ents``, so displaCy, ``doc.ents`` readers and the rest of a
spaCy pipeline work with a brandner model.

>>> import spacy                                                         # doctest: +SKIP
>>> nlp = spacy.blank("zh")                                               # doctest: +SKIP
>>> nlp.add_pipe("brandner", config={"model": "model.onnx"})              # doctest: +SKIP
>>> [(e.text, e.label_, e.start_char, e._.score) for e in nlp("我买了特步鞋").ents]  # doctest: +SKIP
[('特步', 'SHOE', 3, 0.9427)]

The factory is registered under the name "brandner" by importing this module, and through the
``spacy_factories`` entry point once brandner is installed (spaCy imports it on demand).
Each entity span carries ``span._.score`` (the model's probability of that span and type, None
with ``scores = false``) and ``span._.canonical`` (the name the brand lists of the ``canonical``
setting give it, as ``Tagger.load(canonical=...)`` does: None without lists, or for an entity
they do not name).

Alignment: brandner tags characters; spaCy's tokens may hold more than an entity (an English
tokenizer makes ``Nike鞋`` one token, jieba makes ``特步`` one word where the model may find
``特``). ``alignment`` says what to do (docs/spacy.md): ``"split"`` (the default) splits such
tokens (``doc.retokenize``) so that each span is exactly the entity's characters; ``"expand"``,
``"contract"`` and ``"strict"`` leave the tokens alone and go through ``doc.char_span`` with
that alignment mode (the span grows to whole tokens, shrinks to them, or the entity is left
out). Entities never start or end with white space (brandner trims them), so a split never
falls in a token's trailing space.

Entities already in ``doc.ents`` (another NER ran first): with ``overwrite_ents = false`` (the
default, as spaCy's entity ruler) they stay, and brandner's entities that overlap them are left
out; with ``true`` brandner's win and the overlapping old ones go. Either way the others stay.

The model is loaded at the first document, not by ``add_pipe``: ``nlp.to_disk`` copies the
model files and brand lists into the component's folder and ``spacy.load`` tags with that
copy, wherever the paths in the config pointed (they may not exist on the machine that loads
the pipeline). ``nlp.to_bytes`` leaves them out: ``from_bytes`` reads the files the config names.
"""

from __future__ import annotations

import json
import os
import shutil
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import pairwise
from pathlib import Path

from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, Span, Token
from spacy.training import Example
from spacy.util import minibatch

from brandner.atomic import atomic_output
from brandner.errors import BrandnerError
from brandner.tagging.arguments import check_count, check_probability
from brandner.tagging.tagger import BACKENDS, Tagger
from brandner.tagging.worker import torch_threads

# How an entity is placed on tokens that do not begin or end where it does (docs/spacy.md).
ALIGNMENTS = ("split", "expand", "contract", "strict")
# What the component writes into a pipeline's folder beside the model files: their names, in order.
MANIFEST = "brandner.json"
# Taggers a forked process inherited and never frees: an onnxruntime session's destructor waits for
# its thread pool, whose threads were not forked (a forked process ends with os._exit, no destructors).
_FORKED_AWAY: list[Tagger] = []

# The span extensions, registered once (another package registering the same names first wins).
for _name in ("score", "canonical"):
    if not Span.has_extension(_name):
        Span.set_extension(_name, default=None)


@Language.factory(
    "brandner",
    default_config={"canonical": None, "batch_size": 256, "scores": True, "min_score": None,
                    "alignment": "split", "overwrite_ents": False, "backend": "auto"},
    assigns=["doc.ents", "token.ent_iob", "token.ent_type", "span._.score", "span._.canonical"],
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_brandner(nlp: Language, name: str, model: str | list[str], canonical: str | list[str] | None,
                  batch_size: int, scores: bool, min_score: float | None, alignment: str, overwrite_ents: bool,
                  backend: str) -> BrandnerEntities:
    """The "brandner" component: ``model`` a model file (PyTorch or ONNX) or a list of them (an
    ensemble), ``canonical`` brand list files, ``batch_size`` and ``backend`` as for
    :meth:`Tagger.load`; ``scores`` and ``min_score`` as for :meth:`Tagger.predict`."""
    return BrandnerEntities(nlp, name, model=model, canonical=canonical, batch_size=batch_size, scores=scores,
                            min_score=min_score, alignment=alignment, overwrite_ents=overwrite_ents, backend=backend)


class BrandnerEntities(Pipe):
    """Sets ``doc.ents`` from a brandner model's entities (see the module's docstring for the
    policies). :meth:`pipe` tags each batch of documents in one :meth:`Tagger.predict` call."""

    def __init__(self, nlp: Language, name: str = "brandner", *, model: str | Path | Sequence[str | Path],
                 canonical: str | Path | Sequence[str | Path] | None = None, batch_size: int = 256,
                 scores: bool = True, min_score: float | None = None, alignment: str = "split",
                 overwrite_ents: bool = False, backend: str = "auto") -> None:
        self.name = name
        self.models = _paths(model, "model")
        self.canonical = [] if canonical is None else _paths(canonical, "canonical")
        _check_settings(batch_size, scores, min_score, alignment, overwrite_ents, backend)
        self.batch_size, self.backend = batch_size, backend
        self.scores, self.min_score = scores, min_score
        self.alignment, self.overwrite_ents = alignment, overwrite_ents
        self._tagger: Tagger | None = None
        self._pid = 0  # the process that loaded _tagger

    @property
    def tagger(self) -> Tagger:
        """The Tagger, loaded at the first use (a missing model file is a BrandnerError naming it)."""
        if self._tagger is not None and self._pid == os.getpid():
            return self._tagger
        return self._load()

    def _load(self) -> Tagger:
        """Load the Tagger of ``self.models`` (and ``self.canonical``) in this process."""
        forked = self._tagger is not None
        if forked:
            # A process forked from the one that loaded it (nlp.pipe(n_process=N) forks): the thread
            # pools of onnxruntime and OpenMP were not forked. Freeing the onnxruntime session would
            # wait for its threads forever, and so would PyTorch's first parallel region: the Tagger
            # is kept, never used, and this process tags with one thread, one of N.
            _FORKED_AWAY.append(self._tagger)
            self._tagger = None
            torch_threads(1)
        for setting, paths in (("model", self.models), ("canonical", self.canonical)):
            for path in paths:
                if not path.is_file():
                    raise BrandnerError(f"{path}: no such file (the {setting} of the spaCy component {self.name!r})")
        model = self.models[0] if len(self.models) == 1 else self.models
        self._tagger = Tagger.load(model, batch_size=self.batch_size, threads=1 if forked else None,
                                   backend=self.backend, canonical=self.canonical or None)
        self._pid = os.getpid()
        return self._tagger

    @property
    def labels(self) -> tuple[str, ...]:
        """The entity types the model tags, once it is loaded (empty before): spaCy reads the
        labels of every component for ``nlp.meta``, in ``spacy.load`` too, before
        :meth:`from_disk`, when the path in the config may not exist."""
        return tuple(self._tagger.types) if self._tagger is not None else ()

    def __call__(self, doc: Doc) -> Doc:
        """``doc`` with brandner's entities set (in place)."""
        error_handler = self.get_error_handler()
        try:
            self.set_annotations([doc], self.predict([doc]))
        except Exception as error:  # noqa: BLE001 - spaCy's error handler decides (it raises by default)
            error_handler(self.name, self, [doc], error)
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """The documents of ``stream`` with their entities set, in order, tagged ``batch_size`` at
        a time (spaCy passes ``nlp.pipe``'s); a batch that fails goes to the error handler."""
        error_handler = self.get_error_handler()
        for docs in minibatch(stream, size=batch_size):
            try:
                self.set_annotations(docs, self.predict(docs))
                yield from docs
            except Exception as error:  # noqa: BLE001
                error_handler(self.name, self, docs, error)

    def predict(self, docs: Sequence[Doc]) -> list[list[dict]]:
        """The entities of each doc's text, as :meth:`Tagger.predict` gives them (character offsets)."""
        results = self.tagger.predict([doc.text for doc in docs], scores=self.scores, min_score=self.min_score)
        return [result["entities"] for result in results]

    def set_annotations(self, docs: Sequence[Doc], entities: Sequence[list[dict]]) -> None:
        """Each doc's ``ents`` from its entities, aligned and merged with the doc's own entities."""
        for doc, found in zip(docs, entities):
            set_entities(doc, found, self.alignment, self.overwrite_ents)

    def score(self, examples: Iterable[Example], **kwargs: object) -> dict:
        """Entity precision, recall and F1 (``ents_p``, ``ents_r``, ``ents_f``, ``ents_per_type``),
        as spaCy's NER reports them: what ``nlp.evaluate`` shows for this component."""
        return get_ner_prf(examples)

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Copy the model files and brand lists into folder ``path`` (what ``nlp.to_disk``
        calls), with a manifest that :meth:`from_disk` reads."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {}
        for setting, stem, paths in (("models", "model", self.models), ("canonical", "canonical", self.canonical)):
            manifest[setting] = [f"{stem}{i}{source.suffix}" for i, source in enumerate(paths)]
            for source, name in zip(paths, manifest[setting]):
                if not source.is_file():
                    raise BrandnerError(f"{source}: no such file to save with the pipeline")
                with atomic_output(folder / name) as temporary:
                    shutil.copyfile(source, temporary)
        with atomic_output(folder / MANIFEST) as temporary:
            temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> BrandnerEntities:
        """Load the model files and brand lists that :meth:`to_disk` saved in folder ``path`` (what
        ``spacy.load`` calls)."""
        folder = Path(path)
        manifest = folder / MANIFEST
        try:
            saved = json.loads(manifest.read_text(encoding="utf-8"))
            models = _paths([folder / name for name in saved["models"]], "model")
            canonical = [folder / name for name in saved["canonical"]]
        except FileNotFoundError:
            raise BrandnerError(f"{manifest}: not found (a folder that the brandner component's to_disk "
                                "wrote)") from None
        except (ValueError, KeyError, TypeError) as error:
            raise BrandnerError(f"{manifest}: not a brandner component manifest ({error})") from None
        self.models, self.canonical = models, canonical
        self._tagger = None
        self._load()  # now: the folder may be gone by the first document
        return self

    def __reduce__(self) -> tuple:
        """Pickled without the loaded Tagger (an onnxruntime session does not pickle): the process
        that unpickles the component (``nlp.pipe(n_process=...)`` where processes are spawned)
        loads its own. (spaCy's Pipe, a Cython class, would pickle ``__dict__`` whole.)"""
        state = dict(self.__dict__, _tagger=None, _pid=0)
        return _unpickled, (type(self), self.name, state)


def _unpickled(cls: type, name: str, state: dict) -> BrandnerEntities:
    component = cls.__new__(cls)
    component.name = name  # a Cython attribute of Pipe, not in __dict__
    component.__dict__.update(state)
    return component


def set_entities(doc: Doc, entities: Sequence[dict], alignment: str = "split", overwrite_ents: bool = False) -> None:
    """Set ``doc.ents`` from brandner entity dicts (``{"word", "type", "start", "end", "score"?,
    "canonical"?}``, character offsets into ``doc.text``), with ``span._.score`` and
    ``span._.canonical``; ``alignment`` and ``overwrite_ents`` as for the component."""
    placed = _placed(doc, entities, alignment)
    old = [(ent.start_char, ent.end_char, ent) for ent in doc.ents]
    if overwrite_ents:
        old = [item for item in old if not _overlaps(item, placed)]
    else:
        placed = [item for item in placed if not _overlaps(item, old)]
    if alignment == "split":
        split_tokens(doc, sorted({offset for start, end, _ in placed for offset in (start, end)}))
    spans = []
    for start, end, ent in old:  # found again: a split moves token indices
        spans.append(doc.char_span(start, end, label=ent.label, kb_id=ent.kb_id, span_id=ent.id))
    new = []
    for start, end, entity in placed:
        span = doc.char_span(start, end, label=entity["type"])
        assert span is not None, (start, end, [t.text for t in doc])  # placed on token boundaries
        for token in span:  # spaCy keeps a token's entity id (a ruler's pattern id) under a span without one
            token.ent_id, token.ent_kb_id = 0, 0
        new.append((span, entity))
    doc.ents = sorted(spans + [span for span, _ in new], key=lambda span: span.start)
    for span, entity in new:
        span._.score = entity.get("score")
        span._.canonical = entity.get("canonical")


def split_tokens(doc: Doc, offsets: Sequence[int]) -> None:
    """Split every token of ``doc`` that one of the sorted character ``offsets`` falls inside of,
    so that each offset is a token boundary. The pieces keep the token's tags, morphology and
    entity annotation, and only the first may start a sentence; in a parsed doc the first piece
    takes the token's place in the tree (its head, its label, its children) and the other pieces
    hang from it (label ``dep``, unspecified). The spans of ``doc.spans`` keep their characters."""
    cuts = []
    for token in doc:
        end = token.idx + len(token.text)
        inside = offsets[bisect_right(offsets, token.idx):bisect_right(offsets, end - 1)]
        if inside:
            cuts.append((token, [token.idx, *inside, end]))
    if not cuts:
        return
    parsed = doc.has_annotation("DEP")
    groups = {name: [(span.start_char, span.end_char) for span in group] for name, group in doc.spans.items()}
    # a piece after the first starts no sentence (where the token's start is known); the tree says it where parsed
    later = {offset: None if token.is_sent_start is None else False for token, edges in cuts for offset in edges[1:-1]}
    with doc.retokenize() as retokenizer:
        for token, edges in cuts:
            orths = [doc.text[a:b] for a, b in pairwise(edges)]
            head = (token, 0) if token.head.i == token.i else token.head
            retokenizer.split(token, orths, heads=[head] + [(token, 0)] * (len(orths) - 1),
                              attrs=_inherited(token, orths, parsed))
    if not parsed:
        for token in doc:
            if token.idx in later:
                token.is_sent_start = later[token.idx]
    # spaCy's split leaves the spans of span groups on their old token indices: set them again
    for name, bounds in groups.items():
        group = doc.spans[name]
        for i, (start, end) in enumerate(bounds):
            old = group[i]
            group[i] = doc.char_span(start, end, label=old.label, kb_id=old.kb_id, span_id=old.id)


def _inherited(token: Token, orths: Sequence[str], parsed: bool) -> dict[str, list]:
    """The annotation of the pieces ``orths`` of ``token``, as ``retokenizer.split`` takes it. Said
    for every piece: spaCy gives only the first the token's, and the others what the tokens after
    it held (their tags, entity ids, sentence starts)."""
    same = {name: [value] * len(orths) for name, value in (
        ("TAG", token.tag), ("POS", token.pos), ("MORPH", token.morph.key), ("ENT_TYPE", token.ent_type),
        ("ENT_ID", token.ent_id), ("ENT_KB_ID", token.ent_kb_id))}
    unspecified = token.doc.vocab.strings.add("dep") if parsed else 0
    return {**same, "LEMMA": list(orths) if token.lemma else [0] * len(orths),
            "DEP": [token.dep] + [unspecified] * (len(orths) - 1)}


def _placed(doc: Doc, entities: Sequence[dict], alignment: str) -> list[tuple[int, int, dict]]:
    """``(start char, end char, entity)`` where each entity goes under ``alignment``, in order,
    without those that do not align or that overlap one placed before (two entities in one
    token grow to the same span under "expand")."""
    placed: list[tuple[int, int, dict]] = []
    for entity in entities:
        start, end = entity["start"], entity["end"]
        if alignment != "split":
            span = doc.char_span(start, end, alignment_mode=alignment)
            if span is None or len(span) == 0:
                continue
            start, end = span.start_char, span.end_char
        if not placed or start >= placed[-1][1]:
            placed.append((start, end, entity))
    return placed


def _overlaps(item: tuple[int, int, object], others: Sequence[tuple[int, int, object]]) -> bool:
    start, end = item[0], item[1]
    return any(start < other_end and other_start < end for other_start, other_end, _ in others)


def _paths(value: object, setting: str) -> list[Path]:
    """The files of a setting (``model``, ``canonical``): one path or a non-empty list of them."""
    if isinstance(value, (str, os.PathLike)):
        return [Path(value)]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (str, os.PathLike)) for v in value):
        return [Path(v) for v in value]
    raise ValueError(f"{setting} must be a file's path or a list of them, got {value!r}")


def _check_settings(batch_size: object, scores: object, min_score: object, alignment: object,
                    overwrite_ents: object, backend: object) -> None:
    """A ValueError naming the first setting that is wrong."""
    check_count("batch_size", batch_size)
    for name, value in (("scores", scores), ("overwrite_ents", overwrite_ents)):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
    check_probability("min_score", min_score)
    if alignment not in ALIGNMENTS:
        raise ValueError(f"alignment must be one of {', '.join(ALIGNMENTS)}, got {alignment!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")

