"""train.sparse_embeddings: lazy Adam for the bigram and lexicon word tables, fused Adam for the rest."""

from __future__ import annotations

import copy

import pytest
import torch

from brandner.config import load_config
from brandner.data.batching import collate
from brandner.data.encoder import Encoder
from brandner.errors import BrandnerError
from brandner.model.model_file import load_model, network_for
from brandner.training.optim import LazyTablesAdam, adam
from brandner.training.steps import clip_gradients
from tests.conftest import synthetic_sentences, whole_and_resumed

TINY = ["char_dim=8", "seg_dim=4", "hidden_size=8", "bigram_dim=4", "lr=0.05", "patience=100"]


def setup():
    config = load_config(None, TINY)
    sentences = synthetic_sentences(20)
    torch.manual_seed(0)
    encoder = Encoder.build(sentences, config.model)
    model = network_for(config.model, encoder).train()
    return model, [encoder.encode_sentence(s) for s in sentences]


def test_a_table_row_the_step_s_batch_does_not_use_stays_where_dense_adam_s_momentum_moves_it():
    model, data = setup()
    model.dropout.p = 0.0  # the same forward pass in both models
    oracle = copy.deepcopy(model)
    lazy, plain = LazyTablesAdam(model, 0.05), torch.optim.Adam(oracle.parameters(), lr=0.05, fused=True)
    first, second = data[:4], data[4:8]
    after_first = {}
    for optimizer, net in ((lazy, model), (plain, oracle)):
        for batch in (first, second):
            optimizer.zero_grad()
            net.loss(collate(batch)).backward()
            optimizer.step()
            after_first.setdefault(id(net), {k: v.detach().clone() for k, v in net.state_dict().items()})
    assert model.bigram_embedding.weight.grad.is_sparse and not oracle.bigram_embedding.weight.grad.is_sparse
    used = [set(torch.cat([torch.as_tensor(d.bigrams) for d in batch]).tolist()) - {0} for batch in (first, second)]
    only_first = torch.tensor(sorted(used[0] - used[1]))
    in_second = torch.tensor(sorted(used[1]))
    assert len(only_first) and len(in_second)
    table = "bigram_embedding.weight"
    lazy_rows, dense_rows = model.bigram_embedding.weight.detach(), oracle.bigram_embedding.weight.detach()
    assert torch.equal(lazy_rows[only_first], after_first[id(model)][table][only_first])  # lazy: left alone
    assert not torch.equal(dense_rows[only_first], after_first[id(oracle)][table][only_first])  # momentum
    assert not torch.equal(lazy_rows[in_second], after_first[id(model)][table][in_second])
    # after the first step every other parameter is the same as with dense Adam: the same
    # gradients and the same fused Adam (the table's rows differ slightly: SparseAdam adds eps
    # before its bias correction)
    for key, value in after_first[id(oracle)].items():
        if key != table:
            assert torch.equal(after_first[id(model)][key], value), key


def test_clipping_counts_a_sparse_gradient_as_its_dense_rows():
    torch.manual_seed(1)
    sparse = torch.nn.Parameter(torch.zeros(6, 2))
    sparse.grad = torch.sparse_coo_tensor(torch.tensor([[1, 4, 1]]), torch.randn(3, 2) * 5, (6, 2),
                                          check_invariants=True)  # row 1 twice
    dense = torch.nn.Parameter(torch.zeros(3))
    dense.grad = torch.randn(3) * 5
    twin = [torch.nn.Parameter(torch.zeros(6, 2)), torch.nn.Parameter(torch.zeros(3))]
    twin[0].grad, twin[1].grad = sparse.grad.to_dense(), dense.grad.clone()
    clip_gradients([sparse, dense], 1.0)
    torch.nn.utils.clip_grad_norm_(twin, 1.0)
    torch.testing.assert_close(sparse.grad.to_dense(), twin[0].grad)
    torch.testing.assert_close(dense.grad, twin[1].grad)


def test_a_lazy_run_resumes_as_an_uninterrupted_one_and_its_model_tags(tmp_path):
    whole, cut = whole_and_resumed(tmp_path, TINY + ["sparse_embeddings=true", "weight_average=0.9"])
    assert set(whole["optimizer"]) == {"dense", "lazy"}
    for key, tensor in whole["model"]["state_dict"].items():
        assert torch.equal(tensor, cut["model"]["state_dict"][key]), key
    model, _ = load_model(tmp_path / "whole.pt")
    assert model.bigram_embedding.sparse is False  # a runtime switch of training, not saved


def test_lazy_tables_need_one_worker_and_a_dense_state_is_refused():
    with pytest.raises(BrandnerError, match="sparse_embeddings needs train.workers = 1"):
        load_config(None, ["sparse_embeddings=true", "workers=2"])
    model, _ = setup()
    with pytest.raises(ValueError, match="not saved by this model's LazyTablesAdam"):
        LazyTablesAdam(model, 0.01).load_state_dict(adam(model, 0.01).state_dict())
