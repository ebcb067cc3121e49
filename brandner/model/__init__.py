"""The network: tensors in, tensors out (no files, vocabularies or printing)."""
