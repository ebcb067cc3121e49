"""The error report of an evaluation as one self-contained HTML page (``brandner evaluate
--errors-html``): the scores and error tables, then each sentence with an error, its gold and
predicted entities side by side, the errors listed, and a filter by type and kind of error.

The page loads nothing (its style and script are inline) and escapes every piece of text.
"""

from __future__ import annotations

import html
import json
from typing import Sequence

from brandner.data.error_analysis import KIND_NAMES, ErrorAnalysis
from brandner.data.metrics import ERROR_KINDS, Report, SpanError, span_errors
from brandner.data.sentence import Sentence, Span
from brandner.reports.html import Html, highlight, legend, page, table, type_colors

# Sentences shown at most: a page a person reads (and a browser opens); the tables count them all.
LIMIT = 2000

STYLE = """
body { font-family: sans-serif; margin: 1em 2em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
#sentences th, #sentences td { text-align: left; vertical-align: top; }
#sentences td.text { width: 38%; }
mark.error { outline: 2px solid #d62728; }
ul.errors { margin: 0; padding-left: 1.2em; }
.summary { display: flex; flex-wrap: wrap; gap: 0 2.5em; }
"""

# Shows the rows with at least one error of the chosen kind and type (either side's type).
SCRIPT = """
const rows = Array.from(document.querySelectorAll("#sentences tbody tr"));
function filter() {
  const type = document.getElementById("type").value, kind = document.getElementById("kind").value;
  let shown = 0;
  for (const row of rows) {
    const keep = JSON.parse(row.dataset.errors).some(([k, t]) => (!kind || k === kind) && (!type || t === type));
    row.hidden = !keep;
    shown += keep;
  }
  document.getElementById("shown").textContent = shown;
}
document.getElementById("type").addEventListener("change", filter);
document.getElementById("kind").addEventListener("change", filter);
filter();
"""


def error_page(sentences: Sequence[Sentence], predicted: Sequence[Sequence[Span]], report: Report,
               analysis: ErrorAnalysis, limit: int = LIMIT, title: str = "brandner: errors") -> str:
    """The page of ``report`` and ``analysis`` (of ``predicted``, spans per sentence, against the
    sentences' spans), showing the first ``limit`` sentences with an error and saying how many
    more there are."""
    if len(sentences) != len(predicted):
        raise ValueError(f"{len(sentences)} gold sentences but {len(predicted)} predicted")
    if limit < 0:
        raise ValueError(f"limit must be 0 or more sentences, got {limit}")
    colors = type_colors(analysis.per_type)
    rows, attributes = [], []
    for number, (sentence, spans) in enumerate(zip(sentences, predicted), 1):
        if len(rows) == limit:
            break
        if errors := span_errors(sentence.spans, spans):
            rows.append(_sentence_row(number, sentence, spans, errors, colors))
            attributes.append({"data-errors": json.dumps(_filter_keys(errors), ensure_ascii=False)})
    left_out = analysis.sentences_with_errors - len(rows)
    body = "".join([
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{analysis.sentences} sentences, {analysis.sentences_with_errors} with errors.</p>",
        '<div class="summary">', _section("Scores", _scores_table(report)),
        _section("Errors per type", _counts_table(analysis)),
        _section("Confusion (rows gold, columns predicted)", _confusion_table(analysis)),
        *(_section(f"Most often {kind}", table(["count", "type", "word"], [(w.count, w.type, w.word) for w in words]))
          for kind, words in analysis.top.items()), "</div>",
        "<h2>Sentences with errors</h2>", legend(colors), _filters(analysis),
        f'<p>Showing <span id="shown">{len(rows)}</span> of {len(rows)} sentences'
        + (f"; {left_out} more with errors left out (at most {limit} on a page).</p>" if left_out else ".</p>"),
        '<div id="sentences">', table(["#", "gold", "predicted", "errors"], rows, attributes), "</div>"])
    return page(title, body, STYLE, SCRIPT)


def _sentence_row(number: int, sentence: Sentence, predicted: Sequence[Span], errors: list[SpanError],
                  colors: dict[str, str]) -> tuple:
    wrong_gold = {e.gold for e in errors if e.gold}
    wrong_predicted = {e.predicted for e in errors if e.predicted}

    def marked(spans: Sequence[Span], wrong: set[Span]) -> Html:
        entities = [{**s.to_dict(sentence.text), "class": "error" if s in wrong else ""} for s in spans]
        return Html(highlight({"string": sentence.text, "entities": entities}, colors))

    listed = "".join(f'<li data-kind="{e.kind}">{html.escape(_describe(e, sentence.text))}</li>' for e in errors)
    return (number, marked(sorted(set(sentence.spans)), wrong_gold), marked(sorted(set(predicted)), wrong_predicted),
            Html(f'<ul class="errors">{listed}</ul>'))


def _describe(error: SpanError, text: str) -> str:
    """``wrong boundary: 特步 SHOE -> 特步鞋 SHOE``."""
    sides = [f"{text[s.start:s.end]} {s.type}" for s in (error.gold, error.predicted) if s]
    return f"{KIND_NAMES[error.kind]}: {' -> '.join(sides)}"


def _filter_keys(errors: list[SpanError]) -> list[list[str]]:
    """``[kind, type]`` for each error and each type it involves, for the page's filter."""
    keys = {(e.kind, s.type) for e in errors for s in (e.gold, e.predicted) if s}
    return [list(key) for key in sorted(keys)]


def _filters(analysis: ErrorAnalysis) -> str:
    def options(pairs: list[tuple[str, str]]) -> str:
        return "".join(f'<option value="{html.escape(v)}">{html.escape(label)}</option>' for v, label in pairs)

    types = options([("", "every type"), *((t, t) for t in analysis.per_type)])
    kinds = options([("", "every kind"), *((k, KIND_NAMES[k]) for k in ERROR_KINDS)])
    return (f'<p><label>type <select id="type">{types}</select></label> '
            f'<label>error <select id="kind">{kinds}</select></label></p>')


def _section(heading: str, content: str) -> str:
    return f"<section><h3>{html.escape(heading)}</h3>{content}</section>"


def _scores_table(report: Report) -> str:
    rows = [(name, f"{s.precision * 100:.2f}", f"{s.recall * 100:.2f}", f"{s.f1 * 100:.2f}", s.support)
            for name, s in [*sorted(report.per_type.items()), ("micro", report.micro)]]
    return table(["type", "precision", "recall", "f1", "support"], rows)


def _counts_table(analysis: ErrorAnalysis) -> str:
    rows = [(name, *(counts[k] for k in ERROR_KINDS))
            for name, counts in [*analysis.per_type.items(), ("total", analysis.totals())]]
    return table(["type", *(KIND_NAMES[k] for k in ERROR_KINDS)], rows)


def _confusion_table(analysis: ErrorAnalysis) -> str:
    names = list(analysis.confusion)
    return table(["gold \\ predicted", *names], [(gold, *(row[p] for p in names)) for gold, row in
                                                 analysis.confusion.items()])
