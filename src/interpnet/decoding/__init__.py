"""Batched decoding for the explainer: greedy, beam, diverse beam, sampling, contrastive,
retrieval of training references, reranking."""

from interpnet.decoding.beam import beam_candidates, beam_search
from interpnet.decoding.config import Decoding, resolve_decoding
from interpnet.decoding.greedy import greedy_decode
from interpnet.decoding.methods import DECODING_METHODS, register_method
from interpnet.decoding.retrieve import ReferenceBank, retrieve_candidates
from interpnet.decoding.sampling import sample
from interpnet.decoding.strategy import decode_candidates, rerank_choice

__all__ = [
    "DECODING_METHODS",
    "Decoding",
    "ReferenceBank",
    "beam_candidates",
    "beam_search",
    "decode_candidates",
    "greedy_decode",
    "rerank_choice",
    "resolve_decoding",
    "retrieve_candidates",
    "register_method",
    "sample",
]
