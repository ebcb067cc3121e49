"""Settings: defaults, TOML files, overrides, and errors that name the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from brandner.config import Config, ModelConfig, TrainConfig, load_config
from brandner.errors import BrandnerError


def test_defaults_are_the_documented_ones():
    config = load_config()
    assert config.model == ModelConfig(char_dim=100, seg_dim=20, hidden_size=100, dropout=0.5, head="crf")
    assert (config.train.lr, config.train.clip, config.train.batch_size) == (1e-3, 5.0, 20)


def test_the_readme_settings_block_lists_every_setting_with_its_default(tmp_path):
    """README.md's ``[model]``/``[train]`` block is a config file of the defaults, all keys."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("```toml\n[model]", 1)[1].split("```", 1)[0]
    documented = tomllib.loads("[model]" + block)
    defaults = Config().to_dict()
    assert documented == defaults
    path = tmp_path / "readme.toml"
    path.write_text("[model]" + block, encoding="utf-8")
    assert load_config(path) == Config()


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


def test_configs_are_frozen():
    with pytest.raises(Exception):
        TrainConfig().lr = 3  # type: ignore[misc]
