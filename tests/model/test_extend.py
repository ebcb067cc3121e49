"""A trained network grown for a grown encoder (brandner.model.extend): before any training step,
a text of old tokens gets exactly the old tags' scores, marginals and paths of the trained network;
new rows are drawn as a fresh network draws them."""

from __future__ import annotations

import json

import numpy as np
import torch

from brandner.crf.confidence import tag_probabilities
from brandner.crf.decoding import decode
from brandner.data.batching import collate
from brandner.data.schemes import IOBES
from brandner.data.sentence import Sentence, Span
from brandner.model.extend import grown_network
from brandner.model.model_file import load_model, network_for
from brandner.tagging.tagger import Tagger
from tests.conftest import REPO, synthetic_sentences, train_tiny

# Texts the tiny model was trained on: every character and bigram in its vocabularies.
OLD_TEXTS = [s.text for s in synthetic_sentences(200)[:30]]
NEW_BRANDS = [Sentence("我在商场买了鸿星尔克鞋", (Span(6, 10, "SHOE"),)), Sentence("推荐乔丹给大家", (Span(2, 4, "SHOE"),))]
NEW_TYPE = [Sentence("我喜欢喝可口可乐", (Span(4, 8, "DRINK"),)), Sentence("雪碧的新款不错", (Span(0, 2, "DRINK"),))]


def grow(path, sentences: list[Sentence], seed: int = 0):
    """The trained network and encoder at ``path``, and both grown for ``sentences``."""
    model, encoder = load_model(path)
    grown_encoder = encoder.extended(sentences)
    torch.manual_seed(seed)
    grown = grown_network(model, encoder, grown_encoder, model.config)
    grown.eval()
    return model, encoder, grown, grown_encoder


def emissions(model, encoder, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(batch, seq, tags)`` scores and ``(batch,)`` lengths of ``texts``."""
    batch = collate([encoder.encode_text(t) for t in texts])
    with torch.no_grad():
        return model.emissions(batch).numpy(), batch.lengths.numpy()


def test_new_characters_leave_the_scores_marginals_and_paths_of_old_texts_exactly_as_they_were(tiny_model):
    model, encoder, grown, grown_encoder = grow(tiny_model, NEW_BRANDS)
    assert grown_encoder.tags == encoder.tags
    assert len(grown_encoder.chars) == len(encoder.chars) + len(set("在商场鸿星尔克乔丹")) - len(
        set("在商场鸿星尔克乔丹") & set(encoder.chars.tokens))
    old_scores, _ = emissions(model, encoder, OLD_TEXTS)
    new_scores, _ = emissions(grown, grown_encoder, OLD_TEXTS)
    assert np.array_equal(old_scores, new_scores)
    for old, new in zip(model.crf_scores(), grown.crf_scores(), strict=True):
        assert np.array_equal(old, new)
    before, after = Tagger.from_model(model, encoder), Tagger.from_model(grown, grown_encoder)
    assert all(np.array_equal(a, b) for a, b in zip(before.marginals(OLD_TEXTS), after.marginals(OLD_TEXTS),
                                                    strict=True))
    assert before.predict(OLD_TEXTS) == after.predict(OLD_TEXTS)


def test_a_new_type_adds_tags_that_leave_the_old_tags_scores_as_they_were(tiny_model):
    model, encoder, grown, grown_encoder = grow(tiny_model, NEW_BRANDS + NEW_TYPE)
    old = len(encoder.tags)
    assert grown_encoder.tags == encoder.tags + ["B-DRINK", "I-DRINK", "E-DRINK", "S-DRINK"]
    batches = [collate([e.encode_text(t) for t in OLD_TEXTS]) for e in (encoder, grown_encoder)]
    with torch.no_grad():  # what the projection reads: exactly the trained network's
        states = [m.bilstm(m.embed(b), b.lengths) for m, b in zip((model, grown), batches, strict=True)]
    assert torch.equal(*states)
    for name in ("weight", "bias"):
        assert torch.equal(getattr(grown.projection, name)[:old], getattr(model.projection, name))
    old_scores, lengths = emissions(model, encoder, OLD_TEXTS)
    new_scores, _ = emissions(grown, grown_encoder, OLD_TEXTS)
    assert new_scores.shape[2] == old + 4
    # the same rows of the same product, but one matrix product of 13 columns against one of 9:
    # the BLAS kernel may round in another order, so equal to float32 rounding, not bit for bit
    np.testing.assert_allclose(new_scores[:, :, :old], old_scores, rtol=1e-6, atol=1e-6)
    transitions, start, end = grown.crf_scores()
    old_crf = model.crf_scores()
    assert np.array_equal(transitions[:old, :old], old_crf[0])
    assert np.array_equal(start[:old], old_crf[1]) and np.array_equal(end[:old], old_crf[2])
    # the oracle: the grown CRF over the old tags is the trained one (its marginals and best paths)
    restricted = (transitions[:old, :old], start[:old], end[:old])
    np.testing.assert_allclose(tag_probabilities(new_scores[:, :, :old], lengths, restricted),
                               tag_probabilities(old_scores, lengths, old_crf), atol=1e-6)
    assert np.array_equal(decode(new_scores[:, :, :old], lengths, restricted), decode(old_scores, lengths, old_crf))


def test_the_new_tags_obey_the_scheme_as_the_old_ones_do(tiny_model):
    _, _, grown, grown_encoder = grow(tiny_model, NEW_TYPE)
    tags = grown_encoder.tags
    allowed, allowed_start, allowed_end = (np.array(table) for table in IOBES.allowed(tags))
    assert np.array_equal(grown.crf.allowed_transitions.numpy(), allowed)
    assert np.array_equal(grown.crf.allowed_start.numpy(), allowed_start)
    assert np.array_equal(grown.crf.allowed_end.numpy(), allowed_end)
    transitions, start, end = grown.crf_scores()
    i = {tag: n for n, tag in enumerate(tags)}
    assert transitions[i["B-DRINK"], i["I-DRINK"]] > -np.inf and transitions[i["I-DRINK"], i["E-DRINK"]] > -np.inf
    for before, after in (("O", "I-DRINK"), ("B-SHOE", "E-DRINK"), ("B-DRINK", "E-SHOE"), ("B-DRINK", "O")):
        assert transitions[i[before], i[after]] == -np.inf, (before, after)
    assert start[i["I-DRINK"]] == -np.inf and end[i["B-DRINK"]] == -np.inf and start[i["S-DRINK"]] > -np.inf


def test_new_rows_are_drawn_as_a_fresh_network_draws_them_and_old_rows_are_kept(tiny_model):
    model, encoder, grown, grown_encoder = grow(tiny_model, NEW_BRANDS + NEW_TYPE, seed=7)
    torch.manual_seed(7)
    fresh = network_for(model.config, grown_encoder)
    new_chars = [grown_encoder.chars.index[c] for c in "鸿星尔雪碧"]
    assert min(new_chars) >= len(encoder.chars)
    table, fresh_table = grown.char_embedding.table().detach(), fresh.char_embedding.table().detach()
    assert torch.equal(table[new_chars], fresh_table[new_chars]) and table[new_chars].abs().sum() > 0
    assert torch.equal(table[:len(encoder.chars)], model.char_embedding.table().detach())
    bigrams = grown.bigram_embedding.table().detach()
    assert torch.equal(bigrams[:len(encoder.bigrams)], model.bigram_embedding.table().detach())
    assert torch.equal(bigrams[grown_encoder.bigrams.index["可乐"]],
                       fresh.bigram_embedding.table().detach()[grown_encoder.bigrams.index["可乐"]])
    old, state, fresh_state = len(encoder.tags), grown.state_dict(), fresh.state_dict()
    for name in ("projection.weight", "projection.bias", "crf.start", "crf.end"):
        assert torch.equal(state[name][old:], fresh_state[name][old:]), name
        assert torch.equal(state[name][:old], model.state_dict()[name]), name
    assert torch.equal(state["crf.transitions"][old:], fresh_state["crf.transitions"][old:])
    assert torch.equal(state["crf.transitions"][:, old:], fresh_state["crf.transitions"][:, old:])
    for name, tensor in model.state_dict().items():  # the rest: the LSTM, the segment embedding
        if not name.startswith(("char_embedding", "bigram_embedding", "projection", "crf")):
            assert torch.equal(state[name], tensor), name


def test_a_fixed_row_now_seen_moves_into_the_trained_rows_with_its_vector(tiny_model):
    model, encoder = load_model(tiny_model)
    with_vectors = encoder.extended([], extra={"chars": ["鸿", "星"]})  # as pretrained vectors add them
    assert with_vectors.chars.learned == len(encoder.chars) and len(with_vectors.chars) == len(encoder.chars) + 2
    torch.manual_seed(0)
    first = grown_network(model, encoder, with_vectors, model.config)
    assert first.char_embedding.frozen.shape[0] == 2
    first.char_embedding.set_rows([len(encoder.chars)], torch.full((1, model.config.char_dim), 0.5))  # 鸿's vector
    grown_encoder = with_vectors.extended([Sentence("鸿")])
    grown = grown_network(first, with_vectors, grown_encoder, model.config)
    row = grown_encoder.chars.index["鸿"]
    assert row < grown_encoder.chars.learned == grown.char_embedding.weight.shape[0]  # trained from now on
    assert torch.equal(grown.char_embedding.table()[row], torch.full((model.config.char_dim,), 0.5))
    assert grown.char_embedding.frozen.shape[0] == 1  # 星: still unseen


def test_a_softmax_network_grows_its_projection(tmp_path):
    path = train_tiny(tmp_path / "softmax.pt", "head=softmax", sentences=20, epochs=1)
    model, encoder, grown, grown_encoder = grow(path, NEW_TYPE)
    assert grown.crf is None and grown.projection.out_features == len(encoder.tags) + 4
    old_scores, _ = emissions(model, encoder, OLD_TEXTS[:5])
    new_scores, _ = emissions(grown, grown_encoder, OLD_TEXTS[:5])
    np.testing.assert_allclose(new_scores[:, :, :len(encoder.tags)], old_scores, rtol=1e-6, atol=1e-6)


def test_a_model_file_from_before_grows_and_tags_old_texts_as_it_did_lexicon_counts_and_gazetteer_kept():
    """tests/fixtures' model has bigrams, a lexicon with frequency pooling (whose weights are the
    words' counts) and a gazetteer: grown for sentences with new characters and old lexicon words,
    it tags the texts it tagged before with the same entities and scores."""
    fixtures = REPO / "tests" / "fixtures"
    expected = json.loads((fixtures / "legacy-v1.expected.json").read_text(encoding="utf-8"))
    model, encoder = load_model(fixtures / "legacy-v1.pt")
    new = [Sentence("鸿星尔克特步特步特步手机", (Span(0, 4, "SHOE"),)), Sentence("乔丹的新款")]
    grown_encoder = encoder.extended(new)
    added = set(grown_encoder.chars.tokens[len(encoder.chars):])
    assert set("鸿星尔乔丹") <= added and not added & set("".join(expected["texts"]))
    assert grown_encoder.word_counts.tolist() == encoder.word_counts.tolist()  # the weights it was trained with
    assert grown_encoder.gazetteers == encoder.gazetteers
    grown = grown_network(model, encoder, grown_encoder, model.config)
    assert Tagger.from_model(grown, grown_encoder).predict(expected["texts"], scores=True) == expected["pt"]
