"""brandner.spacy: the "brandner" pipeline component in real spaCy pipelines. The oracle is the
Tagger itself: every span of ``doc.ents`` is one of its entities, exactly (text, characters,
type, score), whatever spaCy's tokenizer made of the text."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

spacy = pytest.importorskip("spacy")

from spacy import displacy  # noqa: E402
from spacy.tokens import Doc  # noqa: E402
from spacy.training import Example  # noqa: E402

import brandner.spacy  # noqa: E402,F401 - registers the factory
from brandner.config import load_config  # noqa: E402
from brandner.data.corpora import load_split  # noqa: E402
from brandner.data.sentence import Sentence  # noqa: E402
from brandner.data.text import trim_span  # noqa: E402
from brandner.errors import BrandnerError  # noqa: E402
from brandner.spacy import BrandnerEntities, set_entities  # noqa: E402
from brandner.tagging.tagger import Tagger  # noqa: E402
from tests.conftest import REPO, synthetic_sentences  # noqa: E402

# Brands with Latin letters and a space inside; frames with spaces around them, as Chinese posts
# have: one between brand and product, two, leading and trailing ones, the full-width U+3000.
BRANDS = {"SHOE": ["特步", "耐克", "Nike", "new balance"], "DIGITAL": ["华为", "小米"]}
FRAMES = ["我买了{}鞋", "{} 鞋子真好看", " {}的新款不错 ", "推荐{}\u3000给大家", "昨天看到{}  和{}", "{}手机真好用",
          "\u3000{} 新款\u3000"]
# Texts and the entities the model finds in them (the tests check it still does: a test of a
# quirk is only one while the model finds the entity that meets it).
FOUND = {
    "我买了特步鞋": ["特步"],  # jieba: 特 / 步鞋
    " 特步  鞋子 ": ["特步"],  # a leading space token, a trailing space, a run of two
    "Nike 鞋子真好看": ["Nike"],
    "推荐new balance\u3000给大家": ["new balance"],  # a space inside; U+3000 after
    "我买了Nike鞋": ["Nike"],  # one token for spaCy's English tokenizer
    "昨天看到华为  和小米": ["华为", "小米"],
    "\u3000小米 新款\u3000": ["小米"],
    " new balance的新款不错 ": ["new balance"],
}
TEXTS = [*FOUND, "", "   ", "天气不错", "我买了特步鞋，" * 12]  # the last is tagged in chunks


def quirk_sentences(count: int, seed: int = 0) -> list[Sentence]:
    return synthetic_sentences(count, seed, brands=BRANDS, frames=FRAMES)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A tiny model that finds the brands of BRANDS in FRAMES (seconds on a CPU)."""
    from brandner.training.job import fit

    path = tmp_path_factory.mktemp("spacy-model") / "quirks.pt"
    config = load_config(None, ["max_epochs=8", "char_dim=16", "seg_dim=4", "hidden_size=16", "dropout=0.1",
                                "lr=0.02", "max_chunk_length=40"])
    fit(quirk_sentences(200), quirk_sentences(40, seed=1), config, path)
    return path


@pytest.fixture(scope="module")
def expected(model) -> dict[str, list[dict]]:
    """The Tagger's entities, with scores, for each of TEXTS."""
    results = Tagger.load(model).predict(TEXTS, scores=True)
    found = {text: [e["word"] for e in result["entities"]] for text, result in zip(TEXTS, results)}
    assert {text: found[text] for text in FOUND} == FOUND
    return {text: result["entities"] for text, result in zip(TEXTS, results)}


def pipeline(model: Path, lang: str = "zh", segmenter: str | None = None, **config: object) -> spacy.Language:
    nlp = spacy.blank(lang, config={"nlp": {"tokenizer": {"segmenter": segmenter}}} if segmenter else {})
    nlp.add_pipe("brandner", config={"model": str(model), **config})
    return nlp


def spans(doc: Doc) -> list[tuple]:
    return [(e.text, e.start_char, e.end_char, e.label_, e._.score, e._.canonical) for e in doc.ents]


def entities(found: list[dict]) -> list[tuple]:
    return [(e["word"], e["start"], e["end"], e["type"], e.get("score"), e.get("canonical")) for e in found]


TOKENIZERS = [("zh", None), ("zh", "jieba"), ("en", None), ("xx", None)]


@pytest.mark.parametrize("lang, segmenter", TOKENIZERS)
def test_the_spans_are_the_taggers_entities_whatever_the_tokens(model, expected, lang, segmenter):
    nlp = pipeline(model, lang, segmenter)
    for text in TEXTS:
        doc = nlp(text)
        assert doc.text == text  # a split keeps every character and space
        assert spans(doc) == entities(expected[text]), text
        for ent in doc.ents:  # whole tokens: the span is exactly its tokens
            assert "".join(t.text_with_ws for t in ent).rstrip(" ") == ent.text


@pytest.mark.parametrize("lang, segmenter", TOKENIZERS)
def test_every_brand_and_product_of_ecommerce_test_lands_on_its_characters(shared_data, lang, segmenter):
    """1,567 real spans in Taobao titles (Latin brands against Chinese, spaces inside and around),
    blanks trimmed from their ends as the Tagger trims them."""
    nlp = spacy.blank(lang, config={"nlp": {"tokenizer": {"segmenter": segmenter}}} if segmenter else {})
    count = 0
    for sentence in load_split("ecommerce", "test", shared_data):
        text = sentence.text
        found = [{"word": text[start:end], "type": span.type, "start": start, "end": end}
                 for span in sentence.spans if (bounds := trim_span(text, span.start, span.end))
                 for start, end in [bounds]]
        doc = nlp.make_doc(text)
        set_entities(doc, found)
        assert doc.text == text
        assert spans(doc) == entities(found), text
        count += len(found)
    assert count == 1567


def test_only_tokens_that_hold_more_than_an_entity_are_split(model):
    english = pipeline(model, "en")
    assert [t.text for t in english.make_doc("我买了Nike鞋")] == ["我买了Nike鞋"]
    assert [t.text for t in english("我买了Nike鞋")] == ["我买了", "Nike", "鞋"]
    doc = english("推荐new balance\u3000给大家")  # "推荐new" "balance" "\u3000" "给大家"
    assert [t.text for t in doc] == ["推荐", "new", "balance", "\u3000", "给大家"]
    assert [t.whitespace_ for t in doc] == ["", " ", "", "", ""]
    jieba = pipeline(model, "zh", "jieba")
    assert [t.text for t in jieba.make_doc("我买了特步鞋")] == ["我", "买", "了", "特", "步鞋"]
    assert [t.text for t in jieba("我买了特步鞋")] == ["我", "买", "了", "特", "步", "鞋"]
    chars = pipeline(model)
    for text in (" 特步  鞋子 ", "\u3000小米 新款\u3000"):
        doc = chars(text)
        assert [(t.text, t.whitespace_) for t in doc] == [(t.text, t.whitespace_) for t in chars.make_doc(text)]
        assert doc[0].is_space and doc.ents[0].start == 1


def test_other_alignments_keep_the_tokens_and_grow_shrink_or_drop_the_span(model, expected):
    score = expected["我买了Nike鞋"][0]["score"]
    docs = {mode: pipeline(model, "en", alignment=mode)("我买了Nike鞋") for mode in ("expand", "contract", "strict")}
    assert [(e.text, e.label_, e._.score) for e in docs["expand"].ents] == [("我买了Nike鞋", "SHOE", score)]
    assert docs["contract"].ents == () and docs["strict"].ents == ()
    assert all(len(doc) == 1 for doc in docs.values())
    # where the tokens fit, every mode gives the entity exactly
    for mode in ("expand", "contract", "strict"):
        doc = pipeline(model, "en", alignment=mode)("Nike 鞋子真好看")
        assert spans(doc) == entities(expected["Nike 鞋子真好看"])


def test_two_entities_that_expand_to_one_token_give_one_span(model):
    text = "华为和小米"  # one token for the English tokenizer
    found = [{"word": "华为", "type": "DIGITAL", "start": 0, "end": 2, "score": 0.9},
             {"word": "小米", "type": "DIGITAL", "start": 3, "end": 5, "score": 0.8}]
    doc = spacy.blank("en").make_doc(text)
    set_entities(doc, found, "expand")
    assert [(e.text, e._.score) for e in doc.ents] == [("华为和小米", 0.9)]
    doc = spacy.blank("en").make_doc(text)
    set_entities(doc, found, "split")
    assert [(e.text, e._.score) for e in doc.ents] == [("华为", 0.9), ("小米", 0.8)]


def ruled(model: Path, lang: str, overwrite_ents: bool) -> spacy.Language:
    """A pipeline where an entity ruler (another NER) runs before brandner."""
    nlp = spacy.blank(lang)
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PRODUCT", "pattern": "我买了Nike鞋", "id": "bought"},
                        {"label": "PRODUCT", "pattern": "Nike 鞋子真好看"}, {"label": "GREETING", "pattern": "大家好"}])
    nlp.add_pipe("brandner", config={"model": str(model), "overwrite_ents": overwrite_ents})
    return nlp


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_entities_already_there_stay_unless_told_to_overwrite(model, lang):
    text = "我买了Nike鞋 大家好"
    [nike] = Tagger.load(model).predict(text, scores=True)["entities"]
    kept = ruled(model, lang, overwrite_ents=False)(text)
    assert [(e.text, e.label_, e.id_, e._.score) for e in kept.ents] == [("我买了Nike鞋", "PRODUCT", "bought", None),
                                                                        ("大家好", "GREETING", "", None)]
    overwritten = ruled(model, lang, overwrite_ents=True)(text)
    assert [(e.text, e.start_char, e.label_, e.id_, e._.score) for e in overwritten.ents] == [
        ("Nike", 3, "SHOE", "", nike["score"]), ("大家好", 9, "GREETING", "", None)]
    # the old entity's other tokens are outside any entity now
    assert [t.ent_iob_ for t in overwritten if t.text in ("我买了", "我", "鞋")] == ["O", "O"]


def test_an_entity_beside_one_already_there_is_added(model):
    doc = ruled(model, "en", overwrite_ents=False)("Nike 鞋子真好看 大家好")  # PRODUCT "Nike 鞋子真好看" overlaps
    assert [(e.text, e.label_) for e in doc.ents] == [("Nike 鞋子真好看", "PRODUCT"), ("大家好", "GREETING")]
    doc = ruled(model, "en", overwrite_ents=False)("推荐new balance\u3000给大家 大家好")
    assert [(e.text, e.label_) for e in doc.ents] == [("new balance", "SHOE"), ("大家好", "GREETING")]


def test_a_parsed_doc_keeps_a_tree_when_a_token_is_split():
    vocab = spacy.blank("en").vocab
    doc = Doc(vocab, words=["好", "我买了Nike鞋", "!"], spaces=[True, False, False], heads=[1, 1, 1],
              deps=["nsubj", "ROOT", "punct"])
    set_entities(doc, [{"word": "Nike", "type": "SHOE", "start": 5, "end": 9, "score": 0.5}])
    assert [(t.text, t.head.text, t.dep_) for t in doc] == [
        ("好", "我买了", "nsubj"), ("我买了", "我买了", "ROOT"), ("Nike", "我买了", "dep"), ("鞋", "我买了", "dep"),
        ("!", "我买了", "punct")]
    assert doc.has_annotation("DEP") and doc.text == "好 我买了Nike鞋!"


def test_split_pieces_inherit_their_tokens_annotations_not_the_next_tokens():
    """spaCy's split fills the new pieces' slots with what the following tokens held (tags,
    entity ids, sentence starts) unless told what they are."""
    vocab = spacy.blank("en").vocab
    doc = Doc(vocab, words=["我买了Nike鞋", "大家好"], spaces=[True, False], tags=["NN", "VV"], pos=["NOUN", "VERB"],
              morphs=["", "Mood=Ind"], lemmas=["买", "好"], sent_starts=[True, True], ents=["O", "B-GREETING"])
    with doc.retokenize() as retokenizer:  # an entity id, as an entity ruler's pattern id sets it
        retokenizer.merge(doc[1:2], attrs={"ENT_ID": "greet"})
    set_entities(doc, [{"word": "Nike", "type": "SHOE", "start": 3, "end": 7, "score": 0.5}])
    assert [(t.text, t.tag_, t.pos_, str(t.morph), t.is_sent_start) for t in doc] == [
        ("我买了", "NN", "NOUN", "", True), ("Nike", "NN", "NOUN", "", False), ("鞋", "NN", "NOUN", "", False),
        ("大家好", "VV", "VERB", "Mood=Ind", True)]
    assert [t.lemma_ for t in doc][3] == "好"
    assert [(e.text, e.label_, e.id_, e._.score) for e in doc.ents] == [("Nike", "SHOE", "", 0.5),
                                                                      ("大家好", "GREETING", "greet", None)]
    assert [s.text for s in doc.sents] == ["我买了Nike鞋", "大家好"]


def test_span_groups_keep_their_characters_when_a_token_is_split():
    nlp = spacy.blank("en")
    doc = nlp.make_doc("我买了Nike鞋 大家好 推荐华为")
    doc.spans["sc"] = [doc[0:1], doc[1:2], doc.char_span(0, 12, label="POST")]
    doc.spans["sc"].attrs["scores"] = [0.1, 0.2, 0.3]
    set_entities(doc, [{"word": "Nike", "type": "SHOE", "start": 3, "end": 7, "score": 0.5},
                       {"word": "华为", "type": "DIGITAL", "start": 15, "end": 17, "score": 0.5}])
    assert [(s.text, s.start_char, s.label_) for s in doc.spans["sc"]] == [
        ("我买了Nike鞋", 0, ""), ("大家好", 9, ""), ("我买了Nike鞋 大家好", 0, "POST")]
    assert doc.spans["sc"].attrs["scores"] == [0.1, 0.2, 0.3]
    assert [t.text for t in doc.spans["sc"][0]] == ["我买了", "Nike", "鞋"]


def test_displacy_shows_the_entities(model):
    doc = pipeline(model)("推荐new balance\u3000给大家")
    html = displacy.render(doc, style="ent", jupyter=False)
    assert html.count("<mark") == 1
    assert "new balance" in html and "SHOE" in html


def test_pipe_tags_each_batch_in_one_call_and_gives_what_call_gives(model, expected):
    nlp = pipeline(model)
    component = nlp.get_pipe("brandner")
    calls = []
    predict = component.tagger.predict
    component.tagger.predict = lambda texts, **options: calls.append(len(texts)) or predict(texts, **options)
    docs = list(nlp.pipe(TEXTS, batch_size=5))
    assert calls == [5, 5, 2]
    assert [spans(doc) for doc in docs] == [entities(expected[text]) for text in TEXTS]


def test_min_score_drops_entities_and_scores_false_leaves_them_out(model, expected):
    text = "昨天看到华为  和小米"
    low = min(e["score"] for e in expected[text])
    doc = pipeline(model, min_score=low + 1e-3)(text)
    assert spans(doc) == [s for s in entities(expected[text]) if s[4] > low]
    doc = pipeline(model, scores=False)(text)
    assert [(e.text, e._.score) for e in doc.ents] == [(e["word"], None) for e in expected[text]]


def test_an_ensemble_tags_as_the_taggers_ensemble(model, tmp_path):
    shutil.copy(model, tmp_path / "second.pt")
    files = [str(model), str(tmp_path / "second.pt")]
    nlp = spacy.blank("zh")
    nlp.add_pipe("brandner", config={"model": files})
    results = Tagger.load(files).predict(TEXTS, scores=True)
    assert [spans(nlp(text)) for text in TEXTS] == [entities(r["entities"]) for r in results]


def test_a_saved_pipeline_tags_with_its_own_copy_of_the_model(model, expected, tmp_path):
    shutil.copy(model, tmp_path / "model.pt")
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    nlp.add_pipe("brandner", config={"model": str(tmp_path / "model.pt"), "min_score": 0.001})
    nlp.to_disk(tmp_path / "pipeline")
    (tmp_path / "model.pt").unlink()
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == ["brandner"] and loaded.get_pipe("brandner").min_score == 0.001
    shutil.rmtree(tmp_path / "pipeline")  # the model was loaded with the pipeline
    assert [spans(loaded(text)) for text in TEXTS] == [entities(expected[text]) for text in TEXTS]


BRAND_LIST = "特步\tXtep\nNIKE\tNike\nnew  balance\tNew Balance\n华为\n"


def test_canonical_brand_lists_name_the_spans_as_the_tagger_names_the_entities(model, tmp_path):
    (tmp_path / "brands.txt").write_text(BRAND_LIST, encoding="utf-8")
    nlp = pipeline(model, "en", canonical=[str(tmp_path / "brands.txt")])
    results = Tagger.load(model, canonical=tmp_path / "brands.txt").predict(TEXTS, scores=True)
    assert [spans(nlp(text)) for text in TEXTS] == [entities(r["entities"]) for r in results]
    names = {(e.text, e._.canonical) for doc in nlp.pipe(TEXTS) for e in doc.ents}
    assert {("Nike", "Nike"), ("new balance", "New Balance"), ("特步", "Xtep"), ("华为", "华为"),
            ("小米", None)} <= names
    one_file = pipeline(model, canonical=str(tmp_path / "brands.txt"))  # a path alone, not in a list
    assert [e._.canonical for e in one_file("我买了特步鞋").ents] == ["Xtep"]


def test_a_saved_pipeline_keeps_its_brand_lists(model, tmp_path):
    (tmp_path / "brands.txt").write_text(BRAND_LIST, encoding="utf-8")
    pipeline(model, canonical=[str(tmp_path / "brands.txt")]).to_disk(tmp_path / "pipeline")
    (tmp_path / "brands.txt").unlink()
    loaded = spacy.load(tmp_path / "pipeline")
    assert [(e.text, e._.canonical) for e in loaded("我买了Nike鞋").ents] == [("Nike", "Nike")]


def test_a_saved_pipeline_without_its_manifest_is_an_error_naming_it(model, tmp_path):
    pipeline(model).to_disk(tmp_path / "pipeline")
    manifest = tmp_path / "pipeline" / "brandner" / "brandner.json"
    for bad in ('{"models": 3, "canonical": []}', '{"models": [], "canonical": []}', '{"models": ["model0.pt"]}', "["):
        manifest.write_text(bad, encoding="utf-8")
        with pytest.raises(BrandnerError, match="brandner.json: not a brandner component manifest"):
            spacy.load(tmp_path / "pipeline")
    manifest.unlink()
    with pytest.raises(BrandnerError, match="brandner.json: not found"):
        spacy.load(tmp_path / "pipeline")


def test_a_missing_model_is_an_error_naming_it_and_spacys_error_handler_decides(tmp_path):
    nlp = pipeline(tmp_path / "missing.pt")  # not read until the first document
    with pytest.raises(BrandnerError, match="missing.pt: no such file .the model of the spaCy component"):
        nlp("我买了特步鞋")
    with pytest.raises(BrandnerError, match="missing.pt"):
        list(nlp.pipe(["我买了特步鞋"]))
    failed = []
    nlp.set_error_handler(lambda name, component, docs, error: failed.append((name, len(docs), type(error))))
    assert list(nlp.pipe(["我买了特步鞋", "推荐华为给大家"])) == []
    assert failed == [("brandner", 2, BrandnerError)]


def test_a_missing_brand_list_is_an_error_naming_it(model, tmp_path):
    nlp = pipeline(model, canonical=[str(tmp_path / "gone.txt")])
    with pytest.raises(BrandnerError, match="gone.txt: no such file .the canonical of the spaCy component"):
        nlp("我买了特步鞋")


@pytest.mark.parametrize("setting, value, message", [
    ("alignment", "tokens", "alignment must be one of split, expand, contract, strict"),
    ("min_score", 2, "min_score must be a probability"),
    ("batch_size", 0, "batch_size must be a whole number"),
    ("backend", "tensorflow", "backend must be one of"),
    ("model", [], "model must be a file's path or a list"),
    ("canonical", [], "canonical must be a file's path or a list"),
])
def test_bad_settings_are_refused_by_add_pipe(tmp_path, setting, value, message):
    config = {"model": str(tmp_path / "model.pt"), setting: value}
    with pytest.raises(ValueError, match=message):
        spacy.blank("zh").add_pipe("brandner", config=config)


def test_nlp_evaluate_scores_as_brandner_does(model):
    sentences = quirk_sentences(20, seed=2) + synthetic_sentences(20, seed=2)  # brands it never saw too
    nlp = pipeline(model)
    examples = [Example.from_dict(nlp.make_doc(s.text), {"entities": [(x.start, x.end, x.type) for x in s.spans]})
                for s in sentences]
    report = Tagger.load(model).evaluate(sentences)
    assert 0 < report.micro.f1 < 1
    assert nlp.evaluate(examples)["ents_f"] == pytest.approx(report.micro.f1)


def test_a_pickled_component_loads_its_own_tagger(model):
    import pickle

    nlp = pipeline(model)
    nlp("我买了特步鞋")
    copy = pickle.loads(pickle.dumps(nlp))
    component = copy.get_pipe("brandner")
    assert isinstance(component, BrandnerEntities) and component.name == "brandner" and component._tagger is None
    assert spans(copy("我买了Nike鞋")) == spans(nlp("我买了Nike鞋"))


FORKED = """
import sys
import spacy
import brandner.spacy
nlp = spacy.blank("zh")
nlp.add_pipe("brandner", config={"model": sys.argv[1], "backend": sys.argv[2]})
texts = ["我买了特步鞋", "推荐new balance\\u3000给大家"] * 20
alone = [[(e.text, e.label_) for e in nlp(text).ents] for text in texts]  # loaded here, before the fork
forked = [[(e.text, e.label_) for e in doc.ents] for doc in nlp.pipe(texts, n_process=2, batch_size=4)]
print(forked == alone and alone[1] == [("new balance", "SHOE")])
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_nlp_pipe_in_forked_processes_after_the_parent_tagged(model, backend):
    """The forked processes inherit a loaded Tagger whose thread pools stayed in the parent."""
    env = dict(os.environ, PYTHONPATH=str(REPO), BRANDNER_CPUS="2", OMP_NUM_THREADS="2")
    child = subprocess.Popen([sys.executable, "-c", FORKED, str(model), backend], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        out, err = child.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)  # spaCy's forked processes with it
        child.communicate()
        pytest.fail(f"nlp.pipe(n_process=2) with a {backend} model hung")
    assert child.returncode == 0, err[-3000:]
    assert out.strip() == "True"


def test_spacy_finds_the_factory_through_the_entry_point_with_no_import(model, tmp_path):
    """The entry points of pyproject.toml, as an installed distribution's metadata declares them:
    spaCy imports brandner.spacy itself when a pipeline asks for "brandner"."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["optional-dependencies"]["spacy"] == ["spacy>=3.7,<4"]
    declared = project["entry-points"]["spacy_factories"]
    assert declared == {"brandner": "brandner.spacy:make_brandner"}
    info = tmp_path / "brandner_entry_points-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brandner-entry-points\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[spacy_factories]\n" + "".join(f"{k} = {v}\n" for k, v in declared.items()))
    code = ("import sys, spacy; before = 'brandner.spacy' in sys.modules; nlp = spacy.blank('zh'); "
            "nlp.add_pipe('brandner', config={'model': sys.argv[1]}); "
            "print(before, [(e.text, e.label_) for e in nlp('我买了Nike鞋').ents])")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(tmp_path)]))
    result = subprocess.run([sys.executable, "-c", code, str(model)], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "False [('Nike', 'SHOE')]"


def test_the_docs_list_every_setting_with_its_default():
    page = (REPO / "docs" / "spacy.md").read_text(encoding="utf-8")
    table = page.split("## Settings")[1].split("\n\n")[1]
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", table, re.MULTILINE))
    defaults = spacy.Language.get_factory_meta("brandner").default_config
    assert rows.pop("model") == "required"
    assert {key: json.loads(value.strip().strip("`")) for key, value in rows.items()} == defaults


def test_importing_brandner_never_imports_spacy():
    code = "import sys, brandner, brandner.tagging.tagger; print('spacy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "False"


def test_the_installed_entry_point_finds_the_factory_without_importing_brandner(tiny_model):
    """``pip install brandner`` registers the factory with spaCy: a fresh interpreter that never
    imports brandner itself gets the component from ``nlp.add_pipe("brandner")``."""
    script = ("import sys, spacy; nlp = spacy.blank('zh'); nlp.add_pipe('brandner', config={'model': sys.argv[1]}); "
              "print([e.label_ for e in nlp('我买了特步鞋').ents])")
    result = subprocess.run([sys.executable, "-c", script, str(tiny_model)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['SHOE']"
