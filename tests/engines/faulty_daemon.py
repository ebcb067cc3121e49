"""Spark's Python daemon for the tests (``spark.python.daemon.module``), with one real fault in
the workers it forks: Tagger.predict raises for any text that holds FAULT. It lets the tests see
a row fail inside a real Spark job, through the real adapter. Only the daemon is patched: a
test that imports FAULT from here leaves its own process's Tagger alone."""

FAULT = "\u2620fail"


def break_predict() -> None:
    """Make Tagger.predict raise for a text holding FAULT, in this process and those it forks."""
    from brandner.tagging.tagger import Tagger

    predict = Tagger.predict

    def faulty(self, texts, **options):
        if any(FAULT in text for text in ([texts] if isinstance(texts, str) else texts)):
            raise RuntimeError("a fault made by the test")
        return predict(self, texts, **options)

    Tagger.predict = faulty


if __name__ == "__main__":
    import pyspark.daemon

    break_predict()
    pyspark.daemon.manager()
