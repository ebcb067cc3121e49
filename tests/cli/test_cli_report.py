"""``brandner report`` through the real entry point: the table, the CSV and the page of the
hand-made fixture, stdin and folders, and bad input as one ``path:line:`` line with exit 1."""

from __future__ import annotations

import json

from tests.conftest import brandner
from tests.reports import mention_fixture as oracle
from tests.reports.test_mention_tables import EXPECTED_CSV


def test_table_csv_and_page_of_the_fixture(tmp_path):
    posts = oracle.write_fixture(tmp_path / "posts.jsonl")
    result = brandner("report", str(posts), "--time-field", "date", "--period", "week", "--top", "3",
                      "--csv", "out/report.csv", "--html", "out/report.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("13 posts read; 1 error record (posts that failed to tag) skipped.\n")
    assert ("Top 3 of 11 names by mentions\nname  type  mentions  posts  share\nNike  HP           6      5  21.4%\n"
            "卫衣  HC           4      4  14.3%\n") in result.stdout
    # the columns: Nike, 卫衣, 李宁, 跑鞋, Adidas
    assert "2026-03-09      5        12     1     1     1     3       1\n" in result.stdout
    raw = (tmp_path / "out" / "report.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a byte-order mark: spreadsheets read it as UTF-8
    assert raw[3:].decode("utf-8").replace("\r\n", "\n") == EXPECTED_CSV
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg ") == 2 and "<h2>Top 3 of 11 names by mentions</h2>" in page
    assert [p.name for p in (tmp_path / "out").iterdir() if ".partial" in p.name] == []


def test_stdin_folders_and_options(tmp_path):
    posts = oracle.write_fixture(tmp_path / "posts.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    folder = tmp_path / "tagged.json"
    folder.mkdir()
    (folder / "part-00000-a.json").write_text("".join(posts[:7]), encoding="utf-8")
    (folder / "part-00001-a.json").write_text("".join(posts[7:12]), encoding="utf-8")
    (folder / "_SUCCESS").write_text("")
    result = brandner("report", str(folder), "-", "--by", "word", "--type", "HP", "--csv", "-", cwd=tmp_path,
                      stdin="".join(posts[12:]))
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert rows[0] == "table,period,name,type,name_2,mentions,posts" and "posts read" not in result.stdout
    names = {tuple(r.split(",")[2:4]): tuple(map(int, r.split(",")[5:])) for r in rows if r.startswith("name,")}
    assert names == {key: value for key, value in oracle.WORDS.items() if key[1] == "HP"}


def test_bad_input_is_one_line_naming_it(tmp_path):
    posts = oracle.write_fixture(tmp_path / "posts.jsonl")
    lines = posts.read_text(encoding="utf-8").splitlines(keepends=True)
    cases = {
        "not_json.jsonl": ("".join(lines[:3]) + "{oops\n", "not_json.jsonl:4: invalid JSON"),
        "untagged.jsonl": ("".join(lines[:2]) + json.dumps({"text": "耐克"}) + "\n",
                           "untagged.jsonl:3: no 'entities': expected a tagged post"),
        "plain.txt": ("我买了耐克鞋\n", "plain.txt:1: invalid JSON"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        result = brandner("report", name, "--html", "page.html", "--csv", "c.csv", cwd=tmp_path)
        assert result.returncode == 1 and result.stderr == f"brandner: error: {message}" + result.stderr.split(
            message, 1)[1], result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert not (tmp_path / "page.html").exists() and not (tmp_path / "c.csv").exists()
    for arguments, message in [
        (["nowhere.jsonl"], "nowhere.jsonl: No such file or directory"),
        (["posts.jsonl", "--period", "week"], "--period needs --time-field"),
        (["posts.jsonl", "--top", "0"], "--top and --max-pairs must be at least 1"),
        (["posts.jsonl", "--time-field", "date", "--timezone", "Mars/Base"], "unknown time zone 'Mars/Base'"),
        (["-", "-"], "stdin ('-') can be read once"),
    ]:
        result = brandner("report", *arguments, cwd=tmp_path, stdin="")
        assert result.returncode == 1 and result.stderr.startswith(f"brandner: error: {message}"), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
