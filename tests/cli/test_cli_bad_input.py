"""Bad input files through the real entry point: one line ``path:line: what`` and exit 1, never a
traceback; ``tag -i --on-error`` keeping what was tagged before a bad line, or skipping it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SMALL, brandner, synthetic_sentences, write_jsonl

DEEP = '{"string": "特步", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
LONG_NUMBER = '{"string": "特步", "entities": [{"type": "X", "start": ' + "1" * 5000 + ', "end": 2}]}'
NESTED = "JSON nested deeper than 100 levels"
DIGITS = "invalid JSON: exceeds the limit (4300 digits) for integer string conversion"


def one_line_error(result, message: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [f"brandner: error: {message}"]


@pytest.fixture
def work(tmp_path, tiny_model):
    write_jsonl(tmp_path / "good.jsonl", synthetic_sentences(10))
    good = (tmp_path / "good.jsonl").read_text(encoding="utf-8").splitlines()
    for name, line in (("deep.jsonl", DEEP), ("long.jsonl", LONG_NUMBER)):
        (tmp_path / name).write_text("\n".join(good[:2] + [line] + good[2:]) + "\n", encoding="utf-8")
    return tmp_path, str(tiny_model)


@pytest.mark.parametrize("name, what", [("deep.jsonl", NESTED), ("long.jsonl", DIGITS)])
@pytest.mark.parametrize("command", ["evaluate", "train", "tag", "convert"])
def test_json_past_pythons_limits_is_one_line_in_every_command(work, name, what, command):
    folder, model = work
    args = {"evaluate": ["evaluate", "-m", model, "--file", name],
            "train": ["train", "--train", name, "--dev", "good.jsonl", *SMALL, "-o", "m.pt"],
            "tag": ["tag", "-m", model, "-i", name],
            "convert": ["convert", name, "out.txt"]}[command]
    result = brandner(*args, cwd=folder)
    one_line_error(result, f"{name}:3: {what}")
    if command == "tag":  # the two lines before it are tagged and written
        assert [json.loads(line)["string"] for line in result.stdout.splitlines()] == [
            s.text for s in synthetic_sentences(2)]


def test_an_error_about_a_long_line_is_short(work):
    folder, _ = work
    (folder / "long.txt").write_text("特\tB-HP\n" + "步" * 200_000 + "\tE-HP\n", encoding="utf-8")
    result = brandner("convert", "long.txt", "out.jsonl", cwd=folder)
    assert result.returncode == 1 and len(result.stderr) < 300
    assert result.stderr.startswith("brandner: error: long.txt:2: token '步步步") and "…" in result.stderr


def posts(count: int, bad_at: int) -> str:
    lines = [json.dumps({"string": f"我买了特步鞋{n}", "n": n}, ensure_ascii=False) for n in range(1, count + 1)]
    lines[bad_at - 1] = '{"string": "broken'
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_fail_keeps_every_line_before_the_bad_one(work, workers):
    folder, model = work
    (folder / "posts.jsonl").write_text(posts(2500, 2001), encoding="utf-8")
    error = "posts.jsonl:2001: invalid JSON: Unterminated string starting at (column 12)"
    to_stdout = brandner("tag", "-m", model, "-i", "posts.jsonl", "--workers", workers, cwd=folder)
    one_line_error(to_stdout, error)
    assert [json.loads(line)["n"] for line in to_stdout.stdout.splitlines()] == list(range(1, 2001))
    to_file = brandner("tag", "-m", model, "-i", "posts.jsonl", "-o", "out.jsonl", "--workers", workers, cwd=folder)
    one_line_error(to_file, f"{error}; out.jsonl holds the 2000 lines before it")
    assert (folder / "out.jsonl").read_text(encoding="utf-8") == to_stdout.stdout
    assert [p.name for p in folder.iterdir() if "out.jsonl" in p.name] == ["out.jsonl"]  # no partial file left


@pytest.mark.parametrize("workers", ["1", "2"])
def test_skip_writes_an_error_record_in_place_and_counts(work, workers):
    folder, model = work
    text = posts(2500, 2001).replace('{"string": "我买了特步鞋7", "n": 7}', "[7]")
    (folder / "posts.jsonl").write_text(text, encoding="utf-8")
    result = brandner("tag", "-m", model, "-i", "posts.jsonl", "-o", "out.jsonl", "--on-error", "skip",
                      "--workers", workers, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "WARNING: posts.jsonl: 2 lines skipped, an error record in the place of each; the first: "
        "posts.jsonl:7: expected a JSON object, got an array"]
    out = [json.loads(line) for line in (folder / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(out) == 2500
    assert out[6] == {"error": "posts.jsonl:7: expected a JSON object, got an array", "line": 7}
    assert out[2000] == {"error": "posts.jsonl:2001: invalid JSON: Unterminated string starting at (column 12)",
                         "line": 2001}
    assert [o["n"] for o in out if "n" in o] == [n for n in range(1, 2501) if n not in (7, 2001)]


@pytest.mark.parametrize("text", ["", "\n \n\n"])
@pytest.mark.parametrize("command", ["evaluate", "train", "train-dev"])
def test_an_empty_set_is_an_error(work, text, command):
    folder, model = work
    (folder / "empty.jsonl").write_text(text, encoding="utf-8")
    args = {"evaluate": ["evaluate", "-m", model, "--file", "empty.jsonl"],
            "train": ["train", "--train", "empty.jsonl", "--dev", "good.jsonl", *SMALL, "-o", "m.pt"],
            "train-dev": ["train", "--train", "good.jsonl", "--dev", "empty.jsonl", *SMALL, "-o", "m.pt"]}[command]
    one_line_error(brandner(*args, cwd=folder), "empty.jsonl: no sentences")


def test_a_bad_entity_type_is_one_line(work):
    folder, _ = work
    (folder / "types.txt").write_text("特\tB-H\u200bP\n步\tE-H\u200bP\n", encoding="utf-8")
    one_line_error(brandner("convert", "types.txt", "out.jsonl", cwd=folder),
                   "types.txt:1: tag 'B-H\\u200bP': entity type 'H\\u200bP' holds white space or a character "
                   "that is not printable")
