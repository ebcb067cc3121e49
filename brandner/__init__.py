"""brandner: brand and named-entity recognition for Chinese text with a BiLSTM-CRF.

>>> from brandner import Tagger                       # doctest: +SKIP
>>> Tagger.load("model.pt").predict("我买了特步鞋")     # doctest: +SKIP
{'string': '我买了特步鞋', 'entities': [{'word': '特步', 'type': 'SHOE', 'start': 3, 'end': 5}]}
"""

from brandner.data.sentence import Sentence, Span
from brandner.tagging.tagger import Tagger

__version__ = "0.1.0"
__all__ = ["Sentence", "Span", "Tagger", "__version__"]
