"""TokenEmbedding: fixed rows for pretrained vectors of tokens training never sees."""

from __future__ import annotations

import random

import pytest
import torch
from torch.nn import functional as F

from brandner.config import ModelConfig
from brandner.data.batching import collate, length_batches
from brandner.data.encoder import Encoder
from brandner.model.embedding import TokenEmbedding
from brandner.model.model_file import atomic_save, load_model, model_payload, network_for
from tests.conftest import synthetic_sentences


def test_lookup_is_the_plain_lookup_over_the_whole_table():
    torch.manual_seed(0)
    table = TokenEmbedding(9, 3, frozen=4)
    ids = torch.tensor([[0, 1, 4, 5, 8], [8, 7, 6, 2, 0]])
    assert torch.equal(table(ids), F.embedding(ids, table.table()))
    assert torch.equal(table(ids)[0, 0], torch.zeros(3))  # padding
    torch.manual_seed(0)
    ours = TokenEmbedding(9, 3).table()
    torch.manual_seed(0)
    assert torch.equal(ours, torch.nn.Embedding(9, 3, padding_idx=0).weight.detach())  # same start as before
    with pytest.raises(ValueError, match="frozen rows"):
        TokenEmbedding(3, 2, frozen=3)


def test_set_rows_writes_trained_and_fixed_rows():
    table = TokenEmbedding(6, 2, frozen=3)
    table.set_rows([1, 4, 5], torch.tensor([[1.0, 1.0], [4.0, 4.0], [5.0, 5.0]]))
    assert table.table()[[1, 4, 5]].tolist() == [[1.0, 1.0], [4.0, 4.0], [5.0, 5.0]]
    assert table.weight.shape == (3, 2) and not table.frozen.requires_grad


def _trained_tables(encoder: Encoder, config: ModelConfig, frozen: dict | None, steps: int = 12) -> dict:
    torch.manual_seed(0)
    model = network_for(config, encoder, frozen)
    data = [encoder.encode_sentence(s) for s in synthetic_sentences(40)]
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05, foreach=True)
    batches = length_batches([len(d.chars) for d in data], 8, random.Random(0))
    model.train()
    for indices in (batches * 3)[:steps]:
        loss = model.loss(collate([data[i] for i in indices]))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    return {name: getattr(model, name).table().detach().clone() for name in ("char_embedding", "bigram_embedding")}


def test_fixed_rows_train_to_the_same_numbers_as_trainable_ones():
    """Oracle: tokens absent from training get zero gradients, so Adam leaves their rows
    alone; fixing them must change nothing else either."""
    config = ModelConfig(char_dim=6, seg_dim=3, hidden_size=5, bigram_dim=4)
    encoder = Encoder.build(synthetic_sentences(40), config, extra={"chars": list("阿迪达斯"), "bigrams": ["阿迪"]})
    assert len(encoder.chars) - encoder.chars.learned == 4 and len(encoder.bigrams) - encoder.bigrams.learned == 1
    fixed = _trained_tables(encoder, config, None)
    trainable = _trained_tables(encoder, config, {"chars": 0, "bigrams": 0})
    torch.manual_seed(0)
    start = network_for(config, encoder).char_embedding.table()
    for name in fixed:
        assert torch.allclose(fixed[name], trainable[name], atol=1e-5), name
    assert torch.equal(fixed["char_embedding"][-4:], start[-4:])  # never moved
    assert not torch.allclose(fixed["char_embedding"][2:-4], start[2:-4])  # the others did


def test_model_files_keep_fixed_rows_and_old_files_still_load(tmp_path):
    config = ModelConfig(char_dim=6, seg_dim=3, hidden_size=5, bigram_dim=4)
    encoder = Encoder.build(synthetic_sentences(10), config, extra={"chars": list("阿迪")})
    model = network_for(config, encoder)
    atomic_save(model_payload(model, encoder), tmp_path / "m.pt")
    loaded, loaded_encoder = load_model(tmp_path / "m.pt")
    assert loaded.char_embedding.frozen.size(0) == 2
    assert torch.equal(loaded.char_embedding.table(), model.char_embedding.table())
    # the encoder keeps which tokens are fixed, so a network built for it takes the file's weights
    assert loaded_encoder.chars.learned == encoder.chars.learned == len(encoder.chars) - 2
    network_for(config, loaded_encoder).load_state_dict(loaded.state_dict())
    # a file from before fixed rows: one weight per table, no buffer
    payload = model_payload(model, encoder)
    state = payload["state_dict"]
    for name in ("char_embedding", "bigram_embedding"):
        state[f"{name}.weight"] = torch.cat([state[f"{name}.weight"], state.pop(f"{name}.frozen")])
    torch.save(payload, tmp_path / "old.pt")
    old, _ = load_model(tmp_path / "old.pt")
    assert old.char_embedding.frozen.size(0) == 0
    assert torch.equal(old.char_embedding.table(), model.char_embedding.table())


def test_a_sparse_gradient_holds_the_dense_gradient_s_rows():
    """brandner.training.parallel's workers take the table's gradient as the rows used; densified, it is the dense one."""
    torch.manual_seed(0)
    table = TokenEmbedding(7, 3, frozen=2)
    ids = torch.tensor([[1, 6, 0, 1], [4, 5, 2, 0]])  # trained, frozen and padding ids, one twice
    upstream = torch.randn(2, 4, 3)
    (table(ids) * upstream).sum().backward()
    dense, table.weight.grad = table.weight.grad, None
    table.sparse = True
    (table(ids) * upstream).sum().backward()
    assert table.weight.grad.is_sparse
    torch.testing.assert_close(table.weight.grad.to_dense(), dense, rtol=0, atol=1e-6)
