"""benchmarks/hot_swap.py: invented brands in real titles, found before and after they join the list."""

from __future__ import annotations

import random
import subprocess
import sys

from benchmarks.hot_swap import BRAND_CHARACTERS, TYPE, invented_names, recall, swapped, table
from brandner import Tagger
from brandner.data.sentence import Sentence, Span
from tests.conftest import REPO, train_tiny


def test_invented_names_are_new_different_and_made_of_brand_characters():
    taken = {"宝丽", "雅美"}
    names = invented_names(50, taken, random.Random(0), known_text="我买了康佳电视")
    assert len(set(names)) == 50 and not set(names) & taken and "康佳" not in names
    assert all(2 <= len(n) <= 4 and set(n) <= set(BRAND_CHARACTERS) for n in names)
    assert names == invented_names(50, taken, random.Random(0), known_text="我买了康佳电视")


def test_the_first_brand_of_each_title_with_one_is_swapped():
    sentences = [Sentence("耐克和安踏的鞋", (Span(0, 2, TYPE), Span(3, 5, TYPE))), Sentence("好鞋", ()),
                 Sentence("新款李宁卫衣", (Span(2, 4, TYPE), Span(4, 6, "HC")))]
    assert swapped(sentences, ["宝丽雅", "凯迪"]) == [("宝丽雅和安踏的鞋", 0, 3), ("新款凯迪卫衣", 2, 4)]


def test_recall_counts_exact_spans_of_the_type(tmp_path):
    tagger = Tagger.load(train_tiny(tmp_path / "tiny.pt"))  # finds SHOE and DIGITAL brands, never HP
    assert recall(tagger, [("我买了特步鞋", 3, 5)]) == 0.0


def test_the_table_gives_the_gain_in_points():
    lines = table([{"model": "m.pt", "titles": 60, "before": 0.38, "after": 0.58}]).splitlines()
    assert lines[-1] == "| m.pt | 60 | 38.0 | 58.0 | +20.0 |"


def test_a_small_run_on_a_model_with_a_brand_list(shared_data, tmp_path):
    brands = shared_data / "ecommerce" / "gazetteers" / "brand1.dic"
    model = tmp_path / "model.pt"
    train = subprocess.run([sys.executable, "-m", "brandner.cli.main", "train", "--corpus", "ecommerce",
                            "--data-dir", str(shared_data), "--gazetteer", f"{TYPE}={brands}", "--epochs", "1",
                            "--set", "char_dim=8", "--set", "hidden_size=8", "--set", "seg_dim=4",
                            "--set", "bigram_dim=0", "-o", str(model)], capture_output=True, text=True, timeout=600)
    assert train.returncode == 0, train.stderr
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "hot_swap.py"), "-m", str(model), "--titles",
                             "20", "--no-write", "--data-dir", str(shared_data)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert "| model.pt | 20 | " in result.stdout
