"""``brandner`` as torchrun starts it, except that the rank ``$FAIL_RANK`` raises at its
``$FAIL_STEP``-th batch, as a bug would: a program for tests/training/test_distributed.py."""

from __future__ import annotations

import os
import sys

from brandner.cli.main import main
from brandner.model.network import BiLSTMTagger

if os.environ.get("RANK") == os.environ["FAIL_RANK"]:
    loss, calls = BiLSTMTagger.loss, []

    def failing(self: BiLSTMTagger, batch):
        calls.append(None)
        if len(calls) == int(os.environ["FAIL_STEP"]):
            raise RuntimeError(f"rank {os.environ['RANK']} failed on purpose")
        return loss(self, batch)

    BiLSTMTagger.loss = failing

sys.exit(main())
