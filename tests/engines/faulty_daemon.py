"""Spark's Python daemon for the tests (``spark.python.daemon.module``), with one real fault in
the workers it forks: Tagger.predict raises for any text that holds FAULT. It lets the tests see
a row fail inside a real Spark job, through the real adapter."""

from brandner.tagging.tagger import Tagger

FAULT = "\u2620fail"
_predict = Tagger.predict


def _faulty(self, texts, **options):
    if any(FAULT in text for text in ([texts] if isinstance(texts, str) else texts)):
        raise RuntimeError("a fault made by the test")
    return _predict(self, texts, **options)


Tagger.predict = _faulty

if __name__ == "__main__":
    import pyspark.daemon

    pyspark.daemon.manager()
