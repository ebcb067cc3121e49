"""The linear-chain CRF: Viterbi, k-best, forward-backward and confidences in numpy, the compiled loss kernel, and a thin torch layer for training. Decoding needs no torch."""
