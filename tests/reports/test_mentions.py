"""brandner.reports.mentions against counts worked out by hand (tests/reports/mention_fixture.py)
and against a brute-force count of random posts; the pair cap's bounds; bad records."""

from __future__ import annotations

import datetime
import itertools
import random
from collections import Counter

import pytest

from brandner.errors import InputFileError
from brandner.reports import mentions
from brandner.reports.mentions import count_mentions
from brandner.reports.periods import time_zone
from brandner.reports.tagged import Tagged, read_tagged
from tests.reports import mention_fixture as oracle

D = datetime.date


@pytest.fixture
def fixture_file(tmp_path):
    return oracle.write_fixture(tmp_path / "posts.jsonl")


def count(path, **options):
    return count_mentions(read_tagged([str(path)]), **options)


def per_name(counts):
    return {(row.name, row.type): (row.mentions, row.posts) for row in counts.top()}


def per_period(counts, name, type_):
    return {start: (counts.mentions_by_period[(name, type_, start)], counts.posts_by_period[(name, type_, start)])
            for name_, type__, start in counts.mentions_by_period if (name_, type__) == (name, type_)}


def test_mentions_and_posts_per_name_as_worked_out_by_hand(fixture_file):
    counts = count(fixture_file)
    assert list(per_name(counts).items()) == list(oracle.NAMES.items())  # the report's order too
    assert counts.total_mentions == oracle.TOTAL_MENTIONS and counts.posts == oracle.POSTS_READ
    assert counts.posts_with_mentions == oracle.POSTS_WITH_MENTIONS
    assert counts.error_records == oracle.ERROR_RECORDS
    assert counts.top(1)[0].share == pytest.approx(6 / 28)
    assert dict(counts.pairs) == oracle.PAIRS and counts.pairs_shortfall == 0
    assert counts.top_pairs(2) == [("Anta", "李宁", 2), ("Nike", "卫衣", 2)]
    assert counts.period is None and counts.undated == 0 and not counts.period_posts  # no time field


def test_per_day_and_per_week_as_worked_out_by_hand(fixture_file):
    days = count(fixture_file, time_field="date", period="day")
    assert {day: (days.period_posts[day], days.period_mentions[day]) for day in days.period_posts} == oracle.DAYS
    assert per_period(days, "Nike", "HP") == oracle.NIKE_DAYS
    assert days.undated == oracle.UNDATED and days.first_undated == f"{fixture_file}:11"
    assert days.periods() == [D(2026, 3, 2) + datetime.timedelta(days=i) for i in range(14)]  # gaps listed
    weeks = count(fixture_file, time_field="date", period="week")
    assert dict(weeks.period_posts) == {w: posts for w, (posts, _) in oracle.WEEKS.items()}
    assert dict(weeks.period_mentions) == {w: found for w, (_, found) in oracle.WEEKS.items()}
    assert per_period(weeks, "Nike", "HP") == oracle.NIKE_WEEKS
    assert weeks.periods() == [D(2026, 3, 2), D(2026, 3, 9)]
    # the per-name counts are the same with or without a time field
    assert per_name(weeks) == per_name(count(fixture_file)) and dict(weeks.pairs) == oracle.PAIRS


def test_a_time_zone_moves_moments_but_not_dates(fixture_file):
    weeks = count(fixture_file, time_field="date", period="week", zone=time_zone("-05:00"))
    # post 8 (2026-03-08T23:30-02:00) is the 8th at -05:00: Nike's mention moves to the first week
    assert per_period(weeks, "Nike", "HP") == {D(2026, 3, 2): (5, 4)}
    assert weeks.period_posts == Counter({D(2026, 3, 2): 7, D(2026, 3, 9): 4})
    months = count(fixture_file, time_field="date", period="month")
    assert dict(months.period_posts) == {D(2026, 3, 1): 11} and dict(months.period_mentions) == {D(2026, 3, 1): 25}


def test_by_word_and_by_type(fixture_file):
    words = count(fixture_file, by="word")
    assert per_name(words) == oracle.WORDS and words.total_mentions == oracle.TOTAL_MENTIONS
    assert words.pairs[("小米", "手机")] == 1 and ("小米", "小米") not in words.pairs  # one name, two types
    brands = count(fixture_file, types=["HP"])
    assert list(per_name(brands).items()) == list(oracle.BRANDS.items())
    assert dict(brands.pairs) == oracle.BRAND_PAIRS
    assert brands.posts == oracle.POSTS_READ and brands.posts_with_mentions == 11 and brands.types == ("HP",)
    assert count(fixture_file, types=["HP", "HC"]).mentions == count(fixture_file).mentions
    assert count(fixture_file, types=["PER"]).total_mentions == 0


def tagged(records):
    return [Tagged("posts.jsonl", number, record) for number, record in enumerate(records, start=1)]


@pytest.mark.parametrize("record, message", [
    ({"string": "耐克"}, r"posts.jsonl:1: no 'entities': expected a tagged post"),
    ({"string": "耐克", "entities": None}, r"posts.jsonl:1: 'entities' is null, not a list"),
    ({"string": "耐克", "entities": {"word": "耐克"}}, r"posts.jsonl:1: 'entities' is an object, not a list"),
    ({"entities": ["耐克"]}, r"posts.jsonl:1: entity 1 is a string, not an object"),
    ({"entities": [{"word": "耐克", "type": "HP"}, {"word": "耐克"}]},
     r"posts.jsonl:1: entity 2 needs a 'word' and a 'type', each a non-empty string: got word '耐克', type None"),
    ({"entities": [{"word": "", "type": "HP"}]}, r"entity 1 needs a 'word' and a 'type'"),
    ({"entities": [{"word": 7, "type": "HP"}]}, r"entity 1 needs a 'word' and a 'type'"),
    ({"entities": [{"word": "耐克", "type": "HP", "canonical": 3}]},
     r"entity 1: 'canonical' is a number, not a string"),
])
def test_a_record_that_is_not_a_tagged_post_is_an_error_on_its_line(record, message):
    with pytest.raises(InputFileError, match=message):
        count_mentions(tagged([record]))


def test_error_records_of_every_engine_are_skipped_and_counted():
    records = [{"error": "in.txt:3: not UTF-8 text", "line": 3},  # tag --on-error skip
               {"text": "x", "entities": None, "error": "RuntimeError: boom"},  # Ray: null entities
               {"text": "x", "error": "RuntimeError: boom"},  # Spark: nulls left out
               {"text": None, "entities": [], "error": None},  # a null text: a post without entities
               {"string": "耐克", "entities": [{"word": "耐克", "type": "HP", "canonical": ""}]}]
    counts = count_mentions(tagged(records))
    assert counts.error_records == 3 and counts.posts == 2 and dict(counts.mentions) == {("耐克", "HP"): 1}


def brute_force(posts, by, types, period_of):
    """The counts, computed the slow and obvious way."""
    mentions, posts_per, by_period, posts_by_period, pairs = Counter(), Counter(), Counter(), Counter(), Counter()
    for post in posts:
        if post.get("error") is not None:
            continue
        found = [((e.get("canonical") or e["word"]) if by == "canonical" else e["word"], e["type"])
                 for e in post["entities"] if not types or e["type"] in types]
        start = period_of(post.get("date"))
        for key in set(found):
            mentions[key] += found.count(key)
            posts_per[key] += 1
            if start is not None:
                by_period[(*key, start)] += found.count(key)
                posts_by_period[(*key, start)] += 1
        for a, b in itertools.combinations(sorted({name for name, _ in found}), 2):
            pairs[(a, b)] += 1
    return mentions, posts_per, by_period, posts_by_period, pairs


def random_posts(rng, n):
    words = ["耐克", "NIKE", "阿迪", "李宁", "安踏", "小米", "卫衣", "跑鞋", "x"]
    canonical = {"耐克": "Nike", "NIKE": "Nike", "阿迪": "Adidas"}
    posts = []
    for _ in range(n):
        if rng.random() < 0.05:
            posts.append({"error": "bad line", "line": 1})
            continue
        entities = []
        for _ in range(rng.randrange(6)):
            word = rng.choice(words)
            entity = {"word": word, "type": rng.choice(["HP", "HC"]), "start": 0, "end": 1}
            if word in canonical and rng.random() < 0.8:
                entity["canonical"] = canonical[word]
            entities.append(entity)
        post = {"string": "…", "entities": entities}
        if rng.random() < 0.9:
            post["date"] = rng.choice([f"2026-0{rng.randint(1, 3)}-{rng.randint(10, 28)}", "not a date", None])
        posts.append(post)
    return posts


@pytest.mark.parametrize("seed", range(5))
def test_random_posts_against_a_brute_force_count(seed):
    rng = random.Random(seed)
    posts = random_posts(rng, 300)
    by, types = rng.choice(["canonical", "word"]), rng.choice([(), ("HP",)])

    def week_of(value):
        try:
            day = datetime.date.fromisoformat(value)
        except (TypeError, ValueError):
            return None
        return day - datetime.timedelta(days=day.weekday())

    counts = count_mentions(tagged(posts), by=by, types=types, time_field="date", period="week")
    mentions_, posts_, by_period, posts_by_period, pairs = brute_force(posts, by, types, week_of)
    assert counts.mentions == mentions_ and counts.name_posts == posts_
    assert counts.mentions_by_period == by_period and counts.posts_by_period == posts_by_period
    assert counts.pairs == pairs and counts.pairs_shortfall == 0
    readable = [p for p in posts if p.get("error") is None]
    assert counts.posts == len(readable) and counts.error_records == len(posts) - len(readable)
    assert counts.undated == sum(week_of(p.get("date")) is None for p in readable)


@pytest.mark.parametrize("seed, cap", [(0, 5), (1, 20), (2, 60), (3, 1)])
def test_capped_pairs_are_lower_bounds_within_the_shortfall(seed, cap):
    rng = random.Random(seed)
    names = [f"n{i}" for i in range(30)]
    weights = [1 / (i + 1) for i in range(30)]  # a few names common, most rare: as brands are
    posts = [{"entities": [{"word": w, "type": "HP"} for w in rng.choices(names, weights, k=rng.randint(0, 5))]}
             for _ in range(400)]
    true = brute_force(posts, "canonical", (), lambda _: None)[4]
    result = count_mentions(tagged(posts), max_pairs=cap)
    assert len(result.pairs) <= cap
    assert result.pairs_shortfall > 0  # the cap was reached
    for pair, posts_ in true.items():
        kept = result.pairs.get(pair, 0)
        assert posts_ - result.pairs_shortfall <= kept <= posts_, pair
    for pair in result.pairs:
        assert pair in true
    assert result.mentions == brute_force(posts, "canonical", (), lambda _: None)[0]  # only pairs are capped


def test_a_post_of_many_names_past_the_cap_is_shrunk_to_it():
    post = {"entities": [{"word": f"n{i}", "type": "HP"} for i in range(20)]}  # 190 pairs at once
    counts = count_mentions(tagged([post]), max_pairs=10)
    assert len(counts.pairs) <= 10 and counts.pairs_shortfall == 1


def test_periods_past_the_fill_limit_are_those_with_posts(monkeypatch):
    posts = [{"entities": [], "date": date} for date in ("2026-01-05", "2026-03-02", "2026-01-05")]
    counts = count_mentions(tagged(posts), time_field="date", period="week")
    assert len(counts.periods()) == 9 and counts.periods()[0] == D(2026, 1, 5) and counts.periods()[-1] == D(2026, 3, 2)
    monkeypatch.setattr(mentions, "MAX_FILLED_PERIODS", 5)
    assert counts.periods() == [D(2026, 1, 5), D(2026, 3, 2)]
    far = count_mentions(tagged([{"entities": [], "date": d} for d in ("0001-01-01", "9999-12-31")]),
                         time_field="date", period="day")
    assert far.periods() == [D(1, 1, 1), D(9999, 12, 31)]  # not 3.6 million days


def test_bad_arguments():
    for options, message in [({"by": "name"}, "by must be one of canonical, word"),
                             ({"period": "year"}, "period must be one of day, week, month"),
                             ({"max_pairs": 0}, "max_pairs must be at least 1")]:
        with pytest.raises(ValueError, match=message):
            count_mentions([], **options)


def test_what_ray_writes_is_counted(tmp_path):
    """Lines as Ray Data's write_json wrote them (checked by hand with ray 2.60): timestamps as Unix
    milliseconds, a failed row with null entities and its error."""
    folder = tmp_path / "tagged.json"
    folder.mkdir()
    (folder / "0359JpiQUfyznDwbWDxBit_63864f482936408ba0c8405213cb54e5_000000.json").write_text(
        '{"text":"耐克鞋","ts":1772366400000,"entities":[{"word":"耐克","type":"HP","start":0,"end":2,"score":null}],'
        '"error":null}\n{"text":"坏","ts":null,"entities":null,"error":"RuntimeError: boom"}\n', encoding="utf-8")
    counts = count_mentions(read_tagged([str(folder)]), time_field="ts")
    assert (counts.posts, counts.error_records, counts.undated) == (1, 1, 0)
    assert dict(counts.mentions_by_period) == {("耐克", "HP", D(2026, 3, 1)): 1}


def test_blanks_around_a_name_do_not_make_another_name():
    """ecommerce's gold spans hold '索尼 ' beside '索尼': one brand to an analyst."""
    entities = [{"word": "索尼 ", "type": "HP"}, {"word": "索尼", "type": "HP"}, {"word": "\u3000sony", "type": "HP"},
                {"word": "x", "type": "HP", "canonical": " Sony "}]
    counts = count_mentions(tagged([{"entities": entities}]), by="canonical")
    assert dict(counts.mentions) == {("索尼", "HP"): 2, ("sony", "HP"): 1, ("Sony", "HP"): 1}
    with pytest.raises(InputFileError, match="entity 1 needs a 'word' and a 'type'"):
        count_mentions(tagged([{"entities": [{"word": "  ", "type": "HP"}]}]))
