"""The BiLSTM over padded batches: each direction alone, the backward one over reversed sentences."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from brandner.config import ModelConfig
from brandner.model.network import BiLSTMTagger, Reversed, reverse_positions, reversed_rows


def test_reverse_positions_reverses_each_sentence_and_leaves_padding():
    lengths = torch.tensor([4, 2, 1, 3])
    expected = torch.tensor([[3, 2, 1, 0, 4], [1, 0, 2, 3, 4], [0, 1, 2, 3, 4], [2, 1, 0, 3, 4]])
    assert torch.equal(reverse_positions(lengths, 5), expected)
    twice = reverse_positions(lengths, 5).gather(1, reverse_positions(lengths, 5))
    assert torch.equal(twice, torch.arange(5).expand(4, 5))


@pytest.mark.parametrize("lengths", [[7, 5, 5, 2, 1], [3, 7, 1, 6], [1, 2]])
def test_bilstm_states_and_gradients_equal_the_packed_bilstm(lengths):
    """Sorted or not: the states at each sentence's positions, zeros past its length, and the
    gradients of the inputs and of every LSTM weight, as nn.LSTM on a packed batch gives them."""
    torch.manual_seed(0)
    model = BiLSTMTagger(ModelConfig(hidden_size=6), 10, 5, num_bigrams=10)
    lengths = torch.tensor(lengths)
    steps = int(lengths.max())
    inputs = torch.randn(len(lengths), steps, model.lstm.input_size)
    target = torch.randn(len(lengths), steps, 12)

    def run(states_of) -> tuple[torch.Tensor, list[torch.Tensor]]:
        model.zero_grad()
        x = inputs.clone().requires_grad_()
        states = states_of(x)
        (states * target).sum().backward()
        return states.detach(), [x.grad] + [p.grad.clone() for p in model.lstm.parameters()]

    ours, our_grads = run(lambda x: model.bilstm(x, lengths))
    packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
    theirs, their_grads = run(lambda x: pad_packed_sequence(
        model.lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))[0],
        batch_first=True, total_length=steps)[0])
    assert packed.data.shape[0] == int(lengths.sum())
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    for a, b in zip(our_grads, their_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_reversed_gives_gather_s_values_and_gradients_exactly():
    torch.manual_seed(1)
    lengths = torch.tensor([5, 3, 5, 1])
    inputs = torch.randn(4, 5, 3, requires_grad=True)
    upstream = torch.randn(4, 5, 3)
    reverse = reverse_positions(lengths, 5)[:, :, None].expand(4, 5, 3)
    ours = Reversed.apply(inputs, reversed_rows(lengths, 5))
    (ours * upstream).sum().backward()
    our_grad, inputs.grad = inputs.grad, None
    theirs = inputs.gather(1, reverse)
    (theirs * upstream).sum().backward()
    assert torch.equal(ours, theirs) and torch.equal(our_grad, inputs.grad)
    assert torch.equal(ours[1, :3], inputs[1, :3].flip(0)) and torch.equal(ours[1, 3:], inputs[1, 3:])
