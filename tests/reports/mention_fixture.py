"""A hand-made file of tagged posts and its counts, worked out by hand (the oracle of the report's
tests). Line N is post N; line 5 is an error record, as ``tag --on-error skip`` writes one.

Dates: 2026-03-02 and 2026-03-09 are Mondays, so the dated posts fall in two weeks. Post 8's
``2026-03-08T23:30:00-02:00`` is 2026-03-09 01:30 in UTC (-05:00: the 8th); post 9's Unix time
1773144000 is 2026-03-10 12:00 UTC; posts 11 (no date) and 12 (``"soon"``) are undated.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path


def _e(word: str, type_: str, start: int, canonical: str | None = None, **extra: object) -> dict:
    entity = {"word": word, "type": type_, "start": start, "end": start + len(word), **extra}
    if canonical is not None:
        entity["canonical"] = canonical
    return entity


POSTS = [
    {"string": "耐克跑鞋真好穿", "date": "2026-03-02", "entities": [_e("耐克", "HP", 0, "Nike", score=0.98),
                                                               _e("跑鞋", "HC", 2, score=0.9)]},
    {"string": "阿迪达斯和耐克哪个好", "date": "2026-03-02T10:00:00",
     "entities": [_e("阿迪达斯", "HP", 0, "Adidas"), _e("耐克", "HP", 5, "Nike")]},
    {"string": "NIKE的卫衣，nike的袜子", "date": "2026-03-03",
     "entities": [_e("NIKE", "HP", 0, "Nike"), _e("卫衣", "HC", 5), _e("nike", "HP", 8, "Nike"), _e("袜子", "HC", 13)]},
    {"string": "李宁卫衣打折", "date": "2026-03-04", "entities": [_e("李宁", "HP", 0), _e("卫衣", "HC", 2)]},
    {"error": "posts.jsonl:5: invalid JSON: Expecting value (column 1)", "line": 5},
    {"string": "今天天气不错", "date": "2026-03-05", "entities": []},
    {"string": "安踏和李宁还有阿迪", "date": "2026-03-08",
     "entities": [_e("安踏", "HP", 0, "Anta"), _e("李宁", "HP", 3), _e("阿迪", "HP", 7, "Adidas")]},
    {"string": "耐克卫衣", "date": "2026-03-08T23:30:00-02:00",
     "entities": [_e("耐克", "HP", 0, "Nike"), _e("卫衣", "HC", 2)]},
    {"string": "阿迪达斯跑鞋", "date": 1773144000,
     "entities": [_e("阿迪达斯", "HP", 0, "Adidas"), _e("跑鞋", "HC", 4)]},
    {"string": "李宁跑鞋和安踏跑鞋", "date": "2026-03-12",
     "entities": [_e("李宁", "HP", 0), _e("跑鞋", "HC", 2), _e("安踏", "HP", 5, "Anta"), _e("跑鞋", "HC", 7)]},
    {"string": "卫衣推荐", "entities": [_e("卫衣", "HC", 0)]},
    {"string": "耐克和李宁", "date": "soon", "entities": [_e("耐克", "HP", 0, "Nike"), _e("李宁", "HP", 3)]},
    {"string": "特步鞋", "date": "2026-03-15", "entities": [{**_e("特步", "HP", 0), "canonical": None}]},
    {"string": "小米手机和小米粥", "date": "2026-03-14",
     "entities": [_e("小米", "HP", 0, "Xiaomi"), _e("手机", "HC", 2), _e("小米", "HC", 5)]},
]


def write_fixture(path: Path) -> Path:
    path.write_text("".join(json.dumps(post, ensure_ascii=False) + "\n" for post in POSTS), encoding="utf-8")
    return path


D = datetime.date

# By canonical name, every type: (name, type) -> (mentions, posts), in the report's order
# (mentions, then posts, most first; then name and type in code-point order).
NAMES = {("Nike", "HP"): (6, 5), ("卫衣", "HC"): (4, 4), ("李宁", "HP"): (4, 4), ("跑鞋", "HC"): (4, 3),
         ("Adidas", "HP"): (3, 3), ("Anta", "HP"): (2, 2), ("Xiaomi", "HP"): (1, 1), ("小米", "HC"): (1, 1),
         ("手机", "HC"): (1, 1), ("特步", "HP"): (1, 1), ("袜子", "HC"): (1, 1)}
TOTAL_MENTIONS, POSTS_READ, POSTS_WITH_MENTIONS, ERROR_RECORDS, UNDATED = 28, 13, 12, 1, 2

# Dated posts and their mentions per day (UTC) and per week (its Monday).
DAYS = {D(2026, 3, 2): (2, 4), D(2026, 3, 3): (1, 4), D(2026, 3, 4): (1, 2), D(2026, 3, 5): (1, 0),
        D(2026, 3, 8): (1, 3), D(2026, 3, 9): (1, 2), D(2026, 3, 10): (1, 2), D(2026, 3, 12): (1, 4),
        D(2026, 3, 14): (1, 3), D(2026, 3, 15): (1, 1)}
WEEKS = {D(2026, 3, 2): (6, 13), D(2026, 3, 9): (5, 12)}
# Nike's (mentions, posts) per day and per week.
NIKE_DAYS = {D(2026, 3, 2): (2, 2), D(2026, 3, 3): (2, 1), D(2026, 3, 9): (1, 1)}
NIKE_WEEKS = {D(2026, 3, 2): (4, 3), D(2026, 3, 9): (1, 1)}

# Pairs of different names in one post: posts naming both.
PAIRS = {("Nike", "卫衣"): 2, ("Anta", "李宁"): 2, ("Adidas", "Nike"): 1, ("Nike", "跑鞋"): 1, ("Nike", "袜子"): 1,
         ("卫衣", "袜子"): 1, ("卫衣", "李宁"): 1, ("Adidas", "Anta"): 1, ("Adidas", "李宁"): 1, ("Adidas", "跑鞋"): 1,
         ("Anta", "跑鞋"): 1, ("李宁", "跑鞋"): 1, ("Nike", "李宁"): 1, ("Xiaomi", "小米"): 1, ("Xiaomi", "手机"): 1,
         ("小米", "手机"): 1}

# --by word: every entity by its word.
WORDS = {("耐克", "HP"): (4, 4), ("NIKE", "HP"): (1, 1), ("nike", "HP"): (1, 1), ("阿迪达斯", "HP"): (2, 2),
         ("阿迪", "HP"): (1, 1), ("李宁", "HP"): (4, 4), ("安踏", "HP"): (2, 2), ("特步", "HP"): (1, 1),
         ("小米", "HP"): (1, 1), ("小米", "HC"): (1, 1), ("跑鞋", "HC"): (4, 3), ("卫衣", "HC"): (4, 4),
         ("袜子", "HC"): (1, 1), ("手机", "HC"): (1, 1)}

# --type HP.
BRANDS = {("Nike", "HP"): (6, 5), ("李宁", "HP"): (4, 4), ("Adidas", "HP"): (3, 3), ("Anta", "HP"): (2, 2),
          ("Xiaomi", "HP"): (1, 1), ("特步", "HP"): (1, 1)}
BRAND_PAIRS = {("Anta", "李宁"): 2, ("Adidas", "Nike"): 1, ("Adidas", "Anta"): 1, ("Adidas", "李宁"): 1,
               ("Nike", "李宁"): 1}
