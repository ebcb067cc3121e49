"""Functions the Ray tests map just before brandner.ray.tag: Ray fuses them into the tagging actors,
so they run in the actors' processes. Kept apart from the tests so that an actor importing them
imports nothing else (the tests import PyTorch, the actors must not)."""

from __future__ import annotations

import sys

import pyarrow as pa
import ray


def in_the_actor(batch: pa.Table) -> pa.Table:
    """Mapped just before brandner.ray.tag, Ray fuses this into the tagging actors: it notes where
    it ran (the actor's id), how many models that process has loaded, onnxruntime's threads (null
    for a PyTorch backend) and PyTorch's (null if PyTorch was never imported)."""
    from brandner.tagging import rows

    torch = sys.modules.get("torch")
    sessions = [t.backend.session for t in rows._taggers.values() if hasattr(t.backend, "session")]
    onnx_threads = sessions[0].get_session_options().intra_op_num_threads if sessions else None
    count = batch.num_rows
    return (batch.append_column("actor", pa.array([ray.get_runtime_context().get_actor_id()] * count, pa.string()))
            .append_column("models", pa.array([len(rows._taggers)] * count, pa.int64()))
            .append_column("onnx_threads", pa.array([onnx_threads] * count, pa.int64()))
            .append_column("torch_threads", pa.array([torch.get_num_threads() if torch else None] * count, pa.int64())))


def break_on_boom(batch: pa.Table) -> pa.Table:
    """Fused into the tagging actors (as in_the_actor): makes that process's model raise for any
    text holding "BOOM", as a model that fails on some text would."""
    from brandner.tagging import rows

    for tagger in rows._taggers.values():
        if "predict" not in vars(tagger):
            def predict(texts, _predict=tagger.predict, **options):
                if any("BOOM" in text for text in ([texts] if isinstance(texts, str) else texts)):
                    raise RuntimeError("the model broke")
                return _predict(texts, **options)
            tagger.predict = predict
    return batch
