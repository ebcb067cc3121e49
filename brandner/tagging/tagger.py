"""The public tagging API.

>>> tagger = Tagger.load("model.pt")                       # doctest: +SKIP
>>> tagger.predict("我买了特步鞋")                          # doctest: +SKIP
{'string': '我买了特步鞋', 'entities': [{'word': '特步', 'type': 'SHOE', 'start': 3, 'end': 5}]}
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Sequence, overload

import numpy as np

from brandner.cpus import available_cpus
from brandner.crf.confidence import entity_probabilities, tag_probabilities
from brandner.crf.decoding import CRFScores, decode, kbest_viterbi
from brandner.crf.forward_backward import forward_backward
from brandner.data.batching import length_batches, pad
from brandner.data.encoder import Encoder
from brandner.data.lexicon import read_lexicon
from brandner.data.metrics import Report, score
from brandner.data.schemes import OUTSIDE
from brandner.data.sentence import Sentence, Span
from brandner.data.text import split_chunks, trim_span
from brandner.errors import BrandnerError
from brandner.tagging.arguments import as_items, as_texts, check_count, check_probability
from brandner.tagging.backend import MaskedBackend, MeanBackend, ScoreBackend
from brandner.tagging.canonical import CanonicalNames
from brandner.tagging.loading import BACKENDS, load_scores

if TYPE_CHECKING:
    from brandner.config import ModelConfig
    from brandner.model.network import BiLSTMTagger

# PyTorch (brandner.tagging.torch_backend, brandner.model) is imported only for a PyTorch
# model: a process tagging with an ONNX model starts about 2 s sooner without it.


class Tagger:
    """A trained model ready to tag raw text; batches and splits long text inside.

    Build one with :meth:`load` (a model file or an ONNX file), :meth:`from_model` (a PyTorch
    network in memory) or :meth:`ensemble`; the constructor takes any score backend
    (brandner.tagging.backend.ScoreBackend) with the config and encoder of its model.
    """

    def __init__(self, backend: ScoreBackend, config: ModelConfig, encoder: Encoder, batch_size: int = 256) -> None:
        check_count("batch_size", batch_size)
        self.backend = backend
        self.config = config
        self.encoder = encoder
        self.batch_size = batch_size
        self.canonical: CanonicalNames | None = None  # when set, entities its list names get "canonical"

    @property
    def model(self) -> BiLSTMTagger | None:
        """The PyTorch network that computes the tag scores (an int8 copy with ``int8``), or None
        for an ONNX file or an ensemble."""
        return getattr(self.backend, "model", None)

    @classmethod
    def from_model(cls, model: BiLSTMTagger, encoder: Encoder, batch_size: int = 256, int8: bool = False) -> "Tagger":
        """A Tagger over a PyTorch network (put in eval mode) and its encoder. ``int8`` tags with
        the LSTM and projection quantised to 8-bit integers (dynamic quantisation): F1 within a
        few tenths of the float model; faster at large batches, slower at batch 1 on a 2-core
        CPU, where an ONNX export (``brandner export --int8``) is the faster choice."""
        from brandner.tagging.torch_backend import TorchBackend

        return cls(TorchBackend(model, int8), model.config, encoder, batch_size)

    @classmethod
    def load(cls, path: str | Path | Sequence[str | Path], batch_size: int = 256, int8: bool = False,
             threads: int | None = None, gazetteers: Mapping[str, str | Path | Sequence[str | Path]] | None = None,
             backend: str = "auto", canonical: str | Path | Sequence[str | Path] | CanonicalNames | None = None,
             device: str = "cpu") -> "Tagger":
        """A Tagger for a PyTorch model file or an ONNX file from ``brandner export`` (told apart
        by content, not suffix). ``threads`` is onnxruntime's thread count (default: the CPUs
        this process may use, brandner.cpus); torch's own is global.

        ``backend`` says what computes a PyTorch model file's tag scores: ``"auto"`` (the
        default) onnxruntime where it is installed, the network exported once and cached
        (brandner.tagging.onnx_cache: the same entities, faster, and later loads skip
        PyTorch), else PyTorch; ``"onnx"`` onnxruntime or an error; ``"torch"`` PyTorch
        (``model`` is then the network). ``int8`` always tags in PyTorch. A list of files gives
        their :meth:`ensemble`.

        ``gazetteers`` (type -> word list file or files) replace the word lists of the
        model's typed gazetteers of those types, no retraining needed:
        ``Tagger.load("model.pt", gazetteers={"brand": "brands.txt"})``.

        ``canonical`` (brand list files, or a brandner.tagging.canonical.CanonicalNames) gives each
        entity the list names ``"canonical": NAME``: ``Tagger.load("model.pt", canonical="brands.txt")``.

        ``device`` says where a PyTorch model computes its tag scores: ``"cpu"`` (the default: as
        ``backend`` says), ``"cuda"`` or ``"cuda:N"`` (the network in PyTorch on that GPU; decoding
        stays on the CPU), or ``"auto"`` (CUDA where torch sees it, else the CPU). A model trained
        on a GPU loads on the CPU, and the other way round."""
        check_count("batch_size", batch_size)
        if threads is not None:
            check_count("threads", threads)
        if not isinstance(int8, bool):
            raise TypeError(f"int8 must be True or False, got {int8!r}")
        if gazetteers is not None and not isinstance(gazetteers, Mapping):
            raise TypeError(f"gazetteers maps a type to its word list file(s), got {type(gazetteers).__name__}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if threads is None:
            threads = available_cpus()
        if not isinstance(path, (str, Path)):
            paths = list(path)
            if not paths:
                raise ValueError("an ensemble needs at least one model file")
            tagger = cls.ensemble([cls.load(p, batch_size, int8, threads, backend=backend, device=device)
                                   for p in paths])
        else:
            tagger = cls(*load_scores(path, int8, threads, backend, device), batch_size)
        if gazetteers:
            tagger.encoder = tagger.encoder.with_gazetteers({
                type_: read_lexicon([files] if isinstance(files, (str, Path)) else files, tagger.encoder.normalizer)
                for type_, files in gazetteers.items()})
        if canonical is not None:
            tagger.canonical = canonical if isinstance(canonical, CanonicalNames) else CanonicalNames.read(canonical)
        return tagger

    @classmethod
    def ensemble(cls, members: Sequence["Tagger"]) -> "Tagger":
        """One Tagger from models trained with the same input features and tags (e.g. the same
        configuration, several seeds): its tag scores and CRF scores are the means of the
        members' (brandner.tagging.backend.MeanBackend), so it tags with the CRF whose score
        of a tag sequence is the mean of the members' scores (a product of experts); marginals,
        entity scores and n-best come from that CRF. Members must share their encoder
        (vocabularies, normalisation, segmenter, lexicon, gazetteers, tags) and head (all CRF
        or all softmax); ``model`` is None. Tagging costs the members' tag scores added up."""
        members = list(members)
        if not members or not all(isinstance(m, Tagger) for m in members):
            raise TypeError("ensemble takes a non-empty sequence of Tagger objects")
        first = members[0]
        softmax, encoding = first.backend.crf_scores() is None, _encoding(first)
        for i, member in enumerate(members[1:], 1):
            if _encoding(member) != encoding:
                raise BrandnerError(f"ensemble member {i} encodes text differently from member 0 (other "
                                    "vocabularies, lexicon, gazetteers, tags or chunk length): ensemble "
                                    "models trained on the same data with the same features")
            if (member.backend.crf_scores() is None) != softmax:
                raise BrandnerError(f"ensemble member {i} has a {'CRF' if softmax else 'softmax'} head and member 0 "
                                    f"a {'softmax' if softmax else 'CRF'} head")
        return cls(MeanBackend([m.backend for m in members]), first.config, first.encoder, first.batch_size)

    @property
    def types(self) -> list[str]:
        return self.encoder.types

    def only_types(self, types: Iterable[str]) -> "Tagger":
        """A Tagger of the same model that finds entities of ``types`` alone: the other types'
        tags are ruled out when decoding (not found and then dropped). How a joint training
        scores each corpus's dev split (brandner.data.joint)."""
        wanted = set(types)
        unknown = sorted(wanted - set(self.types))
        if unknown:
            raise BrandnerError(f"this model has no entity type {unknown[0]!r}; its types: {', '.join(self.types)}")
        keep = np.array([tag == OUTSIDE or self.encoder.scheme.parse(tag)[1] in wanted for tag in self.encoder.tags])
        tagger = Tagger(MaskedBackend(self.backend, keep), self.config, self.encoder, self.batch_size)
        tagger.canonical = self.canonical
        return tagger

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
        texts = as_texts(texts, "predict")
        if not isinstance(scores, bool):
            raise TypeError(f"scores must be True or False, got {scores!r}")
        check_probability("min_score", min_score)
        if min_score is not None:
            scores = True
        if nbest is not None:
            if isinstance(nbest, bool) or not isinstance(nbest, numbers.Integral) or not 1 <= nbest <= MAX_NBEST:
                raise ValueError(f"nbest must be a whole number from 1 to {MAX_NBEST}, got {nbest!r}")
            return self._nbest(texts, int(nbest), scores, min_score)
        return [{"string": text, "entities": _entities(text, spans, min_score, self.canonical)}
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
        texts = as_texts(texts, "marginals")
        outside = np.zeros(len(self.encoder.tags))
        outside[self.encoder.tag_index[OUTSIDE]] = 1.0
        results = [np.tile(outside, (len(text), 1)) for text in texts]
        crf_scores = self.backend.crf_scores()
        for pieces, emissions, lengths in self.scored_batches(texts):
            probabilities = tag_probabilities(emissions, lengths, crf_scores)  # (batch, seq, tags)
            for row, (text_index, offset, end) in enumerate(pieces):
                results[text_index][offset:end] = probabilities[row, :end - offset]
        return results

    def scored_batches(self, texts: Sequence[str]) -> Iterator[tuple[list[Piece], np.ndarray, np.ndarray]]:
        """The texts' chunks in length batches with their tag scores: ``(pieces, emissions (batch, seq,
        tags), lengths (batch,))``, each piece ``(text index, start, end)`` of its row; chunks of white
        space only are left out. What :meth:`predict` decodes (for a caller doing its own decoding)."""
        pieces = [(i, start, end) for i, text in enumerate(texts)
                  for start, end in split_chunks(text, self.config.max_chunk_length)
                  if not text[start:end].isspace() and end > start]
        encoded = [self.encoder.encode_text(texts[i][start:end]) for i, start, end in pieces]
        for indices in length_batches([len(e.chars) for e in encoded], self.batch_size):
            arrays = pad([encoded[i] for i in indices])
            yield [pieces[i] for i in indices], self.backend.tag_scores(arrays), arrays["lengths"]

    def _tag(self, texts: Sequence[str], scores: bool = False) -> list[list[tuple]]:
        """``(start, end, type)`` for each text, sorted, with the span's probability as a fourth
        item when ``scores``; long texts are tagged in chunks."""
        results: list[list[tuple]] = [[] for _ in texts]
        crf_scores = self.backend.crf_scores()
        for pieces, emissions, lengths in self.scored_batches(texts):
            paths = decode(emissions, lengths, crf_scores)
            if crf_scores is not None:  # Viterbi paths are valid
                found = self.encoder.batch_valid_spans(paths, lengths)
            else:
                found = [self._read_spans(paths[row, :length]) for row, length in enumerate(lengths)]
            found, trimmed = _trimmed(texts, pieces, found)
            probabilities = scores and self._span_probabilities(emissions, lengths, crf_scores, paths, found, trimmed)
            for row, (text_index, offset, _) in enumerate(pieces):
                spans = [(s + offset, e + offset, t) for s, e, t in found[row]]
                if probabilities:
                    spans = [span + (p,) for span, p in zip(spans, probabilities[row])]
                results[text_index].extend(spans)
        for spans in results:
            spans.sort()
        return results

    def _read_spans(self, ids: np.ndarray) -> list[tuple[int, int, str]]:
        """Spans of a softmax head's tag ids, which may not form a valid sequence (repaired)."""
        return [(s.start, s.end, s.type) for s in self.encoder.spans(ids.tolist())]

    def _span_probabilities(self, emissions: np.ndarray, lengths: np.ndarray, crf_scores: CRFScores | None,
                            paths: np.ndarray, found: list[list[tuple[int, int, str]]],
                            trimmed: bool) -> list[list[float]]:
        """The probability of each span of each row (of ``paths`` ``(batch, seq)``) with its own tags: a Viterbi
        path spells them unless a softmax argmax was repaired or blanks were ``trimmed`` off a span."""
        tags = paths
        if crf_scores is None or trimmed:
            tags = paths.copy()
            for row, spans in enumerate(found):
                for s, e, type_ in spans:
                    tags[row, s:e] = self._entity_tags(e - s, type_)
        return entity_probabilities(emissions, lengths, crf_scores, tags, found)

    def _entity_tags(self, length: int, type_: str) -> list[int]:
        names = self.encoder.scheme.to_tags([Span(0, length, type_)], length)
        return [self.encoder.tag_index[name] for name in names]

    def _nbest(self, texts: Sequence[str], k: int, scores: bool, min_score: float | None) -> list[list[dict]]:
        crf_scores = self.backend.crf_scores()
        if crf_scores is None:
            raise ValueError("n-best decoding needs a model with a CRF head; this model has a softmax head")
        limit = self.config.max_chunk_length
        for i, text in enumerate(texts):
            if len(text) > limit:
                raise ValueError(f"n-best decoding takes texts of at most {limit} characters (the model's "
                                 f"max_chunk_length); text {i} has {len(text)}")
        results = [[{"string": text, "entities": [], "score": 1.0}] for text in texts]  # replaced unless blank
        for pieces, emissions, lengths in self.scored_batches(texts):
            paths, path_scores = kbest_viterbi(emissions, lengths, *crf_scores, k)  # (batch, k, seq), (batch, k)
            log_z = forward_backward(emissions, lengths, *crf_scores).log_z  # (batch,)
            sequence_probabilities = np.exp(np.minimum(path_scores - log_z[:, None], 0.0)).tolist()
            ranks: list[list[dict]] = [[] for _ in pieces]
            for rank in range(k):
                # a sentence with fewer than k sequences has no path at this rank: read none of it
                found, trimmed = _trimmed(texts, pieces, self.encoder.batch_valid_spans(
                    paths[:, rank], np.where(path_scores[:, rank] > -np.inf, lengths, 0)))
                probabilities = (self._span_probabilities(emissions, lengths, crf_scores, paths[:, rank], found,
                                                          trimmed) if scores else [[] for _ in found])
                for row, (text_index, _, _) in enumerate(pieces):
                    if path_scores[row, rank] == -np.inf:
                        continue
                    text = texts[text_index]
                    spans = [span + (p,) for span, p in zip(found[row], probabilities[row])] if scores else found[row]
                    ranks[row].append({"string": text, "entities": _entities(text, spans, min_score, self.canonical),
                                       "score": _rounded(sequence_probabilities[row][rank])})
            for row, (text_index, _, _) in enumerate(pieces):
                results[text_index] = ranks[row]
        return results

    def evaluate(self, sentences: Sequence[Sentence]) -> Report:
        """Entity-level scores of this model's predictions against the sentences' spans."""
        sentences = as_items(sentences, Sentence, "evaluate",
                              "Sentence objects (from brandner.data.formats.read_file or "
                              "brandner.data.corpora.load_split)")
        predicted = self.predict_spans([s.text for s in sentences])
        return score([s.spans for s in sentences], predicted)


Piece = tuple[int, int, int]  # (text index, start, end): one chunk of one text


# Decoding keeps k paths per tag at every position: the bound keeps a careless k from allocating gigabytes.
MAX_NBEST = 1000


def _encoding(tagger: Tagger) -> tuple:
    """What must be equal for two models' tag scores to be averaged: how they turn text into inputs."""
    encoder = tagger.encoder
    return encoder.to_dict(), encoder.normalizer, encoder.segmenter, tagger.config.max_chunk_length


def _trimmed(texts: Sequence[str], pieces: list[Piece],
             found: list[list[tuple[int, int, str]]]) -> tuple[list[list[tuple[int, int, str]]], bool]:
    """Each piece's spans without blank characters at either end (brandner.data.text.trim_span),
    dropping spans with nothing else; and whether any span changed."""
    trimmed = []
    for (text_index, offset, end), spans in zip(pieces, found):
        piece = texts[text_index][offset:end] if spans else ""
        trimmed.append([(*bounds, type_) for s, e, type_ in spans if (bounds := trim_span(piece, s, e))])
    return trimmed, trimmed != found


def _entities(text: str, spans: list[tuple], min_score: float | None, names: CanonicalNames | None) -> list[dict]:
    """Entity dicts for ``(start, end, type)`` or ``(start, end, type, probability)`` spans, with
    ``"canonical"`` where ``names`` has the word."""
    entities = []
    for start, end, type_, *probability in spans:
        entity = {"word": text[start:end], "type": type_, "start": start, "end": end}
        if probability:
            if min_score is not None and probability[0] < min_score:
                continue
            entity["score"] = _rounded(probability[0])
        entities.append(entity)
    if names is not None:
        names.annotate(entities)
    return entities


def _rounded(probability: float) -> float:
    """4 significant digits: short in JSON, yet a tiny probability does not become 0."""
    return float(f"{probability:.4g}")
