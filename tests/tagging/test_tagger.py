"""The public API on raw text: edge cases, long posts, offsets into the original string."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brandner import Tagger
from brandner.data.text import split_chunks


@pytest.fixture(scope="module")
def tagger(tiny_model) -> Tagger:
    return Tagger.load(tiny_model)


def check_offsets(result: dict) -> None:
    for entity in result["entities"]:
        assert result["string"][entity["start"]:entity["end"]] == entity["word"]
        assert set(entity) == {"word", "type", "start", "end"}


def test_finds_brands_in_the_output_format(tagger):
    result = tagger.predict("我买了特步鞋")
    assert result == {"string": "我买了特步鞋",
                      "entities": [{"word": "特步", "type": "SHOE", "start": 3, "end": 5}]}


def test_a_list_gives_a_list_in_order(tagger):
    texts = ["我买了耐克鞋", "", "华为手机真好用", "   "]
    results = tagger.predict(texts)
    assert [r["string"] for r in results] == texts
    assert results[1]["entities"] == [] and results[3]["entities"] == []
    assert [e["word"] for e in results[2]["entities"]] == ["华为"]


@pytest.mark.parametrize("text", ["", " ", "\t\n", "😀😀😀", "hello world", "ＡＢＣ特步１２３", "\u200b特步\u200b"])
def test_odd_inputs_work_and_keep_offsets(tagger, text):
    result = tagger.predict(text)
    assert result["string"] == text
    check_offsets(result)


def test_full_width_and_upper_case_map_back_to_the_original_string(tagger):
    result = tagger.predict("我买了特步鞋ＡＢＣ")
    check_offsets(result)
    assert result["entities"][0]["word"] == "特步"


@pytest.mark.parametrize("separator", ["。", ""])
def test_long_posts_are_split_and_stitched_back(tagger, separator):
    sentence = "我买了特步鞋" + separator
    text = sentence * 40  # far past the tiny model's chunk length of 40
    assert len(split_chunks(text, tagger.config.max_chunk_length)) > 1
    result = tagger.predict(text)
    check_offsets(result)
    starts = [e["start"] for e in result["entities"] if e["word"] == "特步"]
    assert len(starts) >= 35  # nothing dropped or truncated (a hard cut may split a few brands)
    assert starts == sorted(starts)
    assert max(starts) > len(text) - len(sentence) * 2


def test_long_text_equals_its_chunks_tagged_alone(tagger):
    text = "推荐李宁给大家。" * 12
    chunks = split_chunks(text, tagger.config.max_chunk_length)
    pieces = tagger.predict([text[s:e] for s, e in chunks])
    expected = [dict(e, start=e["start"] + s, end=e["end"] + s) for (s, _), r in zip(chunks, pieces)
                for e in r["entities"]]
    assert tagger.predict(text)["entities"] == expected


def test_a_long_text_is_tagged_as_its_sentences_alone(tagger):
    # Was packed into chunks of up to max_chunk_length across sentence ends, so the model saw
    # several titles as one sequence: joined ecommerce test titles scored 9 F1 below the titles alone.
    sentences = ["我买了特步鞋。", "昨天在店里看到小米和安踏！", "苹果手机真好用\n", "推荐耐克给大家；"] * 6
    text = "".join(sentences)
    assert len(text) > tagger.config.max_chunk_length
    pieces = sorted(piece for batch, _, _ in tagger.scored_batches([text]) for piece in batch)
    assert [text[start:end] for _, start, end in pieces] == sentences
    expected, offset = [], 0
    for sentence, result in zip(sentences, tagger.predict(sentences)):
        expected += [dict(e, start=e["start"] + offset, end=e["end"] + offset) for e in result["entities"]]
        offset += len(sentence)
    assert tagger.predict(text)["entities"] == expected


def test_batch_size_does_not_change_results(tiny_model):
    texts = ["我买了特步鞋", "昨天在店里看到小米和安踏", "苹果手机真好用", "推荐耐克给大家"] * 5
    assert Tagger.load(tiny_model, batch_size=1).predict(texts) == Tagger.load(tiny_model, batch_size=7).predict(texts)


def test_rejects_non_strings(tagger):
    with pytest.raises(TypeError):
        tagger.predict([1, 2])


@pytest.mark.parametrize("texts, arrived", [
    (None, "got NoneType"), (123, "got int"), (b"x", "got bytes"), ({"a": 1}, "got dict"), ({"a"}, "got set"),
    (["a", None], "item 1 is NoneType"),
])
def test_what_is_not_texts_is_named(tagger, texts, arrived):
    for method in (tagger.predict, tagger.marginals):
        with pytest.raises(TypeError, match=f"takes a string or a sequence of strings.*{arrived}"):
            method(texts)


@pytest.mark.parametrize("sentences, arrived", [("abc", "got str"), (None, "got NoneType"), (["abc"], "item 0 is str")])
def test_evaluate_names_what_is_not_sentences(tagger, sentences, arrived):
    # Was AttributeError: 'str' object has no attribute 'text'.
    with pytest.raises(TypeError, match=f"evaluate takes Sentence objects.*{arrived}"):
        tagger.evaluate(sentences)


def test_evaluate_reads_a_generator_of_sentences_once(tiny_model):
    # Was: the texts were read from the generator, and the gold spans from what was left of it (nothing).
    from tests.conftest import synthetic_sentences
    tagger = Tagger.load(tiny_model)
    sentences = synthetic_sentences(30, seed=5)
    assert tagger.evaluate(s for s in sentences) == tagger.evaluate(sentences)
    assert tagger.evaluate(sentences).micro.support > 0


def test_any_iterable_of_texts_is_read_once(tagger):
    texts = ["我买了特步鞋", "推荐耐克给大家"]
    assert tagger.predict(t for t in texts) == tagger.predict(texts) == tagger.predict(tuple(texts))
    assert tagger.predict((t for t in texts), nbest=2) == tagger.predict(texts, nbest=2)
    assert all(np.array_equal(a, b) for a, b in zip(tagger.marginals(t for t in texts), tagger.marginals(texts),
                                                    strict=True))


def test_options_are_checked_where_they_are_given(tiny_model, tagger):
    from brandner.tagging.tagger import MAX_NBEST

    with pytest.raises(ValueError, match=f"nbest must be a whole number from 1 to {MAX_NBEST}, got {MAX_NBEST + 1}"):
        tagger.predict("特步", nbest=MAX_NBEST + 1)
    with pytest.raises(TypeError, match="scores must be True or False, got 'yes'"):
        tagger.predict("特步", scores="yes")
    for options, error, words in [({"batch_size": 0}, ValueError, "batch_size must be a whole number at least 1"),
                                  ({"batch_size": 1.5}, ValueError, "batch_size"),
                                  ({"threads": 0}, ValueError, "threads must be a whole number at least 1"),
                                  ({"int8": "no"}, TypeError, "int8 must be True or False"),
                                  ({"gazetteers": "brand=x.txt"}, TypeError, "gazetteers maps a type")]:
        with pytest.raises(error, match=words):
            Tagger.load(tiny_model, **options)


def test_fast_span_reading_agrees_with_the_lenient_reader_on_valid_sequences():
    import random

    import numpy as np

    from brandner.config import ModelConfig
    from brandner.data.encoder import Encoder
    from brandner.data.schemes import IOBES, spans_from_tags
    from tests.conftest import synthetic_sentences

    encoder = Encoder.build(synthetic_sentences(20), ModelConfig())
    rng = random.Random(0)
    for _ in range(200):
        noisy = [rng.choice(encoder.tags) for _ in range(rng.randint(1, 12))]
        valid = IOBES.to_tags(spans_from_tags(noisy, IOBES)[0], len(noisy))
        ids = np.array([encoder.tag_index[t] for t in valid])
        assert encoder.valid_spans(ids) == [(s.start, s.end, s.type) for s in encoder.spans(ids.tolist())]


def test_the_softmax_head_tags_too(tmp_path):
    from brandner.config import load_config
    from brandner.training.job import fit
    from tests.conftest import synthetic_sentences
    path = tmp_path / "softmax.pt"
    config = load_config(None, ["head=softmax", "max_epochs=6", "char_dim=16", "seg_dim=4", "hidden_size=16",
                                "lr=0.02", "dropout=0.1"])
    summary = fit(synthetic_sentences(200), synthetic_sentences(40, seed=1), config, path)
    assert summary["dev"]["f1"] > 0.5
    result = Tagger.load(path).predict("我买了特步鞋")
    check_offsets(result)
    assert Tagger.load(path, backend="torch").model.crf is None
    assert Tagger.load(path, backend="torch").predict("我买了特步鞋") == result  # the default runs onnxruntime


def test_int8_tagging_stays_close_to_the_float_model(tiny_model):
    from tests.conftest import synthetic_sentences
    sentences = synthetic_sentences(100, seed=5)
    float_f1 = Tagger.load(tiny_model).evaluate(sentences).micro.f1
    int8 = Tagger.load(tiny_model, int8=True)
    assert abs(int8.evaluate(sentences).micro.f1 - float_f1) <= 0.03
    check_offsets(int8.predict("我买了特步鞋"))
    assert Tagger.load(tiny_model, backend="torch").model.lstm.__class__ is torch.nn.LSTM  # the float model is untouched


def test_span_reading_of_a_padded_batch_agrees_row_by_row():
    """batch_valid_spans reads each row up to its length only; padding (tag id 0 whatever it
    names) and rows without entities give nothing."""
    import random

    import numpy as np

    from brandner.config import ModelConfig
    from brandner.data.encoder import Encoder
    from brandner.data.schemes import IOBES, spans_from_tags
    from tests.conftest import synthetic_sentences

    encoder = Encoder.build(synthetic_sentences(20), ModelConfig())
    rng = random.Random(1)
    rows = []
    for _ in range(50):
        noisy = [rng.choice(encoder.tags) for _ in range(rng.randint(1, 12))]
        rows.append([encoder.tag_index[t] for t in IOBES.to_tags(spans_from_tags(noisy, IOBES)[0], len(noisy))])
    rows.append([encoder.tag_index["O"]] * 5)
    lengths = np.array([len(r) for r in rows])
    for padding in range(len(encoder.tags)):
        paths = np.full((len(rows), lengths.max() + 2), padding)
        for i, row in enumerate(rows):
            paths[i, :len(row)] = row
        expected = [encoder.spans(row) for row in rows]
        assert encoder.batch_valid_spans(paths, lengths) == [[(s.start, s.end, s.type) for s in spans]
                                                             for spans in expected]


def test_any_score_backend_plugs_into_the_constructor(tiny_model):
    """Tagger(backend, config, encoder): a backend of one's own (here the torch one's scores, halved and
    doubled back) tags as Tagger.load does; model is the network only for the torch backend."""
    from brandner.tagging.torch_backend import TorchBackend

    loaded = Tagger.load(tiny_model, backend="torch")
    inner = TorchBackend(loaded.model)

    class Scaled:
        def tag_scores(self, arrays):
            return inner.tag_scores(arrays) * 0.5 * 2

        def crf_scores(self):
            return inner.crf_scores()

    texts = ["我买了特步鞋", "华为手机真好用", ""]
    custom = Tagger(Scaled(), loaded.config, loaded.encoder)
    assert custom.predict(texts, scores=True) == loaded.predict(texts, scores=True) and custom.model is None
    assert Tagger.from_model(loaded.model, loaded.encoder).predict(texts) == loaded.predict(texts)


class WholeTextEntity:
    """A backend whose tag scores make each whole piece one entity of the first type."""

    def __init__(self, tagger: Tagger, crf: bool) -> None:
        self.index, self.inner, self.crf = tagger.encoder.tag_index, tagger.backend, crf
        self.type = tagger.types[0]

    def tag_scores(self, arrays):
        lengths = arrays["lengths"]
        scores = np.zeros((len(lengths), int(lengths.max()), len(self.index)), dtype=np.float32)
        for row, length in enumerate(lengths):
            tags = ["S"] if length == 1 else ["B"] + ["I"] * (length - 2) + ["E"]
            for position, prefix in enumerate(tags):
                scores[row, position, self.index[f"{prefix}-{self.type}"]] = 50.0
        return scores

    def crf_scores(self):
        return self.inner.crf_scores() if self.crf else None


@pytest.mark.parametrize("crf", [True, False])
def test_entities_never_start_or_end_with_blank_characters(tagger, crf):
    # Fuzzing found 70 in 15,012 texts with entities such as '\n小米' or '\u0000小米'.
    forced = Tagger(WholeTextEntity(tagger, crf), tagger.config, tagger.encoder)
    texts = ["\n\n小米手机", "\u0000小米", " \t\u3000", "小米 \u200b", "\ufeff特步\r\n", "耐 克"]
    results = forced.predict(texts, scores=True)
    assert [[(e["word"], e["start"], e["end"]) for e in r["entities"]] for r in results] == [
        [("小米手机", 2, 6)], [("小米", 1, 3)], [], [("小米", 0, 2)], [("特步", 1, 3)], [("耐 克", 0, 3)]]
    for result in results:
        for entity in result["entities"]:
            assert 0 <= entity["score"] <= 1
    if crf:
        best = forced.predict("\u0000小米", nbest=2)
        assert [e["word"] for e in best[0]["entities"]] == ["小米"]
