"""SynthBirds: a procedural stand-in for CUB-200-2011 with Reed-style descriptions."""

from interpnet.data.synthbirds.attributes import ATTRIBUTE_TYPES, SCHEMA, Species, make_species
from interpnet.data.synthbirds.describe import describe, parse_mentions
from interpnet.data.synthbirds.generate import (
    MANIFEST,
    SynthBirdsConfig,
    generate_synthbirds,
    visible_attributes,
)
from interpnet.data.synthbirds.render import render_bird

__all__ = [
    "ATTRIBUTE_TYPES",
    "MANIFEST",
    "SCHEMA",
    "Species",
    "SynthBirdsConfig",
    "describe",
    "generate_synthbirds",
    "make_species",
    "parse_mentions",
    "render_bird",
    "visible_attributes",
]
