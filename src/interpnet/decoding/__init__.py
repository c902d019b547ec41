"""Batched decoding for the explainer: greedy, beam, diverse beam, sampling, reranking."""

from interpnet.decoding.beam import beam_candidates, beam_search
from interpnet.decoding.greedy import greedy_decode
from interpnet.decoding.sampling import sample
from interpnet.decoding.strategy import (
    Decoding,
    decode_candidates,
    rerank_choice,
    resolve_decoding,
)

__all__ = [
    "Decoding",
    "beam_candidates",
    "beam_search",
    "decode_candidates",
    "greedy_decode",
    "rerank_choice",
    "resolve_decoding",
    "sample",
]
