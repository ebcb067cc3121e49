"""The BiLSTM tagger: embeddings -> dropout -> BiLSTM -> tag scores -> CRF or softmax.

The contract the trainer, evaluator and tagger use is ``loss(batch)`` and
``decode(batch)``; nothing else.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from brandner.batching import Batch
from brandner.config import ModelConfig
from brandner.features import NUM_SEGMENT_IDS
from brandner.model.crf import CRF


class BiLSTMTagger(nn.Module):
    """Character + segmentation embeddings through a BiLSTM to per-tag scores."""

    def __init__(self, config: ModelConfig, num_chars: int, num_tags: int,
                 allowed: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None) -> None:
        super().__init__()
        self.config = config
        self.char_embedding = nn.Embedding(num_chars, config.char_dim, padding_idx=0)
        self.segment_embedding = nn.Embedding(NUM_SEGMENT_IDS, config.seg_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.output_dropout = nn.Dropout(config.output_dropout)
        self.lstm = nn.LSTM(config.char_dim + config.seg_dim, config.hidden_size,
                            batch_first=True, bidirectional=True)
        self.projection = nn.Linear(2 * config.hidden_size, num_tags)
        self.crf = CRF(num_tags, allowed) if config.head == "crf" else None

    def emissions(self, batch: Batch) -> torch.Tensor:
        """Tag scores ``(batch, seq, tags)``."""
        embedded = torch.cat([self.char_embedding(batch.chars), self.segment_embedding(batch.segments)], dim=-1)
        embedded = self.dropout(embedded)  # (batch, seq, char_dim + seg_dim)
        lengths = batch.lengths
        if bool((lengths == batch.chars.size(1)).all()):
            hidden = self.lstm(embedded)[0]  # no padding, so nothing to pack
        else:
            # length_batches gives batches longest first; then packing needs no sort and unsort
            ordered = bool((lengths[:-1] >= lengths[1:]).all())
            packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=ordered)
            hidden = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=batch.chars.size(1))[0]
        return self.projection(self.output_dropout(hidden))  # (batch, seq, tags)

    def loss(self, batch: Batch) -> torch.Tensor:
        """Mean loss per sentence (CRF negative log-likelihood or token cross-entropy sums)."""
        if batch.tags is None:
            raise ValueError("loss needs a batch with tags")
        emissions = self.emissions(batch)
        if self.crf is not None:
            return self.crf.nll(emissions, batch.tags, batch.mask).mean()
        per_token = nn.functional.cross_entropy(emissions.transpose(1, 2), batch.tags, reduction="none")
        return (per_token * batch.mask).sum() / batch.mask.size(0)

    @torch.no_grad()
    def decode(self, batch: Batch) -> torch.Tensor:
        """Best tag ids ``(batch, seq)``, 0 on padding."""
        emissions = self.emissions(batch)
        if self.crf is not None:
            return self.crf.decode(emissions, batch.mask)[0]
        return emissions.argmax(dim=-1) * batch.mask
