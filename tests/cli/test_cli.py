"""train -> evaluate -> tag through the real entry point, in a temp directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import REPO, SMALL, brandner, ctrl_c_as_at_a_terminal, data_dir, synthetic_sentences, write_jsonl


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    work = tmp_path_factory.mktemp("cli")
    write_jsonl(work / "train.jsonl", synthetic_sentences(200))
    write_jsonl(work / "dev.jsonl", synthetic_sentences(40, seed=1))
    write_jsonl(work / "test.jsonl", synthetic_sentences(40, seed=2))
    result = brandner("train", "--train", "train.jsonl", "--dev", "dev.jsonl", "--test", "test.jsonl",
                      "--epochs", "8", *SMALL, "--set", "lr_decay=0.1", "--tensorboard", "tb", "-o", "model.pt",
                      cwd=work)
    assert result.returncode == 0, result.stderr
    return work, result


def test_train_writes_model_summary_and_tensorboard(trained):
    work, result = trained
    assert (work / "model.pt").exists() and (work / "model.pt.resume").exists()
    summary = json.loads((work / "model.pt.json").read_text(encoding="utf-8"))
    assert summary["epochs_run"] <= 8 and summary["test"]["f1"] > 0.5
    assert summary["train_sentences_per_second"] > 0 and summary["train_seconds"] > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(work / "tb"))
    events.Reload()
    assert {"train/loss", "train/lr", "dev/f1"} <= set(events.Tags()["scalars"])
    rates = [(e.step, e.value) for e in events.Scalars("train/lr")]
    assert rates == [(epoch, pytest.approx(0.02 / (1 + 0.1 * (epoch - 1)))) for epoch in range(1, len(rates) + 1)]
    assert len(rates) == summary["epochs_run"]
    assert "epoch 1:" in result.stderr and "test:" in result.stdout


def test_evaluate_prints_a_table_and_json(trained):
    work, _ = trained
    table = brandner("evaluate", "-m", "model.pt", "--file", "test.jsonl", cwd=work)
    assert table.returncode == 0, table.stderr
    assert "SHOE" in table.stdout and "micro" in table.stdout
    result = brandner("evaluate", "-m", "model.pt", "--file", "test.jsonl", "--json", cwd=work)
    scores = json.loads(result.stdout)
    assert set(scores["per_type"]) == {"SHOE", "DIGITAL"}
    assert set(scores["per_type"]["SHOE"]) == {"precision", "recall", "f1", "support"}
    assert 0 <= scores["f1"] <= 1


def test_tag_arguments_files_and_stdin(trained):
    work, _ = trained
    result = brandner("tag", "-m", "model.pt", "我买了特步鞋", "", cwd=work)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0] == {"string": "我买了特步鞋", "entities": [{"word": "特步", "type": "SHOE", "start": 3, "end": 5}]}
    assert lines[1] == {"string": "", "entities": []}

    (work / "posts.txt").write_text("我买了特步鞋\r\n\n华为手机真好用\n", encoding="utf-8")
    assert brandner("tag", "-m", "model.pt", "-i", "posts.txt", "-o", "out.jsonl", cwd=work).returncode == 0
    out = [json.loads(line) for line in (work / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [o["string"] for o in out] == ["我买了特步鞋", "", "华为手机真好用"]

    posts = '{"id": 7, "text": "推荐耐克给大家"}\n{"id": 8, "string": "小米"}\n'
    result = brandner("tag", "-m", "model.pt", "-i", "-", cwd=work, stdin=posts)
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [7, 8] and out[0]["string"] == "推荐耐克给大家"
    assert out[0]["entities"][0]["word"] == "耐克"


@pytest.mark.parametrize("args,message", [
    (["tag", "-m", "missing.pt", "x"], "missing.pt: No such file"),
    (["tag", "-m", "model.pt", "-i", "bad.jsonl"], "bad.jsonl:2: invalid JSON"),
    (["tag", "-m", "train.jsonl", "x"], "train.jsonl: not a brandner file"),
    (["train", "--train", "train.jsonl", "-o", "x.pt"], "each --train needs its --dev"),
    (["train", "--corpus", "ecommerce", "--set", "hiden=1", "-o", "x.pt"], "unknown setting 'hiden'"),
    (["evaluate", "-m", "model.pt", "--file", "bad.jsonl"], "bad.jsonl:2:"),
    (["tag", "-m", "model.pt", "-i", "bad.txt"], "bad.txt:3: not UTF-8 text"),
    (["train", "--corpus", "brands-sample", "--embeddings", "vec😀.vec", "-o", "x.pt"], "vec😀.vec: No such file"),
    (["train", "--corpus", "brands-sample", "-o", "adir"], "adir: a directory; the model goes to a file"),
    (["tag", "-m", "model.pt", "-o", "adir", "特步"], "adir: Is a directory"),
    (["tag", "-m", "model.pt", "-i", "surrogate.jsonl"], "surrogate.jsonl:2: a \\u escape for half"),
])
def test_errors_are_one_line_and_exit_1(trained, args, message):
    work, _ = trained
    (work / "bad.jsonl").write_text('{"string": "a", "entities": []}\n{"string": \n', encoding="utf-8")
    (work / "bad.txt").write_bytes("我买了特步鞋\n华为手机\n".encode() + b"bad\xff\n" + "小米\n".encode())
    (work / "adir").mkdir(exist_ok=True)
    (work / "surrogate.jsonl").write_text('{"string": "a"}\n{"string": "\\ud800abc"}\n', encoding="utf-8")
    result = brandner(*args, cwd=work)
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_stdin_must_be_utf8_whatever_the_locale(trained):
    work, _ = trained
    env = dict(os.environ, PYTHONPATH=str(REPO), LC_ALL="C.UTF-8")  # stdin's own decoding would let 0xff through
    result = subprocess.run([sys.executable, "-m", "brandner.cli.main", "tag", "-m", "model.pt", "-i", "-"], cwd=work,
                            env=env, input="我买了特步鞋\n".encode() + b"abc\xffdef\n", capture_output=True)
    assert result.returncode == 1
    assert result.stderr.decode().strip() == "brandner: error: <stdin>:2: not UTF-8 text"


def test_kill_then_resume_from_the_command_line(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", synthetic_sentences(60))
    write_jsonl(tmp_path / "dev.jsonl", synthetic_sentences(10, seed=1))
    common = ["train", "--train", "train.jsonl", "--dev", "dev.jsonl", *SMALL, "--set", "patience=100", "-o", "m.pt"]
    assert brandner(*common, "--epochs", "2", cwd=tmp_path).returncode == 0
    result = brandner(*common, "--epochs", "3", "--resume", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "resuming after epoch 2" in result.stderr and "epoch 3:" in result.stderr and "epoch 1:" not in result.stderr
    assert json.loads((tmp_path / "m.pt.json").read_text(encoding="utf-8"))["epochs_run"] == 3


def test_train_in_worker_processes_from_the_command_line(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", synthetic_sentences(60))
    write_jsonl(tmp_path / "dev.jsonl", synthetic_sentences(10, seed=1))
    result = brandner("train", "--train", "train.jsonl", "--dev", "dev.jsonl", *SMALL, "--workers", "2",
                      "--epochs", "2", "-o", "m.pt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "m.pt.json").read_text(encoding="utf-8"))
    assert summary["config"]["train"]["workers"] == 2 and summary["epochs_run"] == 2


def test_ctrl_c_in_parallel_training_keeps_the_last_epoch_and_leaves_no_worker(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", synthetic_sentences(400))
    write_jsonl(tmp_path / "dev.jsonl", synthetic_sentences(10, seed=1))
    env = dict(os.environ, PYTHONPATH=str(REPO), BRANDNER_DATA=str(data_dir()))
    process = subprocess.Popen([sys.executable, "-m", "brandner.cli.main", "train", "--train", "train.jsonl",
                                "--dev", "dev.jsonl", *SMALL, "--workers", "2", "--epochs", "1000", "--set",
                                "patience=1000", "-o", "m.pt"],
                               cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                               preexec_fn=ctrl_c_as_at_a_terminal)
    for line in process.stderr:
        if "epoch 2:" in line:
            break
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130
    from brandner.model.model_file import safe_load
    assert safe_load(tmp_path / "m.pt.resume", "brandner-resume")["state"]["epoch"] >= 2
    assert [pid for pid in os.listdir("/proc") if pid.isdigit() and _cwd(pid) == str(tmp_path)] == []


def _cwd(pid: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:  # gone meanwhile, or not ours to read
        return None


def test_train_and_evaluate_on_a_named_corpus(shared_data, tmp_path):
    result = brandner("train", "--corpus", "brands-sample", "--test", "--epochs", "2", *SMALL, "-o", "b.pt",
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "b.pt.json").read_text(encoding="utf-8"))
    assert {"dev", "test"} <= set(summary) and summary["epochs_run"] == 2
    scores = json.loads(brandner("evaluate", "-m", "b.pt", "--corpus", "brands-sample", "--split", "dev", "--json",
                                 cwd=tmp_path).stdout)
    assert scores["f1"] == pytest.approx(summary["dev"]["f1"])


def test_tag_with_workers_keeps_input_order(trained):
    work, _ = trained
    texts = [f"推荐耐克给大家{i}" if i % 3 else f"我买了特步鞋{i}" for i in range(2500)]
    (work / "many.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    single = brandner("tag", "-m", "model.pt", "-i", "many.txt", cwd=work)
    parallel = brandner("tag", "-m", "model.pt", "-i", "many.txt", "--workers", "2", cwd=work)
    assert parallel.returncode == 0, parallel.stderr
    assert parallel.stdout == single.stdout
    assert [json.loads(line)["string"] for line in parallel.stdout.splitlines()] == texts


def test_tag_starts_as_many_workers_as_the_cpus_allow_for_a_large_input_only(trained, monkeypatch):
    from brandner.cli.tag import PARALLEL_FROM

    work, _ = trained
    monkeypatch.setenv("BRANDNER_CPUS", "2")
    texts = [f"我买了特步鞋{i}" for i in range(PARALLEL_FROM)]
    (work / "large.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    (work / "small.txt").write_text("\n".join(texts[:-1]) + "\n", encoding="utf-8")
    large = brandner("tag", "-m", "model.pt", "-i", "large.txt", cwd=work)
    small = brandner("tag", "-m", "model.pt", "-i", "small.txt", cwd=work)
    assert large.returncode == small.returncode == 0, large.stderr + small.stderr
    assert "tagging in 2 processes" in large.stderr and "processes" not in small.stderr
    assert large.stdout.splitlines()[:-1] == small.stdout.splitlines()
    assert [json.loads(line)["string"] for line in large.stdout.splitlines()] == texts
    one = brandner("tag", "-m", "model.pt", "-i", "large.txt", "--workers", "1", cwd=work)
    assert one.stdout == large.stdout and "processes" not in one.stderr


def test_tag_int8_in_workers(trained):
    work, _ = trained
    (work / "few.txt").write_text("我买了特步鞋\n华为手机真好用\n", encoding="utf-8")
    result = brandner("tag", "-m", "model.pt", "-i", "few.txt", "--int8", "--workers", "2", cwd=work)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["string"] for line in result.stdout.splitlines()] == ["我买了特步鞋", "华为手机真好用"]


def test_the_cli_sizes_torch_threads_by_the_cpus_it_may_use(monkeypatch):
    import torch

    from brandner.cli.main import limit_threads

    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("BRANDNER_CPUS", "1")
    try:
        limit_threads()
        assert os.environ["OMP_NUM_THREADS"] == "1" and torch.get_num_threads() == 1
        monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's setting wins
        torch.set_num_threads(before)
        limit_threads()
        assert torch.get_num_threads() == before
    finally:
        torch.set_num_threads(before)


def test_a_reader_that_stops_reading_stdout_ends_the_command_without_a_traceback(tmp_path, tiny_model):
    """`brandner evaluate … --errors | true`: the reader is gone before the tables are written."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO, data_dir, synthetic_sentences, write_jsonl
    write_jsonl(tmp_path / "gold.jsonl", synthetic_sentences(300, seed=5))
    env = dict(os.environ, PYTHONPATH=str(REPO), BRANDNER_DATA=str(data_dir()))
    command = [sys.executable, "-m", "brandner.cli.main", "evaluate", "-m", str(tiny_model), "--file", "gold.jsonl",
               "--errors"]
    reader_gone = subprocess.run(f"{' '.join(command)} | true", shell=True, cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=300)
    assert "Traceback" not in reader_gone.stderr and "BrokenPipe" not in reader_gone.stderr, reader_gone.stderr
