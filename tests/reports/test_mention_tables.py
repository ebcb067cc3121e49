"""brandner.reports.mention_tables: the terminal's tables lined up (Chinese two columns wide), and the
tidy CSV of the hand-made fixture, row for row, as pandas reads and pivots it."""

from __future__ import annotations

import io

import pytest

from brandner.reports.mention_tables import Table, aligned, display_width, tables, text_report, write_csv
from brandner.reports.mentions import count_mentions
from brandner.reports.tagged import Tagged, read_tagged
from tests.reports import mention_fixture as oracle

EXPECTED_CSV = """\
table,period,name,type,name_2,mentions,posts
total,,,,,28,13
name,,Nike,HP,,6,5
name,,卫衣,HC,,4,4
name,,李宁,HP,,4,4
name,,跑鞋,HC,,4,3
name,,Adidas,HP,,3,3
name,,Anta,HP,,2,2
name,,Xiaomi,HP,,1,1
name,,小米,HC,,1,1
name,,手机,HC,,1,1
name,,特步,HP,,1,1
name,,袜子,HC,,1,1
period,2026-03-02,,,,13,6
period,2026-03-09,,,,12,5
name_period,2026-03-02,Adidas,HP,,2,2
name_period,2026-03-02,Anta,HP,,1,1
name_period,2026-03-02,Nike,HP,,4,3
name_period,2026-03-02,卫衣,HC,,2,2
name_period,2026-03-02,李宁,HP,,2,2
name_period,2026-03-02,袜子,HC,,1,1
name_period,2026-03-02,跑鞋,HC,,1,1
name_period,2026-03-09,Adidas,HP,,1,1
name_period,2026-03-09,Anta,HP,,1,1
name_period,2026-03-09,Nike,HP,,1,1
name_period,2026-03-09,Xiaomi,HP,,1,1
name_period,2026-03-09,卫衣,HC,,1,1
name_period,2026-03-09,小米,HC,,1,1
name_period,2026-03-09,手机,HC,,1,1
name_period,2026-03-09,李宁,HP,,1,1
name_period,2026-03-09,特步,HP,,1,1
name_period,2026-03-09,跑鞋,HC,,3,2
pair,,Anta,,李宁,,2
pair,,Nike,,卫衣,,2
pair,,Adidas,,Anta,,1
pair,,Adidas,,Nike,,1
pair,,Adidas,,李宁,,1
pair,,Adidas,,跑鞋,,1
pair,,Anta,,跑鞋,,1
pair,,Nike,,李宁,,1
pair,,Nike,,袜子,,1
pair,,Nike,,跑鞋,,1
pair,,Xiaomi,,小米,,1
pair,,Xiaomi,,手机,,1
pair,,卫衣,,李宁,,1
pair,,卫衣,,袜子,,1
pair,,小米,,手机,,1
pair,,李宁,,跑鞋,,1
"""


@pytest.fixture
def weekly(tmp_path):
    return count_mentions(read_tagged([str(oracle.write_fixture(tmp_path / "posts.jsonl"))]), time_field="date",
                          period="week")


def test_the_csv_of_the_fixture_row_for_row(weekly):
    out = io.StringIO(newline="")
    assert write_csv(weekly, out) == EXPECTED_CSV.count("\n") - 1
    assert out.getvalue().replace("\r\n", "\n") == EXPECTED_CSV


def test_pandas_reads_and_pivots_the_csv(weekly, tmp_path):
    pandas = pytest.importorskip("pandas")
    path = tmp_path / "report.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as out:  # as `report --csv` writes it
        write_csv(weekly, out)
    frame = pandas.read_csv(path, parse_dates=["period"])
    assert list(frame.columns) == ["table", "period", "name", "type", "name_2", "mentions", "posts"]
    weeks = frame[frame.table == "name_period"].pivot_table(index="period", columns="name", values="mentions",
                                                            aggfunc="sum", fill_value=0)
    assert weeks["Nike"].tolist() == [4, 1] and weeks["袜子"].tolist() == [1, 0]
    assert frame[frame.table == "name"].set_index("name").loc["Nike", "mentions"] == 6


def test_the_terminal_tables_line_up_with_chinese_names(weekly):
    text = text_report(weekly, 5)
    assert text.startswith("13 posts read; 1 error record (posts that failed to tag) skipped.\n"
                           "28 mentions of 11 names (canonical name, else the entity's word), in 12 posts.\n"
                           "11 posts dated by 'date', counted per week; 2 posts without a time there")
    names = text.split("Top 5 of 11 names by mentions\n")[1].split("\n\n")[0].splitlines()
    assert names[0].split() == ["name", "type", "mentions", "posts", "share"] and len(names) == 6
    assert names[1].split() == ["Nike", "HP", "6", "5", "21.4%"]
    assert names[2].split() == ["卫衣", "HC", "4", "4", "14.3%"]
    # the type column starts at the same screen column on every line, the numbers end together
    types = ["type", "HP", "HC", "HP", "HC", "HP"]
    assert len({display_width(line[:line.index(kind)]) for line, kind in zip(names, types)}) == 1
    assert len({display_width(line) for line in names}) == 1
    weeks = text.split("Mentions per week (Monday to Sunday, named by its Monday)\n")[1].split("\n\n")[0].splitlines()
    assert weeks[0].split() == ["week", "posts", "mentions", "Nike", "卫衣", "李宁", "跑鞋", "Adidas"]
    assert weeks[1].split() == ["2026-03-02", "6", "13", "4", "2", "2", "1", "2"]
    assert "Top 5 of 16 co-mention pairs (posts naming both)\nname    name  posts\nAnta    李宁      2\n" in text


def test_control_characters_are_escaped_so_a_row_stays_a_row():
    table = Table("t", ("name", "n"), [("a\nb\tc\x1b[31m", 1), ("耐克", 22)], (False, True))
    assert aligned(table).splitlines() == ["name              n", "a\\nb\\tc\\x1b[31m   1", "耐克             22"]


def test_a_name_found_as_two_types_is_labelled_with_its_type():
    posts = [Tagged("p", 1, {"entities": [{"word": "小米", "type": "HP"}, {"word": "小米", "type": "HC"}],
                             "date": "2026-03-02"})]
    counts = count_mentions(posts, by="word", time_field="date")
    assert tables(counts, 5)[1].header == ("day", "posts", "mentions", "小米 (HC)", "小米 (HP)")


def test_no_mentions_at_all():
    counts = count_mentions([Tagged("p", 1, {"entities": []})])
    text = text_report(counts, 20)
    assert "1 post read.\nNo mentions." in text and "Top 0 of 0 names by mentions: none" in text


def test_the_summary_says_when_pair_counts_are_lower_bounds():
    posts = [Tagged("p", i, {"entities": [{"word": a, "type": "HP"}, {"word": b, "type": "HP"}]})
             for i, (a, b) in enumerate([("a", "b"), ("c", "d"), ("e", "f")], start=1)]
    capped = count_mentions(posts, max_pairs=2)
    assert capped.pairs_shortfall == 1
    assert text_report(capped, 5).splitlines()[2] == (
        "More than 2 pairs of names (--max-pairs): the co-mention counts may each be up to 1 below the true count "
        "(never above it).")
    assert "More than" not in text_report(count_mentions(posts), 5)
