"""Marginals, entity probabilities and n-best decoding against brute force: every tag
sequence of small random CRFs enumerated, batched with padding and mixed lengths."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from brandner.crf.confidence import span_log_probabilities, tag_probabilities
from brandner.crf.decoding import kbest_viterbi, viterbi
from brandner.crf.forward_backward import forward_backward, passes
from brandner.crf.layer import FORBIDDEN
from brandner.data.schemes import IOBES

LENGTHS = [4, 2, 1, 3]  # mixed, not sorted: every row but the first is padded


def random_crf(constrained: bool, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(transitions, start, end): 3 free tags, or IOBES over two types (9 tags) with -inf for forbidden moves."""
    rng = np.random.default_rng(seed)
    num_tags = len(IOBES.tags_for(["A", "B"])) if constrained else 3
    scores = [rng.normal(size=(num_tags, num_tags)), rng.normal(size=num_tags), rng.normal(size=num_tags)]
    if constrained:
        for score, allowed in zip(scores, IOBES.allowed(IOBES.tags_for(["A", "B"]))):
            score[~np.asarray(allowed)] = -np.inf
    return tuple(scores)


def random_emissions(num_tags: int, seed: int, lengths: list[int] = LENGTHS) -> np.ndarray:
    rng = np.random.default_rng(seed + 100)
    return rng.normal(size=(len(lengths), max(lengths), num_tags)) * 2  # padding holds noise too


def all_sequences(emissions: np.ndarray, n: int, crf) -> tuple[np.ndarray, np.ndarray]:
    """Every tag sequence of length n ``(count, n)`` and its probability ``(count,)`` (0 if forbidden)."""
    transitions, start, end = crf
    sequences = np.array(list(itertools.product(range(len(start)), repeat=n)))
    score = start[sequences[:, 0]] + end[sequences[:, -1]] + emissions[np.arange(n), sequences].sum(axis=1)
    score = score + transitions[sequences[:, :-1], sequences[:, 1:]].sum(axis=1)
    return sequences, np.exp(score - np.logaddexp.reduce(score))


CASES = [(constrained, seed) for constrained in (False, True) for seed in range(3)]


@pytest.mark.parametrize("constrained,seed", CASES)
def test_marginals_match_brute_force(constrained, seed):
    crf = random_crf(constrained, seed)
    emissions = random_emissions(len(crf[1]), seed)
    marginals = tag_probabilities(emissions, np.array(LENGTHS), crf)
    for b, n in enumerate(LENGTHS):
        sequences, probability = all_sequences(emissions[b, :n], n, crf)
        for t in range(n):
            expected = np.bincount(sequences[:, t], weights=probability, minlength=len(crf[1]))
            np.testing.assert_allclose(marginals[b, t], expected, atol=1e-12)
        assert (marginals[b, n:] == 0).all()


def test_minus_infinity_and_the_finite_forbidden_score_agree():
    crf = random_crf(True, 0)
    finite = tuple(np.maximum(x, FORBIDDEN) for x in crf)
    emissions = random_emissions(len(crf[1]), 0)
    lengths = np.array(LENGTHS)
    with np.errstate(all="raise"):  # no NaN, no overflow, no division by zero on the way
        exact = forward_backward(emissions, lengths, *crf)
    stand_in = forward_backward(emissions, lengths, *finite)
    np.testing.assert_allclose(exact.unary, stand_in.unary, atol=1e-12)
    np.testing.assert_allclose(exact.log_z, stand_in.log_z, atol=1e-9)


@pytest.mark.parametrize("constrained,seed", CASES)
def test_exact_forward_and_backward_scores(constrained, seed):
    crf = random_crf(constrained, seed)
    num_tags = len(crf[1])
    emissions = random_emissions(num_tags, seed)
    scaled = passes(emissions, np.array(LENGTHS), *crf)
    for b, n in enumerate(LENGTHS):
        sequences, probability = all_sequences(emissions[b, :n], n, crf)
        positions, tags = np.meshgrid(np.arange(n), np.arange(num_tags), indexing="ij")
        rows = np.full(positions.shape, b)
        log_alpha = scaled.log_alpha(rows, positions, tags)  # (n, tags)
        log_beta = scaled.log_beta(rows, positions, tags)
        np.testing.assert_allclose(np.logaddexp.reduce(log_alpha + log_beta, axis=1), scaled.log_z[b], atol=1e-9)
        with np.errstate(divide="ignore"):  # alpha + beta - log Z is the log marginal, -inf where impossible
            marginal = np.log([np.bincount(sequences[:, t], probability, num_tags) for t in range(n)])
        np.testing.assert_allclose(log_alpha + log_beta - scaled.log_z[b], marginal, atol=1e-9)
        transitions, start, end = crf
        np.testing.assert_allclose(log_alpha[0], start + emissions[b, 0])  # a one-character prefix
        np.testing.assert_allclose(log_beta[n - 1], end)  # nothing after the last character


def spans_of(rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    """A random set of non-overlapping spans covering parts of 0..n."""
    cuts = sorted(set(rng.integers(0, n + 1, size=4).tolist()) | {0, n})
    return [(s, e) for s, e in zip(cuts, cuts[1:]) if rng.random() < 0.7]


@pytest.mark.parametrize("constrained,seed", CASES)
def test_span_probabilities_match_brute_force(constrained, seed):
    crf = random_crf(constrained, seed)
    num_tags = len(crf[1])
    emissions = random_emissions(num_tags, seed)
    rng = np.random.default_rng(seed)
    rows, starts, ends, expected = [], [], [], []
    tags = np.zeros(emissions.shape[:2], dtype=np.int64)
    for b, n in enumerate(LENGTHS):
        sequences, probability = all_sequences(emissions[b, :n], n, crf)
        allowed = sequences[probability > 0]
        # mostly tags of some allowed sequence; sometimes random ones, possibly impossible
        tags[b, :n] = allowed[rng.integers(len(allowed))] if rng.random() < 0.8 else rng.integers(num_tags, size=n)
        for s, e in spans_of(rng, n):
            rows.append(b), starts.append(s), ends.append(e)
            expected.append(probability[(sequences[:, s:e] == tags[b, s:e]).all(axis=1)].sum())
    log_p = span_log_probabilities(emissions, np.array(LENGTHS), crf, tags, np.array(rows), np.array(starts),
                                   np.array(ends))
    np.testing.assert_allclose(np.exp(log_p), expected, atol=1e-12)


def test_span_probabilities_include_impossible_and_certain_spans():
    crf = random_crf(True, 1)
    tags = IOBES.tags_for(["A", "B"])
    emissions = random_emissions(len(tags), 1, [3])
    index = {name: i for i, name in enumerate(tags)}
    path = np.array([[index["I-A"], index["E-A"], index["O"]]])  # I-A cannot open a sentence
    log_p = span_log_probabilities(emissions, np.array([3]), crf, path, np.array([0, 0]), np.array([0, 0]),
                                   np.array([2, 3]))
    assert (log_p == -np.inf).all()
    whole = np.array([[index["B-A"], index["E-A"], index["O"]]])
    one = span_log_probabilities(emissions, np.array([3]), crf, whole, np.array([0]), np.array([0]), np.array([3]))
    _, probability = all_sequences(emissions[0], 3, crf)
    assert one[0] <= 0 and np.exp(one[0]) == pytest.approx(
        probability[np.ravel_multi_index(whole[0], (len(tags),) * 3)], abs=1e-12)


def test_softmax_head_span_probability_is_the_product_of_the_characters():
    emissions = random_emissions(5, 3)
    lengths = np.array(LENGTHS)
    probabilities = tag_probabilities(emissions, lengths, None)
    np.testing.assert_allclose(probabilities[0].sum(axis=1), 1.0)
    assert (probabilities[1, 2:] == 0).all()
    tags = np.random.default_rng(0).integers(5, size=emissions.shape[:2])
    log_p = span_log_probabilities(emissions, lengths, None, tags, np.array([0, 0, 3]), np.array([0, 2, 1]),
                                   np.array([2, 4, 3]))
    expected = [probabilities[0, 0, tags[0, 0]] * probabilities[0, 1, tags[0, 1]],
                probabilities[0, 2, tags[0, 2]] * probabilities[0, 3, tags[0, 3]],
                probabilities[3, 1, tags[3, 1]] * probabilities[3, 2, tags[3, 2]]]
    np.testing.assert_allclose(np.exp(log_p), expected, atol=1e-12)


def test_no_spans_give_an_empty_array():
    crf = random_crf(False, 0)
    emissions = random_emissions(3, 0)
    empty = np.zeros(0, dtype=np.int64)
    assert span_log_probabilities(emissions, np.array(LENGTHS), crf, np.zeros(emissions.shape[:2], dtype=np.int64),
                                  empty, empty, empty).shape == (0,)


@pytest.mark.parametrize("constrained,seed", CASES)
@pytest.mark.parametrize("k", [1, 4, 30])
def test_kbest_matches_brute_force(constrained, seed, k):
    crf = random_crf(constrained, seed)
    emissions = random_emissions(len(crf[1]), seed)
    lengths = np.array(LENGTHS)
    paths, scores = kbest_viterbi(emissions, lengths, *crf, k)
    assert paths.shape == (len(LENGTHS), k, emissions.shape[1]) and scores.shape == (len(LENGTHS), k)
    log_z = forward_backward(emissions, lengths, *crf).log_z
    for b, n in enumerate(LENGTHS):
        sequences, probability = all_sequences(emissions[b, :n], n, crf)
        order = np.argsort(-probability, kind="stable")
        expected = [i for i in order[:k] if probability[i] > 0]
        found = int(np.isfinite(scores[b]).sum())
        assert found == len(expected)  # fewer than k allowed sequences: the rest are -inf
        assert [tuple(p[:n]) for p in paths[b, :found]] == [tuple(sequences[i]) for i in expected]
        np.testing.assert_allclose(np.exp(scores[b, :found] - log_z[b]), probability[expected], atol=1e-12)
        assert (paths[b, :, n:] == 0).all()
        assert (np.diff(scores[b, :found]) <= 0).all()


@pytest.mark.parametrize("constrained", [False, True])
def test_one_best_is_viterbi(constrained):
    crf = random_crf(constrained, 7)
    emissions = random_emissions(len(crf[1]), 7)
    lengths = np.array(LENGTHS)
    paths, scores = kbest_viterbi(emissions, lengths, *crf, 1)
    best, best_score = viterbi(emissions, lengths, *crf)
    np.testing.assert_array_equal(paths[:, 0], best)
    np.testing.assert_allclose(scores[:, 0], best_score)


def test_kbest_rejects_k_below_one():
    crf = random_crf(False, 0)
    with pytest.raises(ValueError, match="k must be at least 1"):
        kbest_viterbi(random_emissions(3, 0), np.array(LENGTHS), *crf, 0)
