"""What confidence costs: tagging throughput with and without entity scores, n-best and marginals.

    python benchmarks/scores.py                          # ecommerce, a model trained for 2 epochs here
    python benchmarks/scores.py --model model.pt --sentences 5000 --rounds 5

Tags ``--sentences`` raw strings (the corpus's dev and test sentences, repeated as needed)
in process, at one torch thread, from strings to result dicts, with
``Tagger.predict(texts)`` (the reference: plain Viterbi), ``predict(texts, scores=True)``,
``predict(texts, nbest=K)`` and ``marginals(texts)``. The modes take turns in every round
over slices of about 1,000 texts so that all see the same machine load; a mode's time is
the sum over slices of its best round, and its rate is given as a ratio of the plain rate
in the same run. A second table times the decoding step
alone on the same batches' emissions, computed once beforehand (numpy only: Viterbi and
span reading as the reference, then what scores, n-best and marginals do instead), since
the network's share of the whole hides it. The model only needs to be a realistic
size and to find entities: the default network, trained briefly, unless ``--model``.
The table replaces this script's section of docs/benchmarks.md unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import default_data_dir, publish  # noqa: E402
from brandner.config import load_config  # noqa: E402
from brandner.crf.confidence import entity_probabilities, tag_probabilities  # noqa: E402
from brandner.crf.decoding import kbest_viterbi, viterbi  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402
from brandner.tagging.tagger import Tagger  # noqa: E402
from brandner.training.job import fit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="ecommerce")
    parser.add_argument("--model", help="a trained model file (default: train one for --epochs)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--sentences", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nbest", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as work:
        model = args.model or train(args.corpus, args.epochs, args.data_dir, Path(work) / "model.pt")
        tagger = Tagger.load(model, batch_size=args.batch_size)
        pool = [s.text for split in ("dev", "test") for s in load_split(args.corpus, split, args.data_dir)]
        texts = list(islice(cycle(pool), args.sentences))
        # the texts in slices of about 1,000: each mode's time is the sum over slices of its best
        # round, so a burst of load from elsewhere spoils one slice's round, not a whole run
        slices = [texts[i:i + 1000] for i in range(0, len(texts), 1000)]
        fitting = [[t for t in part if len(t) <= tagger.config.max_chunk_length] for part in slices]  # n-best: 1 chunk
        modes: dict[str, Callable[[int], object]] = {
            "predict (reference)": lambda i: tagger.predict(slices[i]),
            "predict, scores=True": lambda i: tagger.predict(slices[i], scores=True),
            "predict, min_score=0.5": lambda i: tagger.predict(slices[i], min_score=0.5),
            f"predict, nbest={args.nbest}": lambda i: tagger.predict(fitting[i], nbest=args.nbest),
            f"predict, nbest={args.nbest}, scores=True": lambda i: tagger.predict(fitting[i], nbest=args.nbest,
                                                                                 scores=True),
            "marginals": lambda i: tagger.marginals(slices[i]),
            "predict again (noise floor)": lambda i: tagger.predict(slices[i]),
        }
        fits = [t for part in fitting for t in part]
        sizes = {name: len(fits) if "nbest" in name else len(texts) for name in modes}
        slice_best = {name: [float("inf")] * len(slices) for name in modes}
        tagger.predict(texts[:512], scores=True)  # warm-up
        for _ in range(args.rounds):
            for i in range(len(slices)):
                for name, run in modes.items():
                    began = time.perf_counter()
                    run(i)
                    slice_best[name][i] = min(slice_best[name][i], time.perf_counter() - began)
        best = {name: sum(times) for name, times in slice_best.items()}
        decoding = time_decoding(tagger, texts, fits, args.nbest, args.rounds)

    entities = sum(len(r["entities"]) for r in tagger.predict(texts))
    reference = sizes["predict (reference)"] / best["predict (reference)"]
    rows = ["| mode | sentences | seconds (best rounds) | sentences/s | / reference |", "|---|---|---|---|---|"]
    for name in modes:
        rate = sizes[name] / best[name]
        rows.append(f"| {name} | {sizes[name]:,} | {best[name]:.3f} | {rate:,.0f} | {rate / reference:.2f}x |")
    body = (f"{args.corpus} dev+test strings repeated to {len(texts):,} ({entities:,} entities found), "
            f"batch {args.batch_size}, {args.rounds} rounds, model "
            f"{'given' if args.model else f'trained here for {args.epochs} epochs (default network)'}.\n\n"
            + "\n".join(rows) + "\n\nDecoding alone (emissions computed beforehand; numpy):\n\n"
            + "| step | sentences | seconds (best round) | sentences/s | / reference |\n|---|---|---|---|---|\n"
            + "\n".join(f"| {name} | {size:,} | {seconds:.3f} | {size / seconds:,.0f} | "
                        f"{(size / seconds) / (decoding[0][1] / decoding[0][2]):.2f}x |"
                        for name, size, seconds in decoding) + "\n")
    publish('cost of entity scores, n-best and marginals against plain tagging', body, write=not args.no_write)


def time_decoding(tagger: Tagger, texts: list[str], fits: list[str], k: int,
                  rounds: int) -> list[tuple[str, int, float]]:
    """``(step, sentences, best seconds)`` for the numpy decoding steps over the texts' batches."""
    crf = tagger.backend.crf_scores()
    assert crf is not None, "the decoding table needs a CRF model"
    batches = [(emissions, lengths) for _, emissions, lengths in tagger.scored_batches(texts)]
    fit_batches = [(emissions, lengths) for _, emissions, lengths in tagger.scored_batches(fits)]

    def spans(emissions, lengths):
        paths = viterbi(emissions, lengths, *crf)[0]
        return paths, tagger.encoder.batch_valid_spans(paths, lengths)

    def scored(emissions, lengths):
        paths, found = spans(emissions, lengths)
        entity_probabilities(emissions, lengths, crf, paths, found)

    steps: list[tuple[str, list, Callable]] = [
        ("Viterbi + spans (reference)", batches, spans),
        ("Viterbi + spans + span probabilities", batches, scored),
        (f"k-best Viterbi, k={k}", fit_batches, lambda e, n: kbest_viterbi(e, n, *crf, k)),
        ("forward-backward marginals", batches, lambda e, n: tag_probabilities(e, n, crf)),
    ]
    best = [float("inf")] * len(steps)
    for _ in range(rounds):
        for i, (_, work, step) in enumerate(steps):
            began = time.perf_counter()
            for emissions, lengths in work:
                step(emissions, lengths)
            best[i] = min(best[i], time.perf_counter() - began)
    return [(name, len(texts) if work is batches else len(fits), seconds)
            for (name, work, _), seconds in zip(steps, best)]


def train(corpus: str, epochs: int, data_dir: str, output: Path) -> Path:
    config = load_config(None, [f"max_epochs={epochs}"])
    fit(load_split(corpus, "train", data_dir), load_split(corpus, "dev", data_dir), config, output)
    return output


if __name__ == "__main__":
    main()
