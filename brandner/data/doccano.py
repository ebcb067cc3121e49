"""doccano's sequence-labelling JSON lines, read in both of its shapes::

    {"id": 7, "text": "我买了特步鞋", "label": [[3, 5, "SHOE"]]}
    {"id": 7, "text": "我买了特步鞋", "entities": [{"id": 1, "start_offset": 3, "end_offset": 5, "label": "SHOE"}]}

(``end`` exclusive; the second shape is newer doccano's, whose export may add ``relations``);
``id`` and other fields are ignored. Written in the ``label`` shape, which every doccano version
imports.

Offsets are read as Python counts characters (code points). doccano's editor counts a character
beyond U+FFFF (most emoji) as two unless the project counts grapheme clusters (doccano issue
2290), so an entity after such a character may be shifted: reading warns of entities that lie
after one, and a span past the text's end says why it may be.
"""

from __future__ import annotations

import logging
import re
from typing import Iterable, Mapping

from brandner.data.records import (
    RawSpans,
    ReadResult,
    checked_span,
    parse_json_lines,
    record_text,
)
from brandner.data.sentence import Sentence
from brandner.errors import InputFileError, quote

log = logging.getLogger("brandner")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_UTF16_HINT = ("; the text has a character beyond U+FFFF, which doccano's editor counts as two "
               "(doccano issue 2290)")


def parse_doccano(lines: Iterable[str], path: str = "<lines>", overlaps: str = "error") -> ReadResult:
    """Sentences from the lines of a doccano JSONL file (see the module docstring)."""
    found = parse_json_lines(lines, path, overlaps, _doccano_spans)
    after = sum(_after_astral(sentence) for sentence in found.sentences)
    if after:
        log.warning("%s: %d entities end after a character beyond U+FFFF (an emoji, say); if doccano's editor "
                    "made them, check that they are not shifted (doccano counts such a character as two)",
                    path, after)
    return found


def doccano_record(sentence: Sentence) -> dict:
    """A sentence as doccano imports it: ``{"text", "label": [[start, end, type], ...]}``."""
    return {"text": sentence.text, "label": [[span.start, span.end, span.type] for span in sentence.spans]}


def tagged_record(tagged: Mapping) -> dict:
    """One of ``brandner tag``'s output records (``{"string", "entities", ...}``) as doccano
    imports it: ``{"text", "label": [[start, end, type], ...], ...}``, the other fields kept
    (doccano shows them as metadata); entity scores have no place there and are left out."""
    others = {key: value for key, value in tagged.items() if key not in ("string", "entities", "label")}
    label = [[entity["start"], entity["end"], entity["type"]] for entity in tagged["entities"]]
    return {**others, "text": tagged["string"], "label": label}


def _after_astral(sentence: Sentence) -> int:
    """How many of the sentence's entities end after its first character beyond U+FFFF."""
    first = _ASTRAL.search(sentence.text) if sentence.spans else None
    return sum(span.end > first.start() for span in sentence.spans) if first else 0


def _doccano_spans(record: dict, path: str, number: int) -> RawSpans:
    text = record_text(record, ("text",), path, number)
    label, entities = record.get("label"), record.get("entities")
    if label and entities:
        raise InputFileError(path, number, "both 'label' and 'entities': a doccano record has one or the other")
    try:
        if entities:
            return text, _entity_spans(text, entities, (path, number))
        return text, _label_spans(text, label or [], (path, number))
    except InputFileError as error:
        if "outside the text" in error.message and _ASTRAL.search(text):
            raise InputFileError(path, number, error.message + _UTF16_HINT) from None
        raise


def _label_spans(text: str, label: object, at: tuple[str, int]) -> list:
    if not isinstance(label, list):
        raise InputFileError(*at, "'label' must be a list of [start, end, type]"
                                  + ("; an object is CLUENER2020's 'label': read it as 'cluener'"
                                     if isinstance(label, dict) else ""))
    spans = []
    for k, item in enumerate(label, start=1):
        if not (isinstance(item, list) and len(item) == 3):
            raise InputFileError(*at, f"label {k}: expected [start, end, type], got {quote(item)}")
        spans.append(checked_span(text, item[0], item[1], item[2], None, f"label {k}", at))
    return spans


def _entity_spans(text: str, entities: object, at: tuple[str, int]) -> list:
    if not isinstance(entities, list):
        raise InputFileError(*at, "'entities' must be a list of {start_offset, end_offset, label}")
    spans = []
    for k, entity in enumerate(entities, start=1):
        if not isinstance(entity, dict):
            raise InputFileError(*at, f"entity {k} is not an object")
        spans.append(checked_span(text, entity.get("start_offset"), entity.get("end_offset"), entity.get("label"),
                                  None, f"entity {quote(entity.get('id', k))}", at))
    return spans
