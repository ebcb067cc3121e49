"""Training: the loop (events, no I/O), serial and parallel steps, the whole job (best model,
resume, summary), optimisers, word vectors."""
