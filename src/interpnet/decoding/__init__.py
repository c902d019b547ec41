"""Batched greedy and beam-search decoding for the explainer."""

from interpnet.decoding.beam import beam_search
from interpnet.decoding.greedy import greedy_decode

__all__ = ["beam_search", "greedy_decode"]
