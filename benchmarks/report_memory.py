"""`brandner report` over large files: peak memory and time as the file grows.

    python benchmarks/report_memory.py                         # 100,000 and 1,000,000 lines
    python benchmarks/report_memory.py --lines 1000 10000 --no-write

Issue: "report over 1,000,000 tagged lines runs in bounded memory (peak RSS measured)". For
each line count a file of that many tagged posts is generated as ``brandner tag`` writes them:
the ecommerce titles (train, dev and test, over and over) with their gold entities as the
tagged entities, a score each, a ``canonical`` name on the brand entities of a few hundred
brands (the most frequent HP words, and eighteen brands under a Latin name shared by
their aliases), a ``date`` drawn over 2025 (ISO dates, some ISO times with an offset, some missing),
and an error record (``tag --on-error skip``'s) every 1,000 lines. Then

    brandner report FILE --time-field date --period week --csv OUT.csv --html OUT.html

runs in a child process under GNU time (``/usr/bin/time -f "%M %e"``), which records its peak
resident memory (the kernel's high-water mark of that one process) and its wall time. Memory is bounded
when the peak does not grow with the line count: the ratio column divides each peak by the
first run's. The counts are checked against the generator's (posts, errors and mentions in the
CSV's ``total`` row). The table replaces this script's section of docs/benchmarks.md unless
``--no-write``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import random
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import brandner_command, default_data_dir, publish  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402
from brandner.data.sentence import Sentence  # noqa: E402

# Brands known under a Latin name, each alias the corpus may use for it.
LATIN = {"Nike": ("耐克", "nike", "NIKE"), "Adidas": ("阿迪达斯", "阿迪", "adidas"), "Li-Ning": ("李宁",),
         "Anta": ("安踏", "anta"), "Xiaomi": ("小米",), "Huawei": ("华为",), "Apple": ("苹果", "apple"),
         "Samsung": ("三星", "samsung"), "Lenovo": ("联想",), "Philips": ("飞利浦",), "Canon": ("佳能", "canon"),
         "Sony": ("索尼", "sony"), "Dell": ("戴尔", "dell"), "Midea": ("美的", "midea"), "Casio": ("卡西欧", "casio"),
         "Gree": ("格力", "gree"), "Haier": ("海尔", "haier"), "Hisense": ("海信", "hisense")}
BRANDS = 300
TIME = "/usr/bin/time"  # GNU time (Debian's package "time")
YEAR = 2025


@dataclass(frozen=True)
class Generated:
    lines: int
    posts: int
    errors: int
    mentions: int


@dataclass(frozen=True)
class Run:
    lines: int
    megabytes: float  # the input file
    seconds: float
    peak_mb: float
    names: int
    name_periods: int  # (name, type, week) counts
    pairs: int

    @property
    def rate(self) -> float:
        return self.lines / self.seconds


def canonical_names(sentences: Sequence[Sentence], brands: int = BRANDS) -> dict[str, str]:
    """word -> canonical name: every :data:`LATIN` alias found as an HP word, under its Latin name,
    and the ``brands`` most frequent HP words, each under its own name (a brand list's bare name)."""
    latin = {alias: name for name, aliases in LATIN.items() for alias in aliases}
    found = Counter(s.text[span.start:span.end].strip() for s in sentences for span in s.spans if span.type == "HP")
    names = {word: word for word, _ in found.most_common(brands)}
    return names | {word: latin[word] for word in found if word in latin}


def tagged_lines(sentences: Sequence[Sentence], canonical: dict[str, str], lines: int, seed: int = 0,
                 counted: list[Generated] | None = None) -> Iterator[str]:
    """``lines`` JSON lines as ``brandner tag`` writes them (see the module's docstring); what was
    generated is appended to ``counted`` at the end."""
    rng = random.Random(seed)
    first = datetime.date(YEAR, 1, 1).toordinal()
    posts = errors = mentions = 0
    for i in range(lines):
        if i % 1000 == 999:
            errors += 1
            yield json.dumps({"error": f"posts.jsonl:{i + 1}: not UTF-8 text", "line": i + 1})
            continue
        sentence = sentences[i % len(sentences)]
        entities = []
        for span in sentence.spans:
            word = sentence.text[span.start:span.end]
            entity = {"word": word, "type": span.type, "start": span.start, "end": span.end,
                      "score": round(rng.uniform(0.5, 1.0), 4)}
            if word.strip() in canonical:  # a brand list matches '索尼 ' (a gold span with a blank) as '索尼'
                entity["canonical"] = canonical[word.strip()]
            entities.append(entity)
        record = {"string": sentence.text, "id": i, "entities": entities}
        draw = rng.random()
        day = datetime.date.fromordinal(first + rng.randrange(365))
        if draw < 0.85:
            record["date"] = day.isoformat()
        elif draw < 0.97:
            record["date"] = f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00+08:00"
        posts += 1
        mentions += len(entities)
        yield json.dumps(record, ensure_ascii=False)
    if counted is not None:
        counted.append(Generated(lines, posts, errors, mentions))


def write_tagged(sentences: Sequence[Sentence], canonical: dict[str, str], lines: int, path: Path) -> Generated:
    counted: list[Generated] = []
    with path.open("w", encoding="utf-8") as out:
        for line in tagged_lines(sentences, canonical, lines, counted=counted):
            out.write(line + "\n")
    return counted[0]


def run_report(source: Path, folder: Path, lines: int) -> tuple[Run, dict[str, tuple[int, int]]]:
    """``brandner report`` over ``source`` in a child process under ``/usr/bin/time``: its peak RSS
    and wall time, and the CSV's ``total`` row (mentions, posts). Not ``wait4`` from here: a child
    forked from this process (torch loaded) starts with its resident memory, and the kernel's
    high-water mark keeps it past ``exec``."""
    csv_path, html_path, measured = folder / "report.csv", folder / "report.html", folder / "time.txt"
    command = [TIME, "-f", "%M %e", "-o", str(measured), *brandner_command(), "report", str(source),
               "--time-field", "date", "--period", "week", "--csv", str(csv_path), "--html", str(html_path)]
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise SystemExit(f"brandner report failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    kilobytes, seconds = measured.read_text().split()[-2:]  # the last line: a failure adds one before it
    tables: Counter = Counter()
    totals = {}
    with csv_path.open(encoding="utf-8-sig", newline="") as rows:
        for row in csv.DictReader(rows):
            tables[row["table"]] += 1
            if row["table"] == "total":
                totals["total"] = (int(row["mentions"]), int(row["posts"]))
    run = Run(lines, source.stat().st_size / 2**20, float(seconds), int(kilobytes) / 1024, tables["name"],
              tables["name_period"], tables["pair"])
    return run, totals


def check(generated: Generated, totals: dict[str, tuple[int, int]]) -> None:
    if totals.get("total") != (generated.mentions, generated.posts):
        raise SystemExit(f"report counted {totals.get('total')} (mentions, posts) of {generated.lines} lines; "
                         f"generated {(generated.mentions, generated.posts)}")


def table(runs: Sequence[Run], canonical: dict[str, str], sentences: int) -> str:
    rows = ["| lines | input MB | seconds | lines/s | peak RSS MB | peak / first run's | names | names x weeks "
            "| pairs |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    rows += [f"| {r.lines:,} | {r.megabytes:.0f} | {r.seconds:.1f} | {r.rate:,.0f} | {r.peak_mb:.0f} | "
             f"{r.peak_mb / runs[0].peak_mb:.2f} | {r.names:,} | {r.name_periods:,} | {r.pairs:,} |" for r in runs]
    return (f"`brandner report FILE --time-field date --period week --csv OUT.csv --html OUT.html` in a child "
            f"process; peak RSS and seconds: `/usr/bin/time -f '%M %e'`. FILE: the {sentences:,} ecommerce titles "
            f"over and over with their gold entities, {len(set(canonical.values()))} canonical brand names, dates "
            f"over {YEAR}, an error record every 1,000 lines; each run's totals checked against the generator's. "
            f"Memory grows with the distinct names, names per week and pairs (the last three columns), not with "
            f"the lines.\n\n"
            + "\n".join(rows) + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--data-dir", default=default_data_dir(), help="corpora root (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    if not os.access(TIME, os.X_OK):
        raise SystemExit(f"{TIME} not found: this measures with GNU time (apt-get install time)")
    sentences = [s for split in ("train", "dev", "test") for s in load_split("ecommerce", split, args.data_dir)]
    canonical = canonical_names(sentences)
    runs = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for lines in args.lines:
            source = folder / "tagged.jsonl"
            generated = write_tagged(sentences, canonical, lines, source)
            run, totals = run_report(source, folder, lines)
            check(generated, totals)
            runs.append(run)
            source.unlink()
    publish("`brandner report` over large files: peak memory and time", table(runs, canonical, len(sentences)),
            write=not args.no_write)


if __name__ == "__main__":
    main()
