"""The public tagging API.

>>> tagger = Tagger.load("model.pt")                       # doctest: +SKIP
>>> tagger.predict("我买了特步鞋")                          # doctest: +SKIP
{'string': '我买了特步鞋', 'entities': [{'word': '特步', 'type': 'SHOE', 'start': 3, 'end': 5}]}
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import TYPE_CHECKING, AbstractSet, Callable, Iterable, Iterator, Mapping, Sequence, overload

import numpy as np

from brandner.data.batching import Arrays, length_batches, pad
from brandner.data.encoder import Encoder
from brandner.errors import BrandnerError
from brandner.data.metrics import Report, score
from brandner.data.lexicon import read_lexicon
from brandner.crf.confidence import CRFScores, span_log_probabilities, tag_probabilities
from brandner.crf.decoding import decode, kbest_viterbi
from brandner.crf.forward_backward import forward_backward
from brandner.tagging.onnx_backend import is_onnx_file
from brandner.data.schemes import OUTSIDE
from brandner.data.sentence import Sentence, Span
from brandner.data.text import split_chunks

if TYPE_CHECKING:
    from brandner.model.network import BiLSTMTagger

# PyTorch (brandner.tagging.torch_backend, brandner.model.model_file) is imported only for a PyTorch
# model: a process tagging with an ONNX model starts about 2 s sooner without it.


class Tagger:
    """A trained model ready to tag raw text; batches and splits long text inside."""

    def __init__(self, model: BiLSTMTagger, encoder: Encoder, batch_size: int = 256, int8: bool = False) -> None:
        """``int8`` tags with the LSTM and projection quantised to 8-bit integers (dynamic
        quantisation), F1 within a few tenths of the float model. Its speed varies: measured
        from 0.6x (batch 1) to 1.4x (large batches) the float model's on a 2-core CPU; an ONNX
        export (``brandner export --int8``) was faster in every measured case."""
        from brandner.tagging.torch_backend import TorchEmissions

        emissions = TorchEmissions(model, int8)
        self.model = emissions.model
        self.config = model.config
        self.encoder = encoder
        self.batch_size = batch_size
        # Tagging is two steps: tag scores from the network, then decoding in numpy with the
        # CRF's constrained scores (None: the softmax head, argmax per character).
        self._emissions: Callable[[Arrays], np.ndarray] = emissions
        crf = model.crf  # the float model's, read afresh each time: it may still be training
        self._crf_scores: Callable[[], tuple[np.ndarray, ...] | None] = (
            crf._decoding_scores if crf is not None else (lambda: None))

    @classmethod
    def load(cls, path: str | Path | Sequence[str | Path], batch_size: int = 256, int8: bool = False,
             threads: int | None = None,
             gazetteers: Mapping[str, str | Path | Sequence[str | Path]] | None = None) -> "Tagger":
        """A Tagger for a PyTorch model file or an ONNX file from ``brandner export`` (told apart
        by content, not suffix). ``threads`` is onnxruntime's thread count for an ONNX file
        (default: onnxruntime's, one per physical core); torch's own is global.

        A list of files gives their :meth:`ensemble`.

        ``gazetteers`` (type -> word list file or files) replace the word lists of the
        model's typed gazetteers of those types, no retraining needed:
        ``Tagger.load("model.pt", gazetteers={"brand": "brands.txt"})``."""
        _check_count("batch_size", batch_size)
        if threads is not None:
            _check_count("threads", threads)
        if not isinstance(int8, bool):
            raise TypeError(f"int8 must be True or False, got {int8!r}")
        if gazetteers is not None and not isinstance(gazetteers, Mapping):
            raise TypeError(f"gazetteers maps a type to its word list file(s), got {type(gazetteers).__name__}")
        if not isinstance(path, (str, Path)):
            paths = list(path)
            if not paths:
                raise ValueError("an ensemble needs at least one model file")
            tagger = cls.ensemble([cls.load(p, batch_size, int8, threads) for p in paths])
        elif is_onnx_file(path):
            if int8:
                raise BrandnerError(f"{path}: int8 quantisation is for PyTorch model files; "
                                    "for ONNX, quantise when exporting (brandner export --int8)")
            tagger = cls.from_onnx(path, batch_size, threads)
        else:
            from brandner.model.model_file import load_model

            tagger = cls(*load_model(path), batch_size, int8)
        if gazetteers:
            tagger.encoder = tagger.encoder.with_gazetteers({
                type_: read_lexicon([files] if isinstance(files, (str, Path)) else files, tagger.encoder.normalizer)
                for type_, files in gazetteers.items()})
        return tagger

    @classmethod
    def from_onnx(cls, path: str | Path, batch_size: int = 256, threads: int | None = None) -> "Tagger":
        """A Tagger whose tag scores come from onnxruntime; decoding and everything else is as
        for the PyTorch model, and ``self.model`` is None."""
        from brandner.tagging.onnx_backend import load_onnx  # onnxruntime is an optional dependency
        loaded = load_onnx(path, threads)
        tagger = cls.__new__(cls)  # __init__ wraps a torch model; this one has none
        tagger.model, tagger.config, tagger.encoder, tagger.batch_size = None, loaded.config, loaded.encoder, batch_size
        tagger._emissions = loaded.emissions
        tagger._crf_scores = lambda: loaded.crf_scores
        return tagger

    @classmethod
    def ensemble(cls, members: Sequence["Tagger"]) -> "Tagger":
        """One Tagger from models trained with the same input features and tags (e.g. the same
        configuration, several seeds): its tag scores and CRF scores are the means of the
        members', so it tags with the CRF whose score of a tag sequence is the mean of the
        members' scores (a product of experts); marginals, entity scores and n-best come
        from that CRF. Members must share their encoder (vocabularies, lexicon, gazetteers,
        tags) and head (all CRF or all softmax); ``self.model`` is None. Tagging costs the
        members' tag scores added up."""
        members = list(members)
        if not members or not all(isinstance(m, Tagger) for m in members):
            raise TypeError("ensemble takes a non-empty sequence of Tagger objects")
        first = members[0]
        encoding, head = first.encoder.to_dict(), first._crf_scores() is None
        for i, member in enumerate(members[1:], 1):
            if member.encoder.to_dict() != encoding or member.config.max_chunk_length != first.config.max_chunk_length:
                raise BrandnerError(f"ensemble member {i} encodes text differently from member 0 (other "
                                    "vocabularies, lexicon, gazetteers, tags or chunk length): ensemble "
                                    "models trained on the same data with the same features")
            if (member._crf_scores() is None) != head:
                raise BrandnerError(f"ensemble member {i} has a {'CRF' if head else 'softmax'} head and member 0 "
                                    f"a {'softmax' if head else 'CRF'} head")
        emissions = [m._emissions for m in members]
        crf_scores = [m._crf_scores for m in members]
        tagger = cls.__new__(cls)  # no one model to wrap
        tagger.model, tagger.config, tagger.encoder = None, first.config, first.encoder
        tagger.batch_size = first.batch_size
        tagger._emissions = lambda arrays: np.mean([scores(arrays) for scores in emissions], axis=0)
        tagger._crf_scores = (lambda: None) if head else (
            lambda: tuple(np.mean(parts, axis=0) for parts in zip(*(scores() for scores in crf_scores))))
        return tagger

    @property
    def types(self) -> list[str]:
        return self.encoder.types

    @overload
    def predict(self, texts: str, *, scores: bool = False, min_score: float | None = None,
                nbest: None = None) -> dict: ...
    @overload
    def predict(self, texts: Sequence[str], *, scores: bool = False, min_score: float | None = None,
                nbest: None = None) -> list[dict]: ...
    @overload
    def predict(self, texts: str, *, scores: bool = False, min_score: float | None = None,
                nbest: int) -> list[dict]: ...
    @overload
    def predict(self, texts: Sequence[str], *, scores: bool = False, min_score: float | None = None,
                nbest: int) -> list[list[dict]]: ...

    def predict(self, texts: str | Sequence[str], *, scores: bool = False, min_score: float | None = None,
                nbest: int | None = None) -> dict | list[dict] | list[list[dict]]:
        """Result dicts ``{"string", "entities": [{"word", "type", "start", "end"}]}``.

        One text gives one dict, a list of texts a list in the same order.

        ``scores=True`` adds ``"score"`` to every entity: the probability under the model that
        exactly this span carries exactly this type (its tags ``B-X I-X … E-X`` or ``S-X``,
        whatever the rest of the text), exact from forward-backward for a CRF model; for a
        softmax model, the product of those tags' per-character probabilities. Rounded to
        4 significant digits. ``min_score`` implies ``scores`` and drops the entities whose
        (unrounded) score is below it.

        ``nbest=k`` gives for each text a list of the results of its k most probable tag
        sequences (fewer where fewer are allowed), best first, each with ``"score"``: the
        probability of that whole sequence. One text then gives one list, a list of texts a
        list of lists. A text that is empty or only white space has one result, no entities,
        score 1. n-best needs a CRF model and texts of at most ``config.max_chunk_length``
        characters: a longer text is tagged in independent chunks, so its sequences are not
        one list to rank (ValueError). ``k`` is at most MAX_NBEST.
        """
        if isinstance(texts, str):
            return self.predict([texts], scores=scores, min_score=min_score, nbest=nbest)[0]
        texts = _as_texts(texts, "predict")
        if not isinstance(scores, bool):
            raise TypeError(f"scores must be True or False, got {scores!r}")
        if min_score is not None:
            if isinstance(min_score, bool) or not isinstance(min_score, numbers.Real) or not 0 <= min_score <= 1:
                raise ValueError(f"min_score must be a probability between 0 and 1, got {min_score!r}")
            scores = True
        if nbest is not None:
            if isinstance(nbest, bool) or not isinstance(nbest, numbers.Integral) or not 1 <= nbest <= MAX_NBEST:
                raise ValueError(f"nbest must be a whole number from 1 to {MAX_NBEST}, got {nbest!r}")
            return self._nbest(texts, int(nbest), scores, min_score)
        return [{"string": text, "entities": _entities(text, spans, min_score)}
                for text, spans in zip(texts, self._tag(texts, scores))]

    def predict_spans(self, texts: Sequence[str]) -> list[list[Span]]:
        """Entity spans for each text, with offsets into that text."""
        return [[Span(*span) for span in spans] for spans in self._tag(texts)]

    @overload
    def marginals(self, texts: str) -> np.ndarray: ...
    @overload
    def marginals(self, texts: Sequence[str]) -> list[np.ndarray]: ...

    def marginals(self, texts: str | Sequence[str]) -> np.ndarray | list[np.ndarray]:
        """P(tag | text) for every character: a ``(len(text), tags)`` float64 array per text,
        columns in ``encoder.tags`` order, each row summing to 1.

        Exact (forward-backward) for a CRF model, the softmax for a softmax model. Long texts
        are tagged in chunks, as :meth:`predict` does; a chunk of white space only, which
        :meth:`predict` never tags, is certainly ``O``.
        """
        if isinstance(texts, str):
            return self.marginals([texts])[0]
        texts = _as_texts(texts, "marginals")
        outside = np.zeros(len(self.encoder.tags))
        outside[self.encoder.tag_index[OUTSIDE]] = 1.0
        results = [np.tile(outside, (len(text), 1)) for text in texts]
        crf_scores = self._crf_scores()
        for pieces, emissions, lengths in self._batches(texts):
            probabilities = tag_probabilities(emissions, lengths, crf_scores)  # (batch, seq, tags)
            for row, (text_index, offset, end) in enumerate(pieces):
                results[text_index][offset:end] = probabilities[row, :end - offset]
        return results

    def _batches(self, texts: Sequence[str]) -> Iterator[tuple[list[Piece], np.ndarray, np.ndarray]]:
        """The texts' chunks in length batches: ``(pieces, emissions (batch, seq, tags), lengths (batch,))``
        where each piece is ``(text index, start, end)``; chunks of white space only are left out."""
        pieces = [(i, start, end) for i, text in enumerate(texts)
                  for start, end in split_chunks(text, self.config.max_chunk_length)
                  if not text[start:end].isspace() and end > start]
        encoded = [self.encoder.encode_text(texts[i][start:end]) for i, start, end in pieces]
        for indices in length_batches([len(e.chars) for e in encoded], self.batch_size):
            arrays = pad([encoded[i] for i in indices])
            yield [pieces[i] for i in indices], self._emissions(arrays), arrays["lengths"]

    def _tag(self, texts: Sequence[str], scores: bool = False) -> list[list[tuple]]:
        """``(start, end, type)`` for each text, sorted, with the span's probability as a fourth
        item when ``scores``; long texts are tagged in chunks."""
        results: list[list[tuple]] = [[] for _ in texts]
        crf_scores = self._crf_scores()
        for pieces, emissions, lengths in self._batches(texts):
            paths = decode(emissions, lengths, crf_scores)
            if crf_scores is not None:  # Viterbi paths are valid
                found = self.encoder.batch_valid_spans(paths, lengths)
            else:
                found = [self._read_spans(paths[row, :length]) for row, length in enumerate(lengths)]
            probabilities = self._span_probabilities(emissions, lengths, crf_scores, paths, found) if scores else None
            for row, (text_index, offset, _) in enumerate(pieces):
                spans = [(s + offset, e + offset, t) for s, e, t in found[row]]
                if probabilities is not None:
                    spans = [span + (p,) for span, p in zip(spans, probabilities[row])]
                results[text_index].extend(spans)
        for spans in results:
            spans.sort()
        return results

    def _read_spans(self, ids: np.ndarray) -> list[tuple[int, int, str]]:
        """Spans of a softmax head's tag ids, which may not form a valid sequence (repaired)."""
        return [(s.start, s.end, s.type) for s in self.encoder.spans(ids.tolist())]

    def _span_probabilities(self, emissions: np.ndarray, lengths: np.ndarray, crf_scores: CRFScores | None,
                            paths: np.ndarray, found: list[list[tuple[int, int, str]]]) -> list[list[float]]:
        """The probability of each span of each row (rows of ``paths`` ``(batch, seq)``)."""
        counts = [len(spans) for spans in found]
        rows = np.repeat(np.arange(len(found)), counts)
        starts = np.array([s for spans in found for s, _, _ in spans], dtype=np.int64)
        ends = np.array([e for spans in found for _, e, _ in spans], dtype=np.int64)
        tags = paths
        if crf_scores is None:  # the softmax head's argmax may be repaired: score the entity's own tags
            tags = paths.copy()
            for row, spans in enumerate(found):
                for s, e, type_ in spans:
                    tags[row, s:e] = self._entity_tags(e - s, type_)
        probabilities = np.exp(span_log_probabilities(emissions, lengths, crf_scores, tags, rows, starts, ends))
        values, bounds = probabilities.tolist(), np.cumsum([0] + counts).tolist()
        return [values[first:last] for first, last in zip(bounds, bounds[1:])]

    def _entity_tags(self, length: int, type_: str) -> list[int]:
        names = self.encoder.scheme.to_tags([Span(0, length, type_)], length)
        return [self.encoder.tag_index[name] for name in names]

    def _nbest(self, texts: Sequence[str], k: int, scores: bool, min_score: float | None) -> list[list[dict]]:
        crf_scores = self._crf_scores()
        if crf_scores is None:
            raise ValueError("n-best decoding needs a model with a CRF head; this model has a softmax head")
        limit = self.config.max_chunk_length
        for i, text in enumerate(texts):
            if len(text) > limit:
                raise ValueError(f"n-best decoding takes texts of at most {limit} characters (the model's "
                                 f"max_chunk_length); text {i} has {len(text)}")
        results = [[{"string": text, "entities": [], "score": 1.0}] for text in texts]  # replaced unless blank
        for pieces, emissions, lengths in self._batches(texts):
            paths, path_scores = kbest_viterbi(emissions, lengths, *crf_scores, k)  # (batch, k, seq), (batch, k)
            log_z = forward_backward(emissions, lengths, *crf_scores).log_z  # (batch,)
            sequence_probabilities = np.exp(np.minimum(path_scores - log_z[:, None], 0.0)).tolist()
            ranks: list[list[dict]] = [[] for _ in pieces]
            for rank in range(k):
                # a sentence with fewer than k sequences has no path at this rank: read none of it
                found = self.encoder.batch_valid_spans(paths[:, rank], np.where(path_scores[:, rank] > -np.inf,
                                                                                lengths, 0))
                probabilities = (self._span_probabilities(emissions, lengths, crf_scores, paths[:, rank], found)
                                 if scores else [[] for _ in found])
                for row, (text_index, _, _) in enumerate(pieces):
                    if path_scores[row, rank] == -np.inf:
                        continue
                    text = texts[text_index]
                    spans = [span + (p,) for span, p in zip(found[row], probabilities[row])] if scores else found[row]
                    ranks[row].append({"string": text, "entities": _entities(text, spans, min_score),
                                       "score": _rounded(sequence_probabilities[row][rank])})
            for row, (text_index, _, _) in enumerate(pieces):
                results[text_index] = ranks[row]
        return results

    def evaluate(self, sentences: Sequence[Sentence]) -> Report:
        """Entity-level scores of this model's predictions against the sentences' spans."""
        sentences = _as_items(sentences, Sentence, "evaluate",
                              "Sentence objects (from brandner.data.formats.read_file or brandner.data.corpora.load_split)")
        predicted = self.predict_spans([s.text for s in sentences])
        return score([s.spans for s in sentences], predicted)


Piece = tuple[int, int, int]  # (text index, start, end): one chunk of one text


# Decoding keeps k paths per tag at every position: the bound keeps a careless k from allocating gigabytes.
MAX_NBEST = 1000


def _as_texts(texts: object, method: str) -> list[str]:
    """The texts given to ``method`` as a list (a generator is read once, here), or a TypeError
    naming what arrived: a string is a text, and so not a sequence of them."""
    return _as_items(texts, str, method, "a string or a sequence of strings")


def _as_items(items: object, kind: type, method: str, expected: str) -> list:
    """``items`` as a list of ``kind`` (read once), or a TypeError saying what ``method`` takes and what arrived."""
    # A string is one text to predict (handled before this), but never a sequence of sentences.
    not_a_sequence = (bytes, bytearray, Mapping, AbstractSet) + (() if kind is str else (str,))
    if isinstance(items, not_a_sequence) or not isinstance(items, Iterable):
        raise TypeError(f"{method} takes {expected}, got {type(items).__name__}")
    items = list(items)
    for i, item in enumerate(items):
        if not isinstance(item, kind):
            raise TypeError(f"{method} takes {expected}; item {i} is {type(item).__name__}")
    return items


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number at least 1, got {value!r}")


def _entities(text: str, spans: list[tuple], min_score: float | None) -> list[dict]:
    """Entity dicts for ``(start, end, type)`` or ``(start, end, type, probability)`` spans."""
    entities = []
    for start, end, type_, *probability in spans:
        entity = {"word": text[start:end], "type": type_, "start": start, "end": end}
        if probability:
            if min_score is not None and probability[0] < min_score:
                continue
            entity["score"] = _rounded(probability[0])
        entities.append(entity)
    return entities


def _rounded(probability: float) -> float:
    """4 significant digits: short in JSON, yet a tiny probability does not become 0."""
    return float(f"{probability:.4g}")
