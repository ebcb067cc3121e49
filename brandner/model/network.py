"""The BiLSTM tagger: embeddings -> dropout -> BiLSTM -> tag scores -> CRF or softmax.

Each character's input is its embedding, its jieba segment position's and, when the
config turns them on, its bigram's embedding, its radical's embedding and its lexicon words' embeddings
averaged per position in the word (B, M, E, S: SoftLexicon, Ma et al. 2020), and
for each typed gazetteer four 0/1 inputs: the character begins, is inside, ends or
is an entry.

The contract the trainer, the tagger and the exporter use, and nothing else:
``loss(batch)`` (training), ``emissions(batch)`` (the tag scores ``(batch, seq, tags)``)
and ``crf_scores()`` (the CRF's constrained scores for decoding in numpy, None for the
softmax head). Decoding is the CRF's (brandner.crf.decoding), outside the network.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from brandner.config import ModelConfig
from brandner.crf.decoding import CRFScores
from brandner.crf.layer import CRF
from brandner.data.batching import Batch
from brandner.data.features import NUM_SEGMENT_IDS
from brandner.data.joint import RULED_OUT
from brandner.data.lexicon import NUM_POSITIONS
from brandner.model.dropout import Dropout
from brandner.model.embedding import TokenEmbedding


class BiLSTMTagger(nn.Module):
    """Character + segmentation (+ bigram, + radical, + lexicon) embeddings through a BiLSTM to per-tag scores.

    ``num_bigrams``, ``num_words`` and ``num_radicals`` are the sizes of the bigram, lexicon word
    and radical vocabularies; they matter only when the config turns those features on.
    ``frozen`` gives, by kind (``chars``, ``bigrams``, ``words``, ``radicals``), how many of the
    last rows of that table are fixed pretrained vectors (see brandner.model.embedding).
    ``word_weights`` ``(num_words,)``: each lexicon word's weight for frequency pooling
    (Encoder.word_weights); derived from the encoder, so not saved with the weights.
    ``corpus_tags`` ``(corpora, tags)`` bool: for a joint training of several corpora, the tags
    each corpus's sentences may take (brandner.training.joint.corpus_tags); derived, not saved."""

    def __init__(self, config: ModelConfig, num_chars: int, num_tags: int,
                 allowed: tuple[torch.Tensor | np.ndarray, ...] | None = None,
                 num_bigrams: int = 0, num_words: int = 0, frozen: Mapping[str, int] | None = None,
                 word_weights: np.ndarray | None = None, num_radicals: int = 0,
                 corpus_tags: np.ndarray | None = None) -> None:
        super().__init__()
        self.config = config
        frozen = frozen or {}
        self.char_embedding = TokenEmbedding(num_chars, config.char_dim, frozen.get("chars", 0))
        self.segment_embedding = nn.Embedding(NUM_SEGMENT_IDS, config.seg_dim)
        input_size = config.char_dim + config.seg_dim
        self.bigram_embedding = self.word_embedding = self.radical_embedding = None
        for name, on, size in (("bigram", config.bigram_dim, num_bigrams), ("lexicon word", config.lexicon, num_words),
                               ("radical", config.radical_dim, num_radicals)):
            if on and size < 2:  # <PAD> and <UNK> at least
                raise ValueError(f"the config turns {name}s on but the {name} vocabulary has {size} entries; "
                                 "build the network with brandner.model.model_file.network_for(config, encoder)")
        if config.bigram_dim:
            self.bigram_embedding = TokenEmbedding(num_bigrams, config.bigram_dim, frozen.get("bigrams", 0))
            input_size += config.bigram_dim
        if config.radical_dim:
            self.radical_embedding = TokenEmbedding(num_radicals, config.radical_dim, frozen.get("radicals", 0))
            input_size += config.radical_dim
        if config.lexicon:
            self.word_embedding = TokenEmbedding(num_words, config.lexicon_dim, frozen.get("words", 0))
            input_size += NUM_POSITIONS * config.lexicon_dim
            if config.lexicon_pooling == "frequency":
                if word_weights is None or len(word_weights) != num_words:
                    raise ValueError(f"frequency pooling needs a weight for each of the {num_words} lexicon "
                                     "words; build the network with brandner.model.model_file.network_for")
                self.register_buffer("word_weights", torch.as_tensor(word_weights, dtype=torch.float32),
                                     persistent=False)
        self.num_gazetteers = len(config.gazetteer_lists)
        input_size += NUM_POSITIONS * self.num_gazetteers
        self.dropout = Dropout(config.dropout)
        self.output_dropout = Dropout(config.output_dropout)
        self.lstm = nn.LSTM(input_size, config.hidden_size, batch_first=True, bidirectional=True)
        self.projection = nn.Linear(2 * config.hidden_size, num_tags)
        self.crf = CRF(num_tags, allowed) if config.head == "crf" else None
        self.register_buffer("corpus_tags", None if corpus_tags is None else torch.as_tensor(corpus_tags,
                             dtype=torch.bool), persistent=False)

    def embed(self, batch: Batch) -> torch.Tensor:
        """Each character's input to the LSTM ``(batch, seq, input)``, before dropout."""
        parts = [self.char_embedding(batch.chars), self.segment_embedding(batch.segments)]
        if self.bigram_embedding is not None:
            if batch.bigrams is None:
                raise ValueError("this model reads bigrams; the batch has none")
            parts.append(self.bigram_embedding(batch.bigrams))
        if self.radical_embedding is not None:
            if batch.radicals is None:
                raise ValueError("this model reads radicals; the batch has none")
            parts.append(self.radical_embedding(batch.radicals))
        if self.word_embedding is not None:
            if batch.lexicon is None:
                raise ValueError("this model reads lexicon words; the batch has none")
            words = self.word_embedding(batch.lexicon)  # (batch, seq, positions, slots, dim); id 0 gives zeros
            if self.config.lexicon_pooling == "frequency":
                # SoftLexicon: positions * sum(weight * vector) / the weights of all the character's words
                weights = self.word_weights[batch.lexicon]  # (batch, seq, positions, slots); 0 for none
                total = weights.sum(dim=(-2, -1), keepdim=True).clamp(min=1)  # (batch, seq, 1, 1)
                pooled = (words * weights.unsqueeze(-1)).sum(dim=-2) * (NUM_POSITIONS / total)
            else:
                count = (batch.lexicon > 0).sum(dim=-1, keepdim=True).clamp(min=1)  # (batch, seq, positions, 1)
                pooled = words.sum(dim=-2) / count  # (batch, seq, positions, dim): mean, zeros where none
            parts.append(pooled.flatten(start_dim=-2))
        if self.num_gazetteers:
            if batch.gazetteers is None or batch.gazetteers.size(-1) != NUM_POSITIONS * self.num_gazetteers:
                raise ValueError(f"this model reads {self.num_gazetteers} gazetteer(s); the batch has "
                                 f"{0 if batch.gazetteers is None else batch.gazetteers.size(-1) // NUM_POSITIONS}")
            parts.append(batch.gazetteers.to(parts[0].dtype))  # (batch, seq, types * positions)
        return torch.cat(parts, dim=-1)

    def emissions(self, batch: Batch) -> torch.Tensor:
        """Tag scores ``(batch, seq, tags)``."""
        embedded = self.dropout(self.embed(batch))  # (batch, seq, input)
        return self.projection(self.output_dropout(self.bilstm(embedded, batch.lengths)))  # (batch, seq, tags)

    def bilstm(self, embedded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The BiLSTM's states ``(batch, seq, 2 * hidden)`` for each sentence alone, zeros past its length."""
        steps = embedded.size(1)
        if bool((lengths == steps).all()):
            return self.lstm(embedded)[0]  # no padding: nothing to take care of
        if type(self.lstm) is not nn.LSTM or embedded.device.type != "cpu" or torch.onnx.is_in_onnx_export():
            # packed: an int8 copy's LSTM, a GPU (cuDNN's own kernel; the gain below was measured on
            # CPUs), and the ONNX graph (an LSTM with sequence_lens). length_batches gives batches
            # longest first, and then packing needs no sort and unsort
            ordered = bool((lengths[:-1] >= lengths[1:]).all())
            packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=ordered)
            return pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=steps)[0]
        # Each direction over the padded batch, the backward one over every sentence reversed
        # within its length: padding then only ever follows a sentence and cannot reach its
        # states. On the speed benchmark's ecommerce batches the LSTM's forward and backward
        # took 15-25% less time this way than packed (the same numbers but for float rounding).
        # torch._VF.lstm is the kernel nn.LSTM itself calls, here one direction at a time.
        rows = reversed_rows(lengths, steps)  # (batch * seq,)
        start = embedded.new_zeros(1, embedded.size(0), self.lstm.hidden_size)
        forward_weights, backward_weights = self.lstm.all_weights

        def run(inputs: torch.Tensor, weights: list[torch.Tensor]) -> torch.Tensor:
            return torch._VF.lstm(inputs, (start, start), weights, True, 1, 0.0, self.training, False, True)[0]

        forward = run(embedded, forward_weights)  # (batch, seq, hidden)
        backward = Reversed.apply(run(Reversed.apply(embedded, rows), backward_weights), rows)  # reading order
        inside = (torch.arange(steps) < lengths[:, None]).unsqueeze(2)  # (batch, seq, 1)
        return torch.cat([forward, backward], dim=2) * inside  # zeros past each length, as packing gives

    def loss(self, batch: Batch) -> torch.Tensor:
        """Mean loss per sentence (CRF negative log-likelihood or token cross-entropy sums)."""
        if batch.tags is None:
            raise ValueError("loss needs a batch with tags")
        emissions = self.emissions(batch)
        if batch.corpus is not None and self.corpus_tags is not None:
            # each sentence's tags are its corpus's alone: the others' scores far below any path's,
            # so the CRF's sum over paths is over that corpus's tags, as with a head of its own
            emissions = emissions.masked_fill(~self.corpus_tags[batch.corpus], RULED_OUT)
        if self.crf is not None:
            return self.crf.nll(emissions, batch.tags, batch.mask).mean()
        per_token = nn.functional.cross_entropy(emissions.transpose(1, 2), batch.tags, reduction="none")
        return (per_token * batch.mask).sum() / batch.mask.size(0)

    def crf_scores(self) -> CRFScores | None:
        """The CRF's constrained ``(transitions, start, end)`` in numpy (-inf for forbidden moves),
        read afresh (the model may still be training); None for the softmax head."""
        return self.crf.decoding_scores() if self.crf is not None else None


def reversed_rows(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``(batch * steps,)``: for each position of a flattened ``(batch, steps, ...)`` tensor, the
    row of the flattened tensor that :class:`Reversed` puts there."""
    offsets = torch.arange(lengths.size(0))[:, None] * steps  # (batch, 1)
    return (offsets + reverse_positions(lengths, steps)).reshape(-1)


class Reversed(torch.autograd.Function):
    """``(batch, seq, dim)`` with each sentence's positions reversed within its length, by
    ``reversed_rows``. The reversal is its own inverse, so the backward pass is the same
    ``index_select``: a third of ``gather``'s time forward and a tenth of its backward
    (``scatter_add_``) on a (20, 30, 120) batch at one thread."""

    @staticmethod
    def forward(ctx, inputs: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(rows)
        return inputs.reshape(-1, inputs.size(2)).index_select(0, rows).view(inputs.shape)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (rows,) = ctx.saved_tensors
        return grad.reshape(-1, grad.size(2)).index_select(0, rows).view(grad.shape), None


def reverse_positions(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``(batch, steps)`` indices that reverse each row's first ``lengths[row]`` positions and
    keep the rest in place (an involution: applied twice, the identity)."""
    positions = torch.arange(steps)[None, :]
    return torch.where(positions < lengths[:, None], lengths[:, None] - 1 - positions, positions)
