"""The CRF against brute force: every tag sequence enumerated at small sizes."""

from __future__ import annotations

import itertools

import pytest
import torch

from brandner.crf import batched, compiled, layer
from brandner.crf.layer import CRF
from brandner.data.schemes import IOBES
from tests.crf import oracles


@pytest.fixture(params=["compiled", "numpy", "torch"])
def nll_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test of ``CRF.nll`` on each of its implementations: the compiled kernel, numpy, and
    the batched torch one that scores on a GPU take (here on the CPU)."""
    if request.param == "numpy":
        monkeypatch.setattr(compiled, "compiled_nll", lambda: None)
    elif request.param == "torch":
        monkeypatch.setattr(layer, "runs_in_torch", lambda emissions: True)
    elif compiled.compiled_nll() is None:
        pytest.skip("numba is not installed")
    return request.param

def sequence_score(crf: CRF, emissions: torch.Tensor, tags: tuple[int, ...], constrained: bool = False) -> float:
    transitions, start, end = crf.constrained() if constrained else (crf.transitions, crf.start, crf.end)
    total = start[tags[0]] + emissions[0, tags[0]]
    for prev, cur, t in zip(tags, tags[1:], range(1, len(tags))):
        total = total + transitions[prev, cur] + emissions[t, cur]
    return (total + end[tags[-1]]).item()


def make_crf(num_tags: int, allowed=None, seed: int = 0) -> CRF:
    torch.manual_seed(seed)
    crf = CRF(num_tags, allowed).double()
    with torch.no_grad():  # larger than the default init so the tests see real differences
        for p in crf.parameters():
            p.normal_()
    return crf


def batch(lengths: list[int], num_tags: int, seed: int = 1):
    torch.manual_seed(seed)
    emissions = torch.randn(len(lengths), max(lengths), num_tags, dtype=torch.float64)
    mask = torch.arange(max(lengths)) < torch.tensor(lengths)[:, None]
    return emissions, mask


@pytest.mark.parametrize("lengths", [[1], [3], [4, 2, 1, 3]])
def test_log_partition_matches_brute_force(lengths):
    num_tags = 3
    crf = make_crf(num_tags)
    emissions, mask = batch(lengths, num_tags)
    log_z = oracles.log_partition(crf, emissions, mask)
    for b, n in enumerate(lengths):
        scores = torch.tensor([sequence_score(crf, emissions[b, :n], tags)
                               for tags in itertools.product(range(num_tags), repeat=n)], dtype=torch.float64)
        assert log_z[b].item() == pytest.approx(torch.logsumexp(scores, 0).item(), abs=1e-9)


def test_nll_is_minus_log_probability_and_probabilities_sum_to_one(nll_path):
    num_tags, lengths = 3, [3, 2]
    crf = make_crf(num_tags)
    emissions, mask = batch(lengths, num_tags)
    for b, n in enumerate(lengths):
        total = 0.0
        for tags in itertools.product(range(num_tags), repeat=n):
            padded = torch.zeros(1, emissions.size(1), dtype=torch.long)
            padded[0, :n] = torch.tensor(tags)
            nll = crf.nll(emissions[b:b + 1], padded, mask[b:b + 1])
            total += torch.exp(-nll).item()
        assert total == pytest.approx(1.0, abs=1e-9)


def test_padding_does_not_change_scores(nll_path):
    crf = make_crf(4)
    emissions, mask = batch([3], 4)
    tags = torch.tensor([[1, 2, 3]])
    padded_emissions = torch.cat([emissions, torch.randn(1, 2, 4, dtype=torch.float64)], dim=1)
    padded_mask = torch.tensor([[True, True, True, False, False]])
    padded_tags = torch.tensor([[1, 2, 3, 0, 0]])
    assert crf.nll(emissions, tags, mask).item() == pytest.approx(
        crf.nll(padded_emissions, padded_tags, padded_mask).item())
    assert oracles.decode(crf, emissions, mask)[0][0].tolist() == oracles.decode(crf, padded_emissions, padded_mask)[0][0, :3].tolist()


@pytest.mark.parametrize("lengths", [[1], [4], [5, 3, 1, 2]])
def test_viterbi_matches_brute_force(lengths):
    num_tags = 3
    crf = make_crf(num_tags)
    emissions, mask = batch(lengths, num_tags)
    paths, best = oracles.decode(crf, emissions, mask)
    for b, n in enumerate(lengths):
        candidates = {tags: sequence_score(crf, emissions[b, :n], tags)
                      for tags in itertools.product(range(num_tags), repeat=n)}
        expected = max(candidates, key=candidates.get)
        assert tuple(paths[b, :n].tolist()) == expected
        assert paths[b, n:].eq(0).all()
        assert best[b].item() == pytest.approx(candidates[expected])


@pytest.mark.parametrize("seed", range(5))
def test_constrained_viterbi_takes_only_allowed_paths(seed):
    tags = IOBES.tags_for(["A", "B"])  # 9 tags
    allowed = tuple(torch.tensor(x) for x in IOBES.allowed(tags))
    crf = make_crf(len(tags), allowed, seed=seed)
    lengths = [4, 3, 1]
    emissions, mask = batch(lengths, len(tags), seed=seed)
    emissions = emissions * 3  # strong emissions that would favour invalid sequences
    paths, best = oracles.decode(crf, emissions, mask)
    for b, n in enumerate(lengths):
        candidates = {}
        for seq in itertools.product(range(len(tags)), repeat=n):
            score = sequence_score(crf, emissions[b, :n], seq, constrained=True)
            if score != float("-inf"):
                candidates[seq] = score
        expected = max(candidates, key=candidates.get)
        assert tuple(paths[b, :n].tolist()) == expected
        assert best[b].item() == pytest.approx(candidates[expected])


def test_allowed_sequences_are_exactly_the_valid_iobes_ones():
    from brandner.data.schemes import spans_from_tags
    tags = IOBES.tags_for(["A"])
    allowed = tuple(torch.tensor(x) for x in IOBES.allowed(tags))
    crf = make_crf(len(tags), allowed)
    emissions = torch.zeros(3, len(tags), dtype=torch.float64)
    for seq in itertools.product(range(len(tags)), repeat=3):
        names = [tags[i] for i in seq]
        valid = spans_from_tags(names, IOBES)[1] == 0 and IOBES.to_tags(spans_from_tags(names, IOBES)[0], 3) == names
        assert (sequence_score(crf, emissions, seq, constrained=True) != float("-inf")) == valid, names


def test_gradients_flow_to_all_parameters(nll_path):
    crf = make_crf(3)
    emissions, mask = batch([3, 2], 3)
    emissions.requires_grad_(True)
    tags = torch.tensor([[0, 1, 2], [2, 1, 0]])
    crf.nll(emissions, tags, mask).sum().backward()
    for p in [emissions, crf.transitions, crf.start, crf.end]:
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    assert emissions.grad[1, 2].abs().sum() == 0  # padding gets no gradient


def test_training_normalises_over_allowed_sequences_only(nll_path):
    tags = IOBES.tags_for(["A"])  # 5 tags
    allowed = tuple(torch.tensor(x) for x in IOBES.allowed(tags))
    crf = make_crf(len(tags), allowed, seed=3)
    emissions, mask = batch([3, 2], len(tags), seed=3)
    log_z = oracles.log_partition(crf, emissions, mask)
    for b, n in enumerate([3, 2]):
        scores = [sequence_score(crf, emissions[b, :n], seq, constrained=True)
                  for seq in itertools.product(range(len(tags)), repeat=n)]
        finite = torch.tensor([s for s in scores if s != float("-inf")], dtype=torch.float64)
        assert log_z[b].item() == pytest.approx(torch.logsumexp(finite, 0).item(), abs=1e-9)
    gold = torch.tensor([[1, 3, 0], [4, 0, 0]])  # B-A E-A O ; S-A O
    nll = crf.nll(emissions, gold, mask)
    nll.sum().backward()
    assert torch.isfinite(crf.transitions.grad).all() and (nll > 0).all()


def test_decoding_follows_parameter_updates():
    crf = make_crf(3)
    emissions, mask = batch([4], 3)
    before = oracles.decode(crf, emissions, mask)[0]
    with torch.no_grad():
        crf.transitions.fill_(0.0)
        crf.transitions[:, 2] = 100.0  # every move into tag 2 now wins
    assert oracles.decode(crf, emissions, mask)[0][0, 1:].tolist() == [2, 2, 2]
    assert not torch.equal(before, oracles.decode(crf, emissions, mask)[0]) or before[0, 1:].tolist() == [2, 2, 2]
    crf.load_state_dict({k: v * 0 for k, v in crf.state_dict().items()})  # replaced wholesale, as loading does
    assert crf.decoding_scores()[0].max() == 0


def brute_log_partition(crf: CRF, emissions: torch.Tensor, lengths: list[int]) -> torch.Tensor:
    """log Z per sentence ``(batch,)`` as the logsumexp of every tag sequence's score (the
    constrained scores, forbidden moves at layer.FORBIDDEN), differentiable by autograd."""
    transitions, start, end = crf.constrained(layer.FORBIDDEN)
    brute = []
    for b, n in enumerate(lengths):
        scores = []
        for seq in itertools.product(range(crf.num_tags), repeat=n):
            s = start[seq[0]] + end[seq[-1]] + sum(emissions[b, t, seq[t]] for t in range(n))
            scores.append(s + sum(transitions[seq[t - 1], seq[t]] for t in range(1, n)))
        brute.append(torch.logsumexp(torch.stack(scores), 0))
    return torch.stack(brute)


@pytest.mark.parametrize("constrained", [False, True])
def test_gradients_of_log_partition_match_autograd_through_brute_force(constrained):
    tags = IOBES.tags_for(["A"])
    allowed = tuple(torch.tensor(x) for x in IOBES.allowed(tags)) if constrained else None
    crf = make_crf(len(tags), allowed, seed=4)
    lengths = [4, 2, 1]
    emissions, mask = batch(lengths, len(tags), seed=4)
    emissions.requires_grad_(True)
    weights = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    params = [emissions, crf.transitions, crf.start, crf.end]
    ours = torch.autograd.grad((oracles.log_partition(crf, emissions, mask) * weights).sum(), params)

    expected = torch.autograd.grad((brute_log_partition(crf, emissions, lengths) * weights).sum(), params)
    for mine, theirs in zip(ours, expected):
        assert torch.allclose(mine, theirs, atol=1e-9)


@pytest.mark.parametrize("constrained", [False, True])
def test_nll_and_its_gradients_equal_log_partition_minus_score_through_autograd(constrained, nll_path):
    """nll's gradient (marginals minus the gold path's indicators) against autograd of
    log Z minus the score of the tags, with mixed lengths, noise in the padding and a
    weighted sum (as a mean or a masked loss would weight sentences)."""
    tags_of = IOBES.tags_for(["A", "B"])  # 9 tags
    allowed = tuple(torch.tensor(x) for x in IOBES.allowed(tags_of)) if constrained else None
    crf = make_crf(len(tags_of), allowed, seed=3)
    lengths = [5, 1, 3, 4]
    emissions, mask = batch(lengths, len(tags_of), seed=4)
    # O B-A E-A S-A O | S-A | B-B E-B S-B | O B-B E-B O (ids in tags_of order), then padding of any id
    valid = [[0, 1, 3, 4, 0], [4, 0, 0, 0, 0], [5, 7, 8, 0, 0], [0, 5, 7, 0, 3]]
    tags = torch.tensor(valid)
    weights = torch.tensor([0.5, 2.0, 1.0, -1.0], dtype=torch.float64)

    def run(loss_of) -> tuple[torch.Tensor, list[torch.Tensor]]:
        crf.zero_grad()
        x = emissions.clone().requires_grad_()
        loss = loss_of(x)
        (loss * weights).sum().backward()
        return loss.detach(), [x.grad] + [p.grad.clone() for p in (crf.transitions, crf.start, crf.end)]

    ours, our_grads = run(lambda x: crf.nll(x, tags, mask))
    theirs, their_grads = run(lambda x: oracles.log_partition(crf, x, mask) - oracles.score(crf, x, tags, mask))
    torch.testing.assert_close(ours, theirs)
    for a, b in zip(our_grads, their_grads, strict=True):
        torch.testing.assert_close(a, b)
    assert our_grads[0][1, 1:].abs().sum() == 0  # padding gets no gradient


@pytest.mark.parametrize("constrained", [False, True])
def test_batched_log_partition_and_its_gradients_match_brute_force(constrained):
    """brandner.crf.batched (what a GPU trains with) against every sequence enumerated: log Z and,
    by autograd, its gradients (the marginals), with mixed lengths and noise in the padding."""
    tags = IOBES.tags_for(["A"])
    allowed = tuple(torch.tensor(x) for x in IOBES.allowed(tags)) if constrained else None
    crf = make_crf(len(tags), allowed, seed=5)
    lengths = [4, 1, 3]
    emissions, mask = batch(lengths, len(tags), seed=5)
    emissions = emissions.masked_fill(~mask[:, :, None], 1e3).requires_grad_()  # padding far off, not read
    weights = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    params = [emissions, crf.transitions, crf.start, crf.end]
    ours = batched.log_partition(emissions, mask, *crf.constrained(layer.FORBIDDEN))
    brute = brute_log_partition(crf, emissions, lengths)
    torch.testing.assert_close(ours, brute, atol=1e-9, rtol=0)
    mine = torch.autograd.grad((ours * weights).sum(), params, retain_graph=True)
    theirs = torch.autograd.grad((brute * weights).sum(), params)
    for a, b in zip(mine, theirs, strict=True):
        torch.testing.assert_close(a, b, atol=1e-9, rtol=0)
    assert mine[0][1, 1:].abs().sum() == 0  # padding gets no gradient


def test_batched_nll_in_float32_equals_the_kernel_on_a_realistic_batch():
    """float32 scores (what a GPU trains on), 4 types in IOBES, lengths up to 60, a joint
    training's ruled-out tags: the batched loss and gradients equal the CPU path's to float32's
    precision."""
    tags_of = IOBES.tags_for(["A", "B", "C", "D"])  # 17 tags
    allowed = tuple(torch.tensor(x) for x in IOBES.allowed(tags_of))
    torch.manual_seed(6)
    crf = CRF(len(tags_of), allowed)
    lengths = torch.tensor([60, 41, 17, 5, 1])
    mask = torch.arange(60) < lengths[:, None]
    emissions = (3 * torch.randn(5, 60, len(tags_of))).masked_fill(torch.rand(1, 1, len(tags_of)) < 0.2, -1e4)
    gold = torch.zeros(5, 60, dtype=torch.long)  # O everywhere, an S-A and a B-B I-B E-B in each sentence
    for b, n in enumerate(lengths.tolist()):
        gold[b, 0] = tags_of.index("S-A")
        if n >= 5:
            gold[b, 2:5] = torch.tensor([tags_of.index(t) for t in ("B-B", "I-B", "E-B")])
    emissions[:, :, 0] = emissions[:, :, 0].clamp(min=-5)  # O and the gold's tags are never ruled out
    for t in ("S-A", "B-B", "I-B", "E-B"):
        emissions[:, :, tags_of.index(t)] = emissions[:, :, tags_of.index(t)].clamp(min=-5)

    def run(in_torch: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        crf.zero_grad()
        x = emissions.clone().requires_grad_()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(layer, "runs_in_torch", lambda e: in_torch)
            loss = crf.nll(x, gold, mask)
        loss.mean().backward()
        return loss.detach(), [x.grad] + [p.grad.clone() for p in (crf.transitions, crf.start, crf.end)]

    cpu_loss, cpu_grads = run(False)
    torch_loss, torch_grads = run(True)
    torch.testing.assert_close(torch_loss, cpu_loss, rtol=1e-5, atol=1e-3)
    for a, b in zip(torch_grads, cpu_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
