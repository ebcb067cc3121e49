"""``brandner corpus`` and ``brandner convert`` through the real entry point, in a temp directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from brandner.data.formats import read_file


def brandner(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``python -m brandner.cli.main ARGS`` in ``tmp_path``: offline, no data root or cache of the user."""
    env = {**os.environ, "BRANDNER_DATA": str(tmp_path / "data"), "BRANDNER_MIRROR": "http://127.0.0.1:9",
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "brandner.cli.main", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_corpus_list(tmp_path: Path) -> None:
    done = brandner(tmp_path, "corpus", "list")
    assert done.returncode == 0, done.stderr
    names = [line.split()[0] for line in done.stdout.splitlines() if not line.startswith(" ")]
    assert names == ["ecommerce", "weibo", "resume", "msra", "peoples-daily", "cluener", "brands-sample"]


def test_corpus_stats_json(shared_data: Path, tmp_path: Path) -> None:
    done = brandner(tmp_path, "corpus", "stats", "brands-sample", "--data-dir", str(shared_data), "--json")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert [stats[s]["sentences"] for s in ("train", "dev", "test")] == [22, 12, 10]
    assert stats["dev"]["entities"] == {"CLOTHES": 3, "DIGITAL": 8, "FACIAL_MASK": 1, "SHOE": 1}


def test_corpus_stats_of_an_unknown_corpus_is_one_line(tmp_path: Path) -> None:
    done = brandner(tmp_path, "corpus", "stats", "conll")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "brandner: error: unknown corpus 'conll'; known corpora: "
        "ecommerce, weibo, resume, msra, peoples-daily, cluener, brands-sample"]


def test_convert_round_trip_keeps_every_entity(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "ecommerce" / "dev.txt.bieos"  # IOBES, with literal spaces
    first = brandner(tmp_path, "convert", str(source), "dev.jsonl")
    second = brandner(tmp_path, "convert", "dev.jsonl", "dev.bio", "--to-scheme", "bio")
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert first.stdout == "dev.jsonl: 500 sentences, 1540 entities (jsonl)\n"
    assert second.stdout == "dev.bio: 500 sentences, 1540 entities (columns, BIO)\n"
    back = read_file(tmp_path / "dev.bio")
    assert back.scheme.name == "BIO" and back.sentences == read_file(source).sentences


def test_convert_error_is_one_line_with_path_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("特 B-SHOE\n步 I-SHOE\n鞋 X-SHOE\n", encoding="utf-8")
    done = brandner(tmp_path, "convert", "bad.txt", "out.jsonl", "--to", "cluener")
    assert done.returncode == 1 and not (tmp_path / "out.jsonl").exists()
    assert done.stderr.splitlines() == [
        "brandner: error: bad.txt:3: tag 'X-SHOE' has prefix 'X', not one of B/I (BIO); "
        "the BIO scheme was detected from the file's tags"]
