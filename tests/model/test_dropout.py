"""brandner's Dropout: nn.Dropout's behaviour with a cheaper mask."""

from __future__ import annotations

import math

import pytest
import torch

from brandner.model.dropout import Dropout, random_int16


def test_the_identity_in_eval_mode_and_at_zero():
    inputs = torch.randn(4, 5)
    assert Dropout(0.5).eval()(inputs) is inputs
    assert Dropout(0.0).train()(inputs) is inputs


@pytest.mark.parametrize("p", [0.5, 0.3, 0.05])
def test_drops_each_element_with_probability_p_and_scales_the_rest(p):
    torch.manual_seed(0)
    inputs = torch.rand(200, 1000) + 1.0  # no zeros of its own
    outputs = Dropout(p).train()(inputs)
    dropped = outputs == 0
    n = inputs.numel()
    assert abs(dropped.sum().item() - p * n) < 5 * math.sqrt(n * p * (1 - p))  # 5 standard deviations
    torch.testing.assert_close(outputs[~dropped], inputs[~dropped] / (1 - p))


def test_the_gradient_is_the_mask_times_the_scale():
    torch.manual_seed(1)
    inputs = torch.randn(30, 40, requires_grad=True)
    outputs = Dropout(0.4).train()(inputs)
    outputs.sum().backward()
    kept = outputs.detach() != 0
    torch.testing.assert_close(inputs.grad, kept.float() / 0.6)


def test_masks_follow_torch_s_seed_and_generator_state():
    """The same seed, or a restored generator state (as --resume restores it), draws the same mask."""
    layer, inputs = Dropout(0.5).train(), torch.ones(50, 60)
    torch.manual_seed(3)
    first = layer(inputs)
    saved = torch.get_rng_state()
    second = layer(inputs)
    torch.manual_seed(3)
    assert torch.equal(layer(inputs), first)
    torch.set_rng_state(saved)
    assert torch.equal(layer(inputs), second)
    assert not torch.equal(first, second)


def test_random_int16_takes_every_value_about_equally_often():
    torch.manual_seed(0)
    counts = torch.bincount(random_int16(2**22).long() + 2**15, minlength=2**16)  # 64 expected per value
    assert counts.numel() == 2**16 and int(counts.min()) > 20 and int(counts.max()) < 120
    assert len(random_int16(5)) == 5 and random_int16(0).numel() == 0


@pytest.mark.parametrize("p", [-0.1, 1.0, float("nan")])
def test_a_probability_outside_0_to_1_is_refused(p):
    with pytest.raises(ValueError, match="dropout probability"):
        Dropout(p)
