"""Word/punctuation tokenizer and detokenizer for explanation sentences."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*|[^\w\s]|_")
_NO_SPACE_BEFORE = {".", ",", "!", "?", ";", ":", ")", "'s"}
_NO_SPACE_AFTER = {"("}


def tokenize(sentence: str, end_with_period: bool = True) -> list[str]:
    """Lowercase and split a sentence into words and punctuation marks.

    With ``end_with_period`` the token list always ends with ``"."`` (one is appended when the
    sentence has no final punctuation), as the explainer is trained to end sentences with it.
    """
    tokens = _TOKEN.findall(sentence.lower().strip())
    if end_with_period and tokens and tokens[-1] not in {".", "!", "?"}:
        tokens.append(".")
    return tokens


def words(sentence: str) -> list[str]:
    """The lowercased words of a sentence, punctuation left out."""
    return [t for t in tokenize(sentence, end_with_period=False) if any(c.isalnum() for c in t)]


def detokenize(tokens: list[str]) -> str:
    """Join tokens into a readable sentence (no space before punctuation)."""
    out = ""
    for i, tok in enumerate(tokens):
        if i == 0 or tok in _NO_SPACE_BEFORE or tokens[i - 1] in _NO_SPACE_AFTER:
            out += tok
        else:
            out += " " + tok
    return out
