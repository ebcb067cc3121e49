"""The linear-chain CRF: decoding, marginals and confidences in numpy (no torch needed to decode),
the compiled loss kernel, and a thin torch layer for training."""
