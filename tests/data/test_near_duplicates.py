"""Near-duplicate lookup against the brute-force oracle (every pair's exact Jaccard similarity)."""

import random

import pytest

from brandner.data.near_duplicates import NearDuplicates, jaccard, rows_per_band, shingles


def test_shingles_are_normalised_bigrams_without_white_space():
    assert shingles("ＮＩＫＥ 2024") == shingles("nike2023") == frozenset({"ni", "ik", "ke", "e0", "00"})
    assert shingles("鞋") == frozenset({"鞋"}) and shingles("  ") == frozenset()
    assert jaccard(frozenset(), frozenset()) == 1.0
    assert jaccard(frozenset("ab"), frozenset("bc")) == pytest.approx(1 / 3)


def _variants(rng: random.Random, count: int) -> list[str]:
    """Texts in families: a random base and copies with a few characters changed."""
    alphabet = "特步李宁耐克安踏鞋包男女新款运动跑步休闲夏季透气官方旗舰店正品"
    texts = []
    for _ in range(count // 4):
        base = "".join(rng.choice(alphabet) for _ in range(rng.randint(8, 24)))
        texts.append(base)
        for _ in range(3):
            chars = list(base)
            for _ in range(rng.randint(0, 4)):
                chars[rng.randrange(len(chars))] = rng.choice(alphabet)
            texts.append("".join(chars))
    return texts


@pytest.mark.parametrize("threshold", [0.5, 0.8, 1.0])
def test_find_agrees_with_the_brute_force_oracle(threshold):
    rng = random.Random(7)
    texts = _variants(rng, 400)
    seen = NearDuplicates(threshold, seed=3)
    kept: dict[int, frozenset] = {}
    missed = found = 0
    for key, text in enumerate(texts):
        grams = shingles(text)
        oracle = {k for k, g in kept.items() if jaccard(grams, g) >= threshold}
        answer = seen.find(text)
        if answer is not None:  # never a false alarm, and the most similar one
            assert answer in oracle
            assert jaccard(grams, kept[answer]) == max(jaccard(grams, kept[k]) for k in oracle)
            found += 1
        elif oracle:
            missed += 1
        if answer is None:
            seen.add(key, text)
            kept[key] = grams
    assert found > 50
    assert missed <= 0.05 * (found + missed)  # pairs at the threshold are found with probability >= 0.95


def test_removed_texts_are_no_longer_found_and_keys_can_be_replaced():
    seen = NearDuplicates(0.8)
    seen.add("a", "特步男鞋新款跑步鞋")
    assert seen.find("特步男鞋新款跑步鞋") == "a" and "a" in seen and len(seen) == 1
    seen.remove("a")
    seen.remove("a")  # twice is harmless
    assert seen.find("特步男鞋新款跑步鞋") is None and len(seen) == 0 and not seen._buckets
    seen.add("b", "李宁羽毛球拍")
    seen.add("b", "安踏篮球鞋")
    assert seen.find("李宁羽毛球拍") is None and seen.find("安踏篮球鞋") == "b"


def test_empty_texts_are_duplicates_of_each_other_only():
    seen = NearDuplicates(0.8)
    seen.add(1, "   ")
    assert seen.find("") == 1 and seen.find("鞋") is None


def test_bands_find_a_pair_at_the_threshold_with_probability_095():
    for threshold in (0.2, 0.5, 0.7, 0.8, 0.9, 1.0):
        rows = rows_per_band(threshold)
        assert 1 - (1 - threshold ** rows) ** (64 // rows) >= 0.95
    with pytest.raises(ValueError, match="threshold"):
        NearDuplicates(0)
