"""Writing through a temporary file: renamed into place on success, removed on failure, and
visibly partial (named so, not hidden) while it is written."""

from __future__ import annotations

import os
import re

import pytest

from brandner.atomic import atomic_folder, atomic_output


def test_the_file_being_written_is_visible_and_says_it_is_partial_and_whose(tmp_path):
    with atomic_output(tmp_path / "out.jsonl") as temporary:
        assert temporary.parent == tmp_path and temporary.exists()
        assert re.fullmatch(rf"out\.jsonl\.{os.getpid()}\.[a-z0-9_]+\.partial", temporary.name), temporary.name
        assert not (tmp_path / "out.jsonl").exists()
        temporary.write_text("done", encoding="utf-8")
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8") == "done"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_a_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path):
    (tmp_path / "out.jsonl").write_text("old", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt), atomic_output(tmp_path / "out.jsonl") as temporary:
        temporary.write_text("half", encoding="utf-8")
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8") == "old"


def test_the_new_file_gets_the_usual_mode(tmp_path):
    mask = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "out.jsonl") as temporary:
            temporary.write_text("done", encoding="utf-8")
    finally:
        os.umask(mask)
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o777 == 0o644


def test_a_folder_is_written_beside_its_name_and_renamed_into_place(tmp_path):
    mask = os.umask(0o022)
    try:
        with atomic_folder(tmp_path / "tagged.parquet") as folder:
            assert folder.parent == tmp_path and folder.is_dir() and list(folder.iterdir()) == []
            assert re.fullmatch(rf"tagged\.parquet\.{os.getpid()}\.[a-z0-9_]+\.partial", folder.name), folder.name
            assert not (tmp_path / "tagged.parquet").exists()
            (folder / "part-0.parquet").write_text("rows", encoding="utf-8")
    finally:
        os.umask(mask)
    assert [p.name for p in tmp_path.iterdir()] == ["tagged.parquet"]
    assert [p.name for p in (tmp_path / "tagged.parquet").iterdir()] == ["part-0.parquet"]
    assert (tmp_path / "tagged.parquet").stat().st_mode & 0o777 == 0o755


def test_an_old_folder_is_replaced_only_once_the_new_one_is_whole(tmp_path):
    old = tmp_path / "out"
    old.mkdir()
    (old / "old.json").write_text("old", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt), atomic_folder(old) as folder:
        (folder / "new.json").write_text("half", encoding="utf-8")
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and [p.name for p in old.iterdir()] == ["old.json"]
    with atomic_folder(old) as folder:
        (folder / "new.json").write_text("new", encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and [p.name for p in old.iterdir()] == ["new.json"]


def test_a_file_where_the_folder_goes_is_an_error_before_anything_is_written(tmp_path):
    (tmp_path / "out").write_text("a file", encoding="utf-8")
    with pytest.raises(NotADirectoryError), atomic_folder(tmp_path / "out"):
        pytest.fail("the block ran")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
