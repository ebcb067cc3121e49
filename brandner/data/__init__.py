"""Data in: corpus files and raw text -> Sentence(text, spans) -> ids, features, padded batches; span metrics."""
