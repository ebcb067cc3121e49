"""``brandner select`` end to end: posts in, pre-annotated Label Studio tasks or doccano lines out."""

import json

from tests.conftest import brandner


def _posts(path, extra: list[str] = ()) -> list[str]:
    texts = ["我买了特步鞋", "推荐华为给大家", "昨天在店里看到李宁和小米", "今天天气不错", "苹果手机真好用",
             "安踏的新款不错😀", "耐克\r\n的新款不错", *extra]
    path.write_text("".join(json.dumps({"text": t, "id": i}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)),
                    encoding="utf-8")
    return texts


def test_labelstudio_tasks_carry_the_posts_fields_and_entities_most_uncertain_first(tmp_path, tiny_model):
    texts = _posts(tmp_path / "posts.jsonl")
    done = brandner("select", "-m", str(tiny_model), "-i", "posts.jsonl", "-n", "4", "-o", "tasks.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    tasks = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    assert len(tasks) == 4
    scores = [task["predictions"][0]["score"] for task in tasks]
    assert scores == sorted(scores) and all(0 <= s <= 1 for s in scores)
    for task in tasks:
        text = task["data"]["text"]
        assert texts[task["data"]["id"]] == text
        (made,) = task["predictions"]
        assert made["model_version"] == "tiny"
        for result in made["result"]:
            value = result["value"]
            assert text[value["start"]:value["end"]] == value["text"] and 0 < result["score"] <= 1
            assert result["type"] == "labels" and result["from_name"] == "label" and result["to_name"] == "text"


def test_doccano_lines_and_near_duplicates_chosen_once(tmp_path, tiny_model):
    _posts(tmp_path / "posts.jsonl", extra=["我买了特步鞋!", "我买了特步鞋!!", "  "])
    done = brandner("select", "-m", str(tiny_model), "-i", "posts.jsonl", "-n", "100", "-o", "out.jsonl",
                    "--to", "doccano", "--strategy", "random", "--seed", "3", "--similarity", "0.5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == 7  # the three 我买了特步鞋 posts are one, the blank one is never chosen
    assert sum(r["text"].startswith("我买了特步鞋") for r in records) == 1
    for record in records:
        assert all(record["text"][s:e] and isinstance(t, str) for s, e, t in record["label"])


def test_bad_input_is_one_line_with_exit_1_and_writes_nothing(tmp_path, tiny_model):
    (tmp_path / "bad.jsonl").write_text('{"text": "我买了特步鞋"}\n{"text": 3}\n', encoding="utf-8")
    model = str(tiny_model)
    cases = [(["-i", "bad.jsonl", "-n", "2"], "bad.jsonl:2: expected a 'string' or 'text' field"),
             (["-i", "bad.jsonl", "-n", "0"], "--count and --batch-size must be at least 1"),
             (["-i", "bad.jsonl", "-n", "1", "--similarity", "0"], "--similarity must be above 0"),
             (["-i", "missing.txt", "-n", "1"], "missing.txt: No such file")]
    for arguments, message in cases:
        done = brandner("select", "-m", model, *arguments, "-o", "tasks.json", cwd=tmp_path)
        assert done.returncode == 1 and message in done.stderr, done.stderr
        assert done.stderr.strip().count("\n") == 0
    assert not (tmp_path / "tasks.json").exists()
