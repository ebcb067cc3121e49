"""The issue's check on real titles: the ecommerce test split's brands, named by a brand list made of
the corpus's own brand lists plus the hand-written aliases in examples/brand_aliases.txt, counted by
``brandner report``. The gold entities stand in for a model's (no training here), so the counts are
known: 耐克 4 times and nike 3 times in 4 titles are Nike, 7 mentions in 4 posts."""

from __future__ import annotations

import csv
import json

import pytest

from brandner.data.corpora import load_split
from brandner.tagging.canonical import CanonicalNames
from tests.conftest import REPO, brandner

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tagged(shared_data, tmp_path_factory):
    """The test titles as ``brandner tag --canonical`` would write them, had it found the gold entities."""
    names = CanonicalNames.read(sorted((shared_data / "ecommerce" / "gazetteers").glob("brand*.dic"))
                                + [REPO / "examples" / "brand_aliases.txt"])
    path = tmp_path_factory.mktemp("ecommerce") / "tagged.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for sentence in load_split("ecommerce", "test", data_dir=shared_data):
            entities = [{"word": sentence.text[s.start:s.end], "type": s.type, "start": s.start, "end": s.end}
                        for s in sentence.spans]
            names.annotate(entities)
            out.write(json.dumps({"string": sentence.text, "entities": entities}, ensure_ascii=False) + "\n")
    return path


def test_the_report_counts_each_brand_under_its_canonical_name(tagged):
    result = brandner("report", str(tagged), "--type", "HP", "--csv", "brands.csv", cwd=tagged.parent)
    assert result.returncode == 0, result.stderr
    with (tagged.parent / "brands.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    [total] = [r for r in rows if r["table"] == "total"]
    assert (total["mentions"], total["posts"]) == ("222", "498")  # the split's HP entities and titles
    counts = {r["name"]: (int(r["mentions"]), int(r["posts"])) for r in rows if r["table"] == "name"}
    # hand-counted in test.txt.bieos: 耐克 ×4 + nike ×3, 安踏 ×3 + anta ×2, 三星 ×3 + samsung ×2, 李宁 ×2
    assert counts["Nike"] == (7, 4) and counts["Anta"] == (5, 3) and counts["Samsung"] == (5, 3)
    assert counts["Li-Ning"] == (2, 2) and counts["Kingston"] == (2, 1) and counts["Converse"] == (2, 1)
    assert "耐克" not in counts and "nike" not in counts and "samsung" not in counts
    assert counts["腾讯"] == (2, 2)  # a bare line of the corpus's lists is its own name
    assert len(counts) == 190  # 200 spellings, 10 of them merged into another
    table = result.stdout[result.stdout.index("names by mentions"):].splitlines()
    assert table[1].split() == ["name", "type", "mentions", "posts", "share"]
    assert table[2].split() == ["Nike", "HP", "7", "4", "3.2%"]  # 7 of 222
