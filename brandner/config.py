"""Settings as frozen dataclasses, loadable from TOML and overridable by ``KEY=VALUE``.

A config file has a ``[model]`` and a ``[train]`` table::

    [model]
    hidden_size = 100
    head = "crf"

    [train]
    batch_size = 20
    max_epochs = 30

Unknown tables and keys are errors that name the key.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from brandner.data.features import SEGMENTERS
from brandner.data.lexicon import parse_gazetteers
from brandner.errors import BrandnerError, past_python_limit

HEADS = ("crf", "softmax")
# What a model file written before a feature existed means by its absence: the feature off.
FEATURES_OFF = {"bigram_dim": 0, "lexicon": (), "gazetteers": (), "lexicon_pooling": "mean", "radical_dim": 0,
                "corpora": ()}
LEXICON_POOLINGS = ("mean", "frequency")


@dataclass(frozen=True)
class ModelConfig:
    """The network and the text it reads; stored in every model file."""

    char_dim: int = 100
    seg_dim: int = 20
    hidden_size: int = 100
    dropout: float = 0.5
    output_dropout: float = 0.0
    head: str = "crf"
    fullwidth: bool = True
    lowercase: bool = True
    zero_digits: bool = False
    segmenter: str = "jieba"
    max_chunk_length: int = 250
    # Character bigrams with their own embedding of this size; 0 turns them off.
    # On by default: they raised dev F1 on ecommerce (docs/benchmarks.md).
    bigram_dim: int = 50
    # SoftLexicon-style word features: word lists ("jieba" for jieba's dictionary, or files
    # with one word a line); empty turns them off. TOML takes a list or one string with
    # commas between the lists. Off by default: with random word vectors it lowered dev F1
    # on ecommerce and resume; with vectors from `brandner embed` (train.embeddings) it
    # was best on weibo and resume dev.
    lexicon: tuple[str, ...] = ()
    lexicon_dim: int = 50
    # How a character's words at one position are pooled: "mean", or "frequency" as in
    # SoftLexicon: weighted by each word's count in the training text (1 + the times it
    # occurs not inside a longer lexicon word), over the character's words at all positions.
    lexicon_pooling: str = "mean"
    # Typed gazetteers, "TYPE=FILE" items (TOML: a list, or one string with commas between
    # the items; a type given twice reads both files): for each type, whether each character
    # begins, is inside, ends or is an entry of that list. Empty turns them off.
    gazetteers: tuple[str, ...] = ()
    # Each character's radical (河 -> 氵; brandner.data.radicals) with its own embedding of this
    # size (Dong et al. 2016); characters without one, and radicals unseen in training, read as
    # <UNK>. 0 turns radicals off.
    radical_dim: int = 0
    # The corpora a joint training read (brandner.training.joint), each with its own tags
    # (types named "CORPUS:TYPE"); empty for a model of one corpus. Set by the training, not by
    # hand: with several corpora the model is a base for ``train --init``, which starts a new
    # head for its target's tags.
    corpora: tuple[str, ...] = ()

    @classmethod
    def from_saved(cls, saved: dict) -> "ModelConfig":
        """The config stored in a model file; keys of features newer than the file mean off."""
        return cls(**{**FEATURES_OFF, **saved})

    @property
    def gazetteer_lists(self) -> dict[str, list[str]]:
        """``gazetteers`` as ``{type: [files]}`` (see brandner.data.lexicon.parse_gazetteers)."""
        return parse_gazetteers(self.gazetteers)

    def __post_init__(self) -> None:
        _check_finite(self)
        if self.head not in HEADS:
            raise BrandnerError(f"model.head must be one of {', '.join(HEADS)}, got {self.head!r}")
        check_segmenter(self.segmenter)
        if self.lexicon_pooling not in LEXICON_POOLINGS:
            raise BrandnerError(f"model.lexicon_pooling must be one of {', '.join(LEXICON_POOLINGS)}, "
                                f"got {self.lexicon_pooling!r}")
        check_positive(self, "char_dim", "seg_dim", "hidden_size", "max_chunk_length", "lexicon_dim")
        for name, feature in (("bigram_dim", "bigrams"), ("radical_dim", "radicals")):
            if getattr(self, name) < 0:
                raise BrandnerError(f"model.{name} must be >= 0 (0 turns {feature} off), got {getattr(self, name)}")
        object.__setattr__(self, "lexicon", _word_lists(self.lexicon))
        try:  # "TYPE=FILE" items, a type's files together in order of first appearance
            items = tuple(f"{t}={f}" for t, files in parse_gazetteers(_strings("gazetteers", self.gazetteers)).items()
                          for f in files)
        except BrandnerError as error:
            raise BrandnerError(f"model.gazetteers: {error}") from None
        object.__setattr__(self, "gazetteers", items)
        corpora = _strings("corpora", self.corpora)
        corpora = (corpora,) if isinstance(corpora, str) else corpora
        if not all(corpora) or any(":" in name for name in corpora) or len(set(corpora)) != len(corpora):
            raise BrandnerError(f"model.corpora must name distinct corpora without ':', got {list(corpora)!r}")
        object.__setattr__(self, "corpora", corpora)
        for name in ("dropout", "output_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise BrandnerError(f"model.{name} must be in [0, 1), got {getattr(self, name)}")


@dataclass(frozen=True)
class TrainConfig:
    """How to train: optimiser, batches, stopping, reproducibility."""

    lr: float = 1e-3
    lr_decay: float = 0.0  # epoch e trains at lr / (1 + lr_decay * (e - 1)) (NCRF++'s schedule); 0 = constant
    clip: float = 5.0
    batch_size: int = 20
    # Stop after max_epochs, or after patience epochs without a better dev F1 (counted from the
    # first epoch whose dev F1 is above 0) in which at least patience_sentences training
    # sentences were read: on a small training set an epoch is a handful of steps.
    max_epochs: int = 50
    patience: int = 8
    patience_sentences: int = 10000
    seed: int = 1
    # Characters seen fewer times in training read as <UNK>; a character (bigram, lexicon
    # word) seen once is read as <UNK> with probability unk_replace while training.
    min_char_count: int = 1
    unk_replace: float = 0.5
    # While training, each sentence reads each typed gazetteer as matching nothing with this
    # probability, so that context, not the list alone, must find the entities (0 = off).
    gazetteer_dropout: float = 0.0
    # Each training sentence with an entity of a gazetteer's type gets, with this probability, a
    # copy whose such entities are names invented from the list's characters, read as listed
    # (brandner.data.swaps): a name added to a list at tagging time is then found (0 = off).
    # Above 1: copies per sentence (2: two each, with other names; at most MAX_SWAPS).
    gazetteer_swaps: float = 0.0
    # The gazetteer types swapped (e.g. brands, not products: a product list names kinds of
    # things, not names one could invent); empty = every type.
    gazetteer_swap_types: tuple[str, ...] = ()
    # Evaluate and keep an exponential moving average of the weights, with this decay per
    # step (e.g. 0.999); 0 = the weights as trained.
    weight_average: float = 0.0
    # Training processes, each taking its own batch (brandner.training.parallel); results depend on
    # it (a run of W batches takes W steps from gradients at the run's first weights) but
    # not on timing. 0 = as many as the CPUs this process may use (brandner.cpus; 1 with
    # sparse_embeddings), so the numbers depend on the machine: set it for runs that must match.
    workers: int = 0
    # Sparse gradients and lazy Adam updates (torch's SparseAdam) for the bigram and lexicon
    # word tables: only the rows a batch uses move (brandner.training.optim). Faster with large tables;
    # other numbers than dense Adam, so off by default. Needs workers = 1.
    sparse_embeddings: bool = False
    # Pretrained vectors: a word2vec text file of character vectors, or a folder
    # written by `brandner embed` (chars.vec, bigrams.vec, words.vec; see brandner.data.vectors).
    embeddings: str = ""
    # Where the network and the CRF's loss run: "cpu", "cuda" (or "cuda:N"), or "auto": CUDA
    # when torch sees a CUDA device, else the CPU (brandner.model.device). On a GPU, training
    # is one process (workers = 1). A --resume may change it.
    device: str = "auto"

    def __post_init__(self) -> None:
        _check_finite(self)
        check_device_name(self.device, "train.device")
        check_positive(self, "lr", "batch_size", "max_epochs", "patience", "min_char_count")
        if self.workers < 0:
            raise BrandnerError(f"train.workers must be 0 (as many as the CPUs allow) or more, got {self.workers}")
        if self.patience_sentences < 0:
            raise BrandnerError(f"train.patience_sentences must be >= 0, got {self.patience_sentences}")
        if not 0.0 <= self.unk_replace < 1.0:
            raise BrandnerError(f"train.unk_replace must be in [0, 1), got {self.unk_replace}")
        if not 0.0 <= self.gazetteer_dropout < 1.0:
            raise BrandnerError(f"train.gazetteer_dropout must be in [0, 1), got {self.gazetteer_dropout}")
        if not 0.0 <= self.gazetteer_swaps <= MAX_SWAPS:
            raise BrandnerError(f"train.gazetteer_swaps must be in [0, {MAX_SWAPS}] (a probability, or above 1 "
                                f"copies per sentence), got {self.gazetteer_swaps}")
        swap_types = self.gazetteer_swap_types
        if isinstance(swap_types, str):  # --set gazetteer_swap_types=HP,BRAND
            swap_types = tuple(part.strip() for part in swap_types.split(",") if part.strip())
        if not isinstance(swap_types, (list, tuple)) or not all(isinstance(t, str) and t for t in swap_types):
            raise BrandnerError(f"train.gazetteer_swap_types must list gazetteer types, got {swap_types!r}")
        object.__setattr__(self, "gazetteer_swap_types", tuple(swap_types))
        if not 0.0 <= self.weight_average < 1.0:
            raise BrandnerError(f"train.weight_average must be in [0, 1) (0 turns it off), got {self.weight_average}")
        if self.lr_decay < 0:
            raise BrandnerError(f"train.lr_decay must be >= 0 (0 keeps lr constant), got {self.lr_decay}")
        if self.sparse_embeddings and self.workers > 1:
            raise BrandnerError("train.sparse_embeddings needs train.workers = 1 (parallel training "
                                "updates every table densely)")
        if self.clip < 0:
            raise BrandnerError(f"train.clip must be >= 0 (0 turns clipping off), got {self.clip}")

    def resolved(self, gpu: bool = False) -> "TrainConfig":
        """This config with ``workers = 0`` replaced by the number of processes it means here:
        one with ``sparse_embeddings`` or on a ``gpu``, else as many as the CPUs allow."""
        if self.workers:
            return self
        from brandner.cpus import available_cpus

        return dataclasses.replace(self, workers=1 if self.sparse_embeddings or gpu else available_cpus())


@dataclass(frozen=True)
class Config:
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {"model": dataclasses.asdict(self.model), "train": dataclasses.asdict(self.train)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> "Config":
        unknown = set(data) - {"model", "train"}
        if unknown:
            raise BrandnerError(f"{source}: unknown section {sorted(unknown)[0]!r}; expected 'model' or 'train'")
        return cls(model=_build(ModelConfig, data.get("model", {}), "model", source),
                   train=_build(TrainConfig, data.get("train", {}), "train", source))


# Named sets of settings (``train --preset NAME``), over the defaults and under a config file and
# --set. "accurate": the most accurate recipe measured (docs/configuration.md); `brandner train`
# also trains its vectors on the training text first (brandner.training.presets).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "accurate": {"model": {"lexicon": ["jieba"], "radical_dim": 50}, "train": {"weight_average": 0.998}},
}
# What a preset's vectors learn from (brandner.training.presets.vector_texts): the training text and
# the named corpora's on disk, or the training text alone.
VECTOR_TEXTS = ("corpora", "training")


def load_config(path: str | Path | None = None, overrides: Iterable[str] = (), preset: str | None = None) -> Config:
    """Defaults, then the ``preset``'s settings (see :data:`PRESETS`), then the TOML file (if any),
    then ``KEY=VALUE`` overrides in order.

    An override key is ``section.key`` or a bare key that only one section has.
    """
    if preset is not None and preset not in PRESETS:
        raise BrandnerError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
    data: dict[str, dict[str, Any]] = {section: dict(PRESETS[preset][section]) if preset else {}
                                       for section in ("model", "train")}
    if path is not None:
        try:
            loaded = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise BrandnerError(f"{path}: not valid TOML: {error}") from None
        except UnicodeDecodeError:
            raise BrandnerError(f"{path}: not UTF-8 text (TOML files are UTF-8)") from None
        except (RecursionError, ValueError) as error:  # past Python's nesting or integer-digit limits
            raise BrandnerError(f"{path}: not readable TOML: {_past_limits(error)}") from None
        Config.from_dict(loaded, str(path))  # validates before merging
        for section, values in loaded.items():
            data[section].update(values)
    for override in overrides:
        section, key, value = _parse_override(override)
        data[section][key] = value
    return Config.from_dict(data)


def _parse_override(text: str) -> tuple[str, str, Any]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise BrandnerError(f"--set expects KEY=VALUE, got {text!r}")
    section, _, name = key.rpartition(".")
    fields = {s: {f.name for f in dataclasses.fields(c)} for s, c in (("model", ModelConfig), ("train", TrainConfig))}
    if not section:
        owners = [s for s, names in fields.items() if name in names]
        if len(owners) != 1:
            raise BrandnerError(f"unknown setting {key!r}; known: {_known(fields)}")
        section = owners[0]
    if section not in fields or name not in fields[section]:
        raise BrandnerError(f"unknown setting {key!r}; known: {_known(fields)}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError as error:
        if raw.strip().startswith(('"', "'")):  # meant as a TOML string, so not a bare word
            raise BrandnerError(f"--set {key}: {raw.strip()} is not a valid TOML string ({error})") from None
        value = raw.strip()  # a bare word is a string
    except (RecursionError, ValueError) as error:
        raise BrandnerError(f"--set {key}: {_past_limits(error)}") from None
    return section, name, value


def _past_limits(error: Exception) -> str:
    """What tomllib's RecursionError or integer-conversion ValueError means, in a few words."""
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return past_python_limit(error).lower()


def _word_lists(value: object) -> tuple[str, ...]:
    """``model.lexicon`` as a tuple: a list of word lists, or one string with commas between them."""
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",")] if value else []
    else:
        parts = list(_strings("lexicon", value))
    if not all(parts):
        raise BrandnerError(f"model.lexicon must list word lists (a list, or names separated by commas), got {value!r}")
    return tuple(parts)


def _strings(name: str, value: object) -> str | tuple[str, ...]:
    """A string as it is, or a list or tuple of strings as a tuple; anything else an error."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise BrandnerError(f"model.{name} must be a list of strings, got {value!r}")


def _known(fields: dict[str, set[str]]) -> str:
    return ", ".join(f"{s}.{n}" for s, names in fields.items() for n in sorted(names))


def _build(cls: type, values: dict[str, Any], section: str, source: str):
    if not isinstance(values, dict):
        raise BrandnerError(f"{source}: [{section}] must be a table")
    types = {f.name: f.type for f in dataclasses.fields(cls)}
    for key, value in values.items():
        if key not in types:
            raise BrandnerError(f"{source}: unknown setting '{section}.{key}'; known: {', '.join(sorted(types))}")
        expected = {"int": int, "float": (int, float), "bool": bool, "str": str,
                    "tuple[str, ...]": (str, list, tuple)}[types[key]]
        if not isinstance(value, expected) or (types[key] in ("int", "float") and isinstance(value, bool)):
            raise BrandnerError(f"{source}: '{section}.{key}' must be {types[key]}, got {value!r}")
    converted = {k: float(v) if types[k] == "float" else v for k, v in values.items()}
    return cls(**converted)


def check_positive(config: Any, *names: str, prefix: str | None = None) -> None:
    """Each setting ``names`` of ``config`` must be above 0; the error names it as ``prefix + name``
    (default: its section, ``model.`` or ``train.``)."""
    for name in names:
        if getattr(config, name) <= 0:
            label = f"{_section(config)}.{name}" if prefix is None else prefix + name.replace("_", "-")
            raise BrandnerError(f"{label} must be positive, got {getattr(config, name)}")


def check_segmenter(segmenter: str, label: str = "model.segmenter") -> None:
    if segmenter not in SEGMENTERS:
        raise BrandnerError(f"{label} must be one of {', '.join(SEGMENTERS)}, got {segmenter!r}")


def _section(config: Any) -> str:
    return "model" if isinstance(config, ModelConfig) else "train"


DEVICE_NAMES = "auto, cpu, cuda or cuda:N"
MAX_SWAPS = 4  # train.gazetteer_swaps: copies per sentence at most


def check_device_name(name: object, what: str = "device") -> None:
    """A BrandnerError unless ``name`` names a device brandner runs on (:data:`DEVICE_NAMES`);
    whether that device is there is brandner.model.device's to say (it imports torch)."""
    if not isinstance(name, str) or re.fullmatch(r"auto|cpu|cuda(:[0-9]+)?", name) is None:
        raise BrandnerError(f"{what} must be {DEVICE_NAMES}, got {name!r}")


def _check_finite(config: Any) -> None:
    """NaN passes every range check written with comparisons, and inf every lower bound."""
    section = _section(config)
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if field.type == "float" and not math.isfinite(value):
            raise BrandnerError(f"{section}.{field.name} must be a finite number, got {value}")
