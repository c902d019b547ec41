"""Tokenization and vocabulary."""

from interpnet.text.tokenizer import detokenize, tokenize, words
from interpnet.text.vocabulary import Vocabulary

__all__ = ["Vocabulary", "detokenize", "tokenize", "words"]
