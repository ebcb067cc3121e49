"""benchmarks/common.py: a benchmark rewrites its own section of the benchmark page, nothing else."""

from __future__ import annotations

from benchmarks.common import rewrite_section


def test_a_section_is_replaced_in_place_and_a_new_one_appended(tmp_path):
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n\nIntro.\n\n## a.py: one\n\nold a\n\n## b.py: two\n\nold b\n", encoding="utf-8")
    rewrite_section("## a.py: one\n\nnew a\n", page)
    assert page.read_text(encoding="utf-8") == "# Benchmarks\n\nIntro.\n\n## a.py: one\n\nnew a\n\n## b.py: two\n\nold b\n"
    rewrite_section("## a.py: three\n\nthird\n", page)  # another measurement of the same script: its own section
    text = page.read_text(encoding="utf-8")
    assert text.endswith("## b.py: two\n\nold b\n\n## a.py: three\n\nthird\n") and text.count("new a") == 1


def test_the_page_is_created_when_missing(tmp_path):
    rewrite_section("## a.py: one\n\nfigures\n", tmp_path / "docs" / "benchmarks.md")
    assert (tmp_path / "docs" / "benchmarks.md").read_text(encoding="utf-8") == "# Benchmarks\n\n## a.py: one\n\nfigures\n"
