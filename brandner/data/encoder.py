"""Text to ids and tag ids back to spans: the model's input and output contract.

An Encoder holds what a model file must carry besides weights and settings: the
character vocabulary, the tag list (IOBES inside, whatever the
scheme of the training files) and, for the features a model uses, the bigram
vocabulary, the lexicon's words, the vocabulary and counts of those found in
training, the typed gazetteers' words (which can be replaced at tagging time), and
the radical table (brandner.data.radicals) with the vocabulary of the radicals of
the training characters.
Its normaliser and segmenter follow the model's config (ModelConfig), which the model
file stores once: :meth:`Encoder.to_dict` leaves them out and :meth:`Encoder.from_dict`
takes them from the config.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np

from brandner.data.batching import Encoded
from brandner.data.features import bigrams, segment_ids
from brandner.data.lexicon import NUM_POSITIONS, Lexicon, outermost, positions, read_lexicon
from brandner.data.radicals import pack, radicals_of, read_radicals, unpack
from brandner.data.schemes import IOBES, Scheme, get_scheme, spans_from_roles
from brandner.data.sentence import Sentence, Span
from brandner.data.text import Normalizer
from brandner.data.vocab import PAD_ID, UNK_ID, Vocab
from brandner.errors import BrandnerError

if TYPE_CHECKING:
    from brandner.config import ModelConfig

# Lexicon words kept per character and position (B/M/E/S); on the ecommerce corpus
# with jieba's dictionary more than this many is rare (see tests/test_lexicon.py).
LEXICON_SLOTS = 4


@dataclass(eq=False)  # compared by identity: a field-wise == would be ambiguous on word_counts
class Encoder:
    normalizer: Normalizer
    chars: Vocab
    tags: list[str]
    scheme: Scheme = IOBES
    segmenter: str = "jieba"
    bigrams: Vocab | None = None
    lexicon: Lexicon | None = None
    words: Vocab | None = None  # lexicon words found in training; the others read as <UNK>
    gazetteers: dict[str, Lexicon] | None = None  # by type, in the order of the model's input
    # for each of ``words``, its occurrences in the training text not inside a longer
    # lexicon word (the weights of ModelConfig.lexicon_pooling = "frequency")
    word_counts: np.ndarray | None = None
    radicals: Vocab | None = None  # the radicals of the training characters
    radical_table: dict[str, str] | None = None  # {character: radical}, with ``radicals``

    def __post_init__(self) -> None:
        if (self.radicals is None) != (self.radical_table is None):
            raise ValueError("an encoder has both a radical vocabulary and a radical table, or neither")
        if self.radicals is not None and self.radical_table is not None:
            get = self.radicals.index.get
            self._radical_ids = {char: get(radical, UNK_ID) for char, radical in self.radical_table.items()}
        self.tag_index = {tag: i for i, tag in enumerate(self.tags)}
        self._roles = [self.scheme.parse(tag) for tag in self.tags]
        self._opens = np.array([role in ("begin", "single") for role, _ in self._roles])
        self._closes = np.array([role in ("end", "single") for role, _ in self._roles])
        self._type_names = [type_ for _, type_ in self._roles]

    @classmethod
    def build(cls, sentences: Sequence[Sentence], model: ModelConfig, min_count: int = 1,
              extra: Mapping[str, Iterable[str]] | None = None) -> "Encoder":
        """Vocabularies from the training sentences, normalisation and segmenter as ``model`` says.

        ``extra`` adds tokens seen outside training, e.g. those that have pretrained
        vectors, by kind: ``chars``, ``bigrams`` and ``words`` (lexicon words; only
        those in the lexicon are kept).
        """
        extra = extra or {}
        normalizer = normalizer_for(model)
        texts = [normalizer(s.text) for s in sentences]
        types = {span.type for s in sentences for span in s.spans}
        chars = Vocab.build(texts, min_count, (normalizer(c) for c in extra.get("chars", ()) if len(c) == 1))
        bigram_vocab = None
        if model.bigram_dim:
            bigram_vocab = Vocab.build([bigrams(t) for t in texts], extra=map(normalizer, extra.get("bigrams", ())))
        lexicon = words = counts = None
        if model.lexicon:
            lexicon = read_lexicon(model.lexicon, normalizer)
            found, outer = _lexicon_words(lexicon, texts)
            words = Vocab.build(found, extra=(w for w in map(normalizer, extra.get("words", ())) if w in lexicon.words))
            counts = np.array([outer[w] for w in words.tokens], dtype=np.int64)
        gazetteers = {type_: read_lexicon(files, normalizer)
                      for type_, files in model.gazetteer_lists.items()} or None
        radical_vocab = table = None
        if model.radical_dim:
            table = read_radicals()
            radical_vocab = Vocab.build(radicals_of(texts, table))
        return cls(normalizer, chars, IOBES.tags_for(types), IOBES,
                   model.segmenter, bigram_vocab, lexicon, words, gazetteers, counts, radical_vocab, table)

    def extended(self, sentences: Sequence[Sentence], min_count: int = 1,
                 extra: Mapping[str, Iterable[str]] | None = None) -> "Encoder":
        """This encoder grown for more training sentences (continued training): each vocabulary
        :meth:`Vocab.extended` by their tokens (characters seen ``min_count`` times or more, as
        :meth:`build` counts them) and by ``extra`` (as in :meth:`build`), and the tags of entity
        types new in ``sentences`` after its own, which keep their ids. Normalisation, segmenter,
        lexicon, gazetteers and radical table stay. A lexicon word this encoder learned keeps its count (the weight
        the network was trained with); a new one gets its count in ``sentences``."""
        extra = extra or {}
        normalize = self.normalizer
        texts = [normalize(s.text) for s in sentences]
        chars = self.chars.extended(texts, min_count, (normalize(c) for c in extra.get("chars", ()) if len(c) == 1))
        bigram_vocab = self.bigrams
        if bigram_vocab is not None:
            bigram_vocab = bigram_vocab.extended([bigrams(t) for t in texts],
                                                 extra=map(normalize, extra.get("bigrams", ())))
        radical_vocab = self.radicals
        if radical_vocab is not None and self.radical_table is not None:
            radical_vocab = radical_vocab.extended(radicals_of(texts, self.radical_table))
        words, counts = self.words, self.word_counts
        if self.lexicon is not None and words is not None:
            found, outer = _lexicon_words(self.lexicon, texts)
            grown = words.extended(found, extra=(w for w in map(normalize, extra.get("words", ()))
                                                 if w in self.lexicon.words))
            if counts is not None:
                kept = dict(zip(words.tokens[:words.learned], counts.tolist()))
                counts = np.array([kept.get(w, outer[w]) for w in grown.tokens], dtype=np.int64)
            words = grown
        types = {span.type for s in sentences for span in s.spans}
        tags = self.tags + [t for t in self.scheme.tags_for(types) if t not in self.tag_index]
        return dataclasses.replace(self, chars=chars, tags=tags, bigrams=bigram_vocab, words=words, word_counts=counts,
                                   radicals=radical_vocab)

    def with_gazetteers(self, replacements: dict[str, Lexicon]) -> "Encoder":
        """This encoder with some of its gazetteers replaced (the types must be the model's)."""
        known = list(self.gazetteers or {})
        unknown = [t for t in replacements if t not in known]
        if unknown:
            raise BrandnerError(f"this model has no gazetteer {unknown[0]!r}; its gazetteers: "
                                f"{', '.join(known) or 'none'}")
        return dataclasses.replace(self, gazetteers={t: replacements.get(t, self.gazetteers[t]) for t in known})

    @property
    def vocabularies(self) -> dict[str, Vocab]:
        """The token vocabularies this encoder has, by kind of token (and of pretrained
        vectors, see brandner.data.vectors.KINDS): ``chars``, ``bigrams``, ``words``, and
        ``radicals`` (which no vectors file has)."""
        found = {"chars": self.chars, "bigrams": self.bigrams, "words": self.words, "radicals": self.radicals}
        return {kind: vocab for kind, vocab in found.items() if vocab is not None}

    @property
    def types(self) -> list[str]:
        return sorted({t for _, t in self._roles if t is not None})

    def encode_text(self, text: str) -> Encoded:
        normal = self.normalizer(text)
        return Encoded(self.chars.encode(normal), np.asarray(segment_ids(normal, self.segmenter), dtype=np.int64),
                       bigrams=self.bigrams.encode(bigrams(normal)) if self.bigrams is not None else None,
                       lexicon=self.lexicon_ids(normal) if self.lexicon is not None else None,
                       gazetteers=self.gazetteer_matches(normal) if self.gazetteers else None,
                       radicals=self.radical_ids(normal) if self.radicals is not None else None)

    def radical_ids(self, text: str) -> np.ndarray:
        """``(seq,)`` the id of each character's radical in the radical vocabulary; ``<UNK>`` for a
        character the table gives none (not CJK, or rare) or whose radical training never saw."""
        get = self._radical_ids.get
        return np.fromiter((get(c, UNK_ID) for c in text), dtype=np.int64, count=len(text))

    def gazetteer_matches(self, text: str) -> np.ndarray:
        """``(seq, types * positions)``: 1 where a character begins, is inside, ends or is
        an entry of each gazetteer (B, M, E, S as in brandner.data.lexicon), else 0."""
        assert self.gazetteers
        out = np.zeros((len(text), len(self.gazetteers), NUM_POSITIONS), dtype=np.int64)
        for g, gazetteer in enumerate(self.gazetteers.values()):
            found = list(positions(gazetteer.matches(text)))
            if found:
                chars, where, _ = zip(*found)
                out[list(chars), g, list(where)] = 1
        return out.reshape(len(text), -1)

    def lexicon_ids(self, text: str) -> np.ndarray:
        """``(seq, positions, slots)`` ids of the lexicon words holding each character of
        (normalised) ``text``, by the character's position in the word (B, M, E, S: see
        brandner.data.lexicon); at most LEXICON_SLOTS words each, the first found, 0 for none."""
        assert self.lexicon is not None and self.words is not None
        matches = self.lexicon.matches(text)
        get = self.words.index.get
        ids = [get(text[s:e], UNK_ID) for s, e in matches]
        # flat indices first and one numpy assignment at the end: writing numpy elements
        # one at a time from Python costs several times more than the matching
        filled: dict[int, int] = {}  # (char, position) as char * NUM_POSITIONS + position -> slots used
        where, what = [], []
        for i, position, m in positions(matches):
            cell = i * NUM_POSITIONS + position
            slot = filled.get(cell, 0)
            if slot < LEXICON_SLOTS:
                where.append(cell * LEXICON_SLOTS + slot)
                what.append(ids[m])
                filled[cell] = slot + 1
        out = np.zeros(len(text) * NUM_POSITIONS * LEXICON_SLOTS, dtype=np.int64)
        out[where] = what
        return out.reshape(len(text), NUM_POSITIONS, LEXICON_SLOTS)

    def encode_sentence(self, sentence: Sentence) -> Encoded:
        """Ids with gold tags; entity types the model does not know become O."""
        encoded = self.encode_text(sentence.text)
        known = [s for s in sentence.spans if s.type in self.types]
        tags = self.scheme.to_tags(known, len(sentence.text))
        return dataclasses.replace(encoded, tags=np.asarray([self.tag_index[t] for t in tags], dtype=np.int64))

    def spans(self, tag_ids: Sequence[int]) -> list[Span]:
        """Entity spans of one sentence's tag ids (lenient: invalid sequences are repaired)."""
        roles = self._roles
        return spans_from_roles([roles[i] for i in tag_ids])[0]

    def valid_spans(self, tag_ids: np.ndarray) -> list[tuple[int, int, str]]:
        """``(start, end, type)`` of a tag sequence the scheme allows (as constrained
        Viterbi gives): each entity opens with B/S and closes with E/S, so the spans
        pair the opening and closing positions in order, with no per-character loop."""
        return self.batch_valid_spans(tag_ids[None, :], np.array([len(tag_ids)]))[0]

    def batch_valid_spans(self, paths: np.ndarray, lengths: np.ndarray) -> list[list[tuple[int, int, str]]]:
        """:meth:`valid_spans` of each row of ``paths`` ``(batch, seq)``, cut to its length, in
        numpy calls for the whole batch (a Python loop per row only to hand out the lists)."""
        inside = np.arange(paths.shape[1]) < lengths[:, None]  # (batch, seq)
        open_rows, starts = np.nonzero(self._opens[paths] & inside)  # row-major: by row, then position
        close_rows, ends = np.nonzero(self._closes[paths] & inside)
        assert np.array_equal(open_rows, close_rows), "valid_spans needs sequences the scheme allows"
        names = self._type_names
        spans = [(s, e + 1, names[t]) for s, e, t in
                 zip(starts.tolist(), ends.tolist(), paths[open_rows, starts].tolist(), strict=True)]
        bounds = np.searchsorted(open_rows, np.arange(len(paths) + 1)).tolist()
        return [spans[first:last] for first, last in zip(bounds, bounds[1:])]

    def word_weights(self) -> np.ndarray:
        """``(words,)`` float32 weight of each lexicon word id for frequency pooling: one more
        than its count in the training text, so that words training never saw (those from
        pretrained vectors, and ``<UNK>``) still count; 0 for ``<PAD>``."""
        if self.words is None or self.word_counts is None:
            raise BrandnerError("this encoder has no lexicon word counts (a lexicon model written "
                                "before they were kept?); frequency pooling needs them")
        weights = self.word_counts.astype(np.float32) + 1.0
        weights[PAD_ID] = 0.0
        return weights

    def allowed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Transitions the scheme permits between this encoder's tags, for the CRF: boolean
        ``(tags, tags)`` (from, to), start ``(tags,)`` and end ``(tags,)``."""
        transitions, start, end = self.scheme.allowed(self.tags)
        return np.array(transitions, dtype=bool), np.array(start, dtype=bool), np.array(end, dtype=bool)

    def to_dict(self) -> dict:
        """What a model file stores of the encoder; the normaliser and segmenter are the config's."""
        data = {"chars": list(self.chars.tokens), "tags": list(self.tags), "scheme": self.scheme.name}
        if self.bigrams is not None:
            data["bigrams"] = list(self.bigrams.tokens)
        if self.lexicon is not None and self.words is not None:
            # one string, not a list of ~350k: smaller and much faster to save and load
            data["lexicon"] = "\n".join(sorted(self.lexicon.words))
            data["lexicon_words"] = list(self.words.tokens)
            if self.word_counts is not None:
                data["lexicon_counts"] = self.word_counts.tolist()
        if self.gazetteers:
            data["gazetteers"] = {t: "\n".join(sorted(g.words)) for t, g in self.gazetteers.items()}
        if self.radicals is not None and self.radical_table is not None:
            data["radicals"] = list(self.radicals.tokens)
            data["radical_table"] = pack(self.radical_table)  # so that tagging needs no package
        learned = {kind: vocab.learned for kind, vocab in self.vocabularies.items() if vocab.learned < len(vocab)}
        if learned:  # tokens from pretrained vectors only (fixed embedding rows) follow the learned ones
            data["learned"] = learned
        return data

    @classmethod
    def from_dict(cls, data: dict, model: ModelConfig) -> "Encoder":
        """The encoder ``to_dict`` gave, normalising and segmenting as ``model`` says; keys a feature
        added later may be absent (feature off). Files written before the config was the one
        place for them hold a copy of the normaliser and segmenter settings, which is ignored."""
        lexicon = Lexicon(data["lexicon"].split("\n")) if "lexicon" in data else None
        learned = data.get("learned", {})  # absent: every token learned (and files written before it existed)

        def vocab(key: str, kind: str) -> Vocab | None:
            return Vocab(data[key], learned.get(kind)) if key in data else None

        return cls(normalizer_for(model), vocab("chars", "chars"), list(data["tags"]),
                   get_scheme(data["scheme"]), model.segmenter,
                   vocab("bigrams", "bigrams"), lexicon, vocab("lexicon_words", "words"),
                   {t: Lexicon(words.split("\n")) for t, words in data["gazetteers"].items()}
                   if data.get("gazetteers") else None,
                   np.asarray(data["lexicon_counts"], dtype=np.int64) if "lexicon_counts" in data else None,
                   vocab("radicals", "radicals"), unpack(data["radical_table"]) if "radical_table" in data else None)


def _lexicon_words(lexicon: Lexicon, texts: Sequence[str]) -> tuple[list[list[str]], Counter[str]]:
    """The lexicon words found in each (normalised) text, and how often each word occurs in
    them not inside a longer one (the counts of frequency pooling)."""
    found = [lexicon.matches(t) for t in texts]
    outer = Counter(text[s:e] for text, matches in zip(texts, found) for s, e in outermost(matches))
    return [[t[s:e] for s, e in m] for t, m in zip(texts, found)], outer


def normalizer_for(model: ModelConfig) -> Normalizer:
    """The normaliser ``model``'s settings describe."""
    return Normalizer(model.fullwidth, model.lowercase, model.zero_digits)
