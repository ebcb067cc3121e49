"""Choosing posts to annotate: ranks against a brute-force oracle, near-duplicates, bounded memory."""

import random

import numpy as np
import pytest

from brandner.data.near_duplicates import NearDuplicates, jaccard, shingles
from brandner.errors import InputFileError
from brandner.tagging.selection import Chosen, _Best, least_confidence, select, uncertainties
from brandner.tagging.streaming import BadLine
from brandner.tagging.tagger import Tagger


def test_least_confidence_is_one_minus_the_weakest_characters_best_tag():
    marginals = np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.1, 0.8, 0.1]])
    assert least_confidence(marginals) == pytest.approx(0.6)
    assert least_confidence(np.eye(3)) == pytest.approx(0.0)
    assert least_confidence(np.zeros((0, 3))) == 0.0


def _families(count: int, seed: int) -> list[str]:
    """Posts in families of near-copies (one, two or three exclamation marks more: every two of a
    family are near-duplicates); different families share almost no bigram (each draws from its
    own slice of characters)."""
    rng = random.Random(seed)
    pool = [chr(c) for c in range(0x4E00, 0x4E00 + 4000)]
    posts = []
    for family in range(count):
        alphabet = pool[family * 30:(family + 1) * 30]
        base, ending = [rng.choice(alphabet) for _ in range(20)], rng.choice(["特步鞋", "我买了耐克", "李宁的新款", ""])
        for marks in range(rng.randint(1, 3)):
            posts.append("".join(base) + ending + "!" * marks)
    rng.shuffle(posts)
    return posts


def _greedy_oracle(posts: list[str], priorities: list[float], count: int, threshold: float) -> list[int]:
    """Line numbers of the best-ranked posts, skipping any near-duplicate of one taken, by brute force."""
    order = sorted(range(len(posts)), key=lambda i: (-priorities[i], i))
    taken: list[int] = []
    for i in order:
        if all(jaccard(shingles(posts[i]), shingles(posts[j])) < threshold for j in taken):
            taken.append(i)
        if len(taken) == count:
            break
    return [i + 1 for i in taken]


@pytest.mark.parametrize("count", [1, 5, 40, 1000])
def test_uncertainty_choice_equals_the_brute_force_oracle(tiny_model, count):
    tagger = Tagger.load(tiny_model)
    posts = _families(60, seed=count)
    chosen = select(tagger, [(p, {}) for p in posts], count, chunk_size=7)
    expected = _greedy_oracle(posts, uncertainties(tagger, posts), count, 0.8)
    assert sorted(c.line for c in chosen) == sorted(expected)  # the order of near-ties may differ: batches
    assert [c.priority for c in chosen] == sorted((c.priority for c in chosen), reverse=True)
    assert len(chosen) == min(count, 60)  # one per family at most, and every family has one


def test_random_choice_depends_on_the_seed_only(tiny_model):
    tagger = Tagger.load(tiny_model)
    posts = [(f"第{i}条帖子说了{chr(0x4E00 + 7 * i)}{chr(0x4F00 + 11 * i)}的事情", {"id": i}) for i in range(300)]
    first = select(tagger, posts, 20, "random", seed=1)
    again = select(tagger, posts, 20, "random", seed=1, chunk_size=13)
    other = select(tagger, posts, 20, "random", seed=2)
    assert [c.line for c in first] == [c.line for c in again] != [c.line for c in other]
    assert all(c.fields == {"id": c.line - 1} for c in first)
    rng = random.Random(1)
    draws = [rng.random() for _ in posts]  # the oracle: the 20 highest draws (no near-duplicates here)
    assert [c.line for c in first] == sorted(range(1, 301), key=lambda line: -draws[line - 1])[:20]


def test_blank_posts_are_never_chosen_and_fewer_posts_than_asked_are_all_chosen(tiny_model):
    tagger = Tagger.load(tiny_model)
    chosen = select(tagger, [("我买了特步鞋", {}), ("   ", {}), ("", {}), ("推荐华为给大家", {})], 10)
    assert sorted(c.line for c in chosen) == [1, 4]


def test_a_line_that_cannot_be_read_stops_the_choice_with_its_error(tiny_model):
    bad = BadLine(InputFileError("posts.jsonl", 2, "invalid JSON"))
    with pytest.raises(InputFileError, match="posts.jsonl:2: invalid JSON"):
        select(Tagger.load(tiny_model), [("我买了特步鞋", {}), bad], 1)


def test_arguments_are_checked(tiny_model):
    tagger = Tagger.load(tiny_model)
    with pytest.raises(ValueError, match="strategy"):
        select(tagger, [], 1, "smart")
    with pytest.raises(ValueError, match="count"):
        select(tagger, [], 0)


def test_the_best_so_far_hold_count_posts_however_many_are_offered():
    best = _Best(10, NearDuplicates(0.8))
    rng = random.Random(0)
    biggest_heap = 0
    for line in range(1, 20001):
        text = "".join(chr(0x4E00 + rng.randrange(3000)) for _ in range(12))
        best.offer(Chosen(text, {}, line, rng.random()))
        assert len(best.alive) <= 10 and len(best.seen) <= 10
        biggest_heap = max(biggest_heap, len(best.heap))
    assert biggest_heap <= 2 * 10 + 1024 + 1


def test_a_better_near_duplicate_displaces_the_one_held():
    best = _Best(2, NearDuplicates(0.8))
    best.offer(Chosen("特步男鞋新款跑步鞋透气", {}, 1, 0.5))
    best.offer(Chosen("李宁羽毛球拍", {}, 2, 0.1))
    best.offer(Chosen("特步男鞋新款跑步鞋透气!", {}, 3, 0.9))  # nearly post 1, ranked higher
    best.offer(Chosen("特步男鞋新款跑步鞋透气。", {}, 4, 0.2))  # nearly post 3, ranked lower
    assert [c.line for c in best.ranked()] == [3, 2]
