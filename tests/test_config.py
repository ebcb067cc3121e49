"""Settings: defaults, TOML files, overrides, and errors that name the key."""

from __future__ import annotations

import dataclasses
import re
import tomllib

import pytest

from brandner.config import Config, ModelConfig, TrainConfig, load_config
from brandner.errors import BrandnerError
from tests.conftest import REPO


def test_defaults_are_the_documented_ones():
    config = load_config()
    assert config.model == ModelConfig(char_dim=100, seg_dim=20, hidden_size=100, dropout=0.5, head="crf")
    assert (config.train.lr, config.train.clip, config.train.batch_size) == (1e-3, 5.0, 20)


def test_the_configuration_page_lists_every_setting_with_its_default():
    """docs/configuration.md's [model] and [train] tables: one row per setting, with its default."""
    page = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    for section, cls in (("model", ModelConfig), ("train", TrainConfig)):
        table = page.split(f"## `[{section}]`", 1)[1].split("\n## ", 1)[0]
        rows = [line.split("|")[1:4] for line in table.splitlines() if line.startswith("| `")]
        documented = {name.strip().strip("`"): tomllib.loads(f"v = {default.strip().strip('`')}")["v"]
                      for name, _, default in rows}
        defaults = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cls()).items()}
        assert documented == defaults, section


def test_toml_then_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[model]\nhidden_size = 64\nhead = "softmax"\n[train]\nlr = 1\n', encoding="utf-8")
    config = load_config(path, ["model.hidden_size=32", "batch_size=8", "embeddings=vec.txt"])
    assert config.model.hidden_size == 32 and config.model.head == "softmax"
    assert config.train.lr == 1.0 and isinstance(config.train.lr, float)
    assert config.train.batch_size == 8 and config.train.embeddings == "vec.txt"


def test_round_trip_through_dict():
    config = load_config(None, ["dropout=0.2", "seed=7"])
    assert Config.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("toml,message", [
    ("[model]\nhiden_size = 3\n", "unknown setting 'model.hiden_size'"),
    ("[optim]\nlr = 1\n", "unknown section 'optim'"),
    ("[train]\nbatch_size = 'x'\n", "'train.batch_size' must be int"),
    ("[model]\nhead = 'mlp'\n", "model.head must be one of"),
    ("[model\n", "not valid TOML"),
])
def test_bad_files_are_errors_naming_the_problem(tmp_path, toml, message):
    path = tmp_path / "bad.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(BrandnerError, match=message.replace("[", r"\[")):
        load_config(path)


@pytest.mark.parametrize("override,message", [
    ("nope=1", "unknown setting 'nope'"), ("model.lr=1", "unknown setting 'model.lr'"),
    ("batch_size=0", "must be positive"), ("novalue", "KEY=VALUE"), ("dropout=true", "must be float"),
    ("lr=nan", "train.lr must be a finite number, got nan"), ("lr=inf", "train.lr must be a finite number"),
    ("lr_decay=nan", "train.lr_decay must be a finite"), ("clip=inf", "train.clip must be a finite"),
    ("dropout=nan", "model.dropout must be a finite"), ('embeddings="a\\ud83d.vec"', "not a valid TOML string"),
])
def test_bad_overrides(override, message):
    with pytest.raises(BrandnerError, match=message):
        load_config(None, [override])


def test_a_config_file_that_is_not_utf8_is_an_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_bytes(b"[train]\nlr = 0.1 # \xff\n")
    with pytest.raises(BrandnerError, match="bad.toml: not UTF-8 text"):
        load_config(path)


@pytest.mark.parametrize("value, message", [("[" * 100_000 + "]" * 100_000, "nested too deeply"),
                                            ("1" * 5000, "exceeds the limit (4300 digits)")])
def test_toml_past_pythons_limits_is_an_error_not_a_traceback(tmp_path, value, message):
    path = tmp_path / "c.toml"
    path.write_text(f"[train]\nseed = {value}\n", encoding="utf-8")
    with pytest.raises(BrandnerError, match="^" + re.escape(f"{path}: not readable TOML: {message}")):
        load_config(path)
    with pytest.raises(BrandnerError, match="^" + re.escape(f"--set seed: {message}")):
        load_config(None, [f"seed={value}"])


def test_configs_are_frozen():
    with pytest.raises(Exception):
        TrainConfig().lr = 3  # type: ignore[misc]


def test_a_preset_is_under_the_config_file_and_the_overrides(tmp_path):
    assert load_config(preset="accurate").model.lexicon == ("jieba",)
    assert load_config(preset="accurate").train.weight_average == 0.998
    assert load_config(preset="accurate").model.radical_dim == 50
    path = tmp_path / "c.toml"
    path.write_text("[train]\nweight_average = 0.99\n", encoding="utf-8")
    config = load_config(path, ["lexicon=my.txt"], preset="accurate")
    assert config.train.weight_average == 0.99 and config.model.lexicon == ("my.txt",)
    with pytest.raises(BrandnerError, match="unknown preset 'fast'; presets: accurate"):
        load_config(preset="fast")
