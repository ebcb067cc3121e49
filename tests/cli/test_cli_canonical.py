"""``brandner tag --canonical``: in this process and in worker processes, and a bad list's error."""

from __future__ import annotations

import json

import pytest

from tests.conftest import brandner

pytestmark = pytest.mark.slow


@pytest.fixture
def folder(tmp_path, tiny_model):
    (tmp_path / "brands.txt").write_text("特步\tXtep\n耐克\tNike\nNIKE\tNike\n", encoding="utf-8")
    (tmp_path / "posts.txt").write_text("我买了特步鞋\n昨天在店里看到耐克和安踏\n" * 3, encoding="utf-8")
    (tmp_path / "model.pt").symlink_to(tiny_model)
    return tmp_path


@pytest.mark.parametrize("workers", ["1", "2"])
def test_entities_the_list_names_carry_their_canonical_name(folder, workers):
    result = brandner("tag", "-m", "model.pt", "-i", "posts.txt", "--canonical", "brands.txt", "--workers", workers,
                      cwd=folder)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    found = {(e["word"], e.get("canonical")) for line in lines for e in line["entities"]}
    assert found == {("特步", "Xtep"), ("耐克", "Nike"), ("安踏", None)}


def test_a_bad_brand_list_is_one_line_and_exit_1(folder):
    (folder / "bad.txt").write_text("特步\tXtep\n苹果\tApple\tInc\n", encoding="utf-8")
    result = brandner("tag", "-m", "model.pt", "--canonical", "bad.txt", "我买了特步鞋", cwd=folder)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == ("brandner: error: bad.txt:2: a line is a name, or an alias, a tab and its "
                                     "canonical name; got 2 tab(s) and 3 name(s)")
