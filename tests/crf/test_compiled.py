"""The compiled CRF kernel against numpy's forward-backward and the gold path's indicators
(which tests/test_crf.py holds to brute force), at the sizes and dtypes training uses."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
import torch

from brandner.crf import compiled
from brandner.crf.forward_backward import forward_backward
from brandner.crf.layer import CRF, FORBIDDEN, GoldPath
from brandner.data.schemes import IOBES

pytestmark = pytest.mark.skipif(compiled.compiled_nll() is None, reason="numba is not installed")


def numpy_gradients(emissions, lengths, tags, transitions, start, end) -> compiled.SentenceGradients:
    """What the kernel computes, from the numpy pieces CRF.nll uses without it."""
    m = forward_backward(emissions, lengths, transitions, start, end)
    path = GoldPath(tags, lengths)
    ones = np.ones(len(lengths))
    unary = m.unary.copy()
    path.subtract_tags(unary, ones)
    moves = m.transitions.copy()
    num_tags = transitions.shape[0]
    for b in range(len(lengths)):  # each sentence's moves alone
        moves[b] -= path.move_counts(np.eye(len(lengths))[b], num_tags)
    first, last = m.first.copy(), m.last.copy()
    first[np.arange(len(lengths)), path.first] -= 1
    last[np.arange(len(lengths)), path.last] -= 1
    return compiled.SentenceGradients(m.log_z - path.score(emissions, transitions, start, end), unary, moves,
                                      first, last)


@pytest.mark.parametrize("types, lengths, dtype", [
    (["A"], [1], np.float64),
    (["A", "B"], [7, 1, 4, 7, 2], np.float32),
    (["A", "B", "C", "D", "E", "F", "G", "H"], [30, 12, 29, 1], np.float32),  # 33 tags, as on Weibo
    (["A", "B"], [3, 3], np.float64),
])
@pytest.mark.parametrize("constrained", [False, True])
def test_kernel_equals_numpy_forward_backward_and_gold_path(types, lengths, dtype, constrained):
    tags_of = IOBES.tags_for(types)
    allowed = tuple(torch.tensor(x) for x in IOBES.allowed(tags_of)) if constrained else None
    torch.manual_seed(len(lengths))
    crf = CRF(len(tags_of), allowed).to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    rng = np.random.default_rng(0)
    emissions = rng.normal(size=(len(lengths), max(lengths), len(tags_of))).astype(dtype) * 3
    tags = rng.integers(0, len(tags_of), size=emissions.shape[:2])  # forbidden moves too: both score them alike
    steps = np.array(lengths)
    scores = [t.detach().numpy() for t in crf.constrained(FORBIDDEN)]

    ours = compiled.nll_and_gradients(emissions, steps, tags, *scores)
    theirs = numpy_gradients(emissions, steps, tags, *scores)
    assert ours.unary.dtype == dtype and ours.unary.shape == emissions.shape
    tolerance = 1e-9 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(ours.nll, theirs.nll, rtol=tolerance, atol=tolerance * 10)
    for mine, expected in zip((ours.unary, ours.moves, ours.first, ours.last),
                              (theirs.unary, theirs.moves, theirs.first, theirs.last), strict=True):
        np.testing.assert_allclose(mine, expected, atol=tolerance)
    for b, n in enumerate(lengths):
        assert not ours.unary[b, n:].any()  # padding gets no gradient


def test_nll_gives_the_same_loss_and_gradients_with_and_without_the_kernel(monkeypatch):
    """CRF.nll in float32 (as training runs it), weighted as a mean, on both paths."""
    tags_of = IOBES.tags_for(["HC", "HP"])
    crf = CRF(len(tags_of), tuple(torch.tensor(x) for x in IOBES.allowed(tags_of)))
    torch.manual_seed(5)
    emissions = torch.randn(6, 9, len(tags_of))
    mask = torch.arange(9) < torch.tensor([9, 9, 5, 3, 1, 8])[:, None]
    tags = torch.zeros(6, 9, dtype=torch.long)
    tags[0, 2:4] = torch.tensor([1, 3])  # B-HC E-HC (ids in tags_of order)
    tags[2, 0] = 4  # S-HC

    def run() -> list[torch.Tensor]:
        crf.zero_grad()
        x = emissions.clone().requires_grad_()
        loss = crf.nll(x, tags, mask).mean()
        loss.backward()
        return [loss.detach(), x.grad] + [p.grad.clone() for p in (crf.transitions, crf.start, crf.end)]

    with_kernel = run()
    monkeypatch.setattr(compiled, "compiled_nll", lambda: None)
    assert compiled.nll_and_gradients(emissions.numpy(), np.ones(6, dtype=np.int64), tags.numpy(),
                                      *[t.detach().numpy() for t in crf.constrained(FORBIDDEN)]) is None
    for a, b in zip(with_kernel, run(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.fixture
def fresh_kernel():
    """compiled_nll built anew in the test (its cache cleared before and after)."""
    compiled.compiled_nll.cache_clear()
    yield
    compiled.compiled_nll.cache_clear()


# one sentence of 2 positions, 3 tags, every score 0
TWO_STEPS = (np.zeros((1, 2, 3), np.float32), np.array([2]), np.zeros((1, 2), np.int64), np.zeros((3, 3)),
             np.zeros(3), np.zeros(3))


def test_the_kernel_compiles_without_a_cache_where_numba_has_nowhere_to_write_one(monkeypatch, fresh_kernel):
    import numba

    njit = numba.njit

    def no_cache_directory(*args, cache: bool = False, **kwargs):
        if cache:
            raise RuntimeError("cannot cache function: no locator available")  # numba's words
        return njit(*args, **kwargs)

    monkeypatch.setattr(numba, "njit", no_cache_directory)
    nll = compiled.compiled_nll()(*TWO_STEPS)[0]
    assert nll[0] == pytest.approx(np.log(9))  # 9 equally likely paths of 2 positions over 3 tags


def test_without_numba_the_log_says_so_once_and_nll_falls_back(monkeypatch, caplog, fresh_kernel):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    with caplog.at_level(logging.WARNING, logger="brandner.crf.compiled"):
        first = compiled.nll_and_gradients(*TWO_STEPS)
        compiled.compiled_nll()
    assert first is None
    assert [r.getMessage() for r in caplog.records].count(
        "numba is not installed: the CRF loss runs in numpy, which made training 5-7% slower (pip install numba)") == 1
