"""Data: the layouts (CUB, Oxford-102 Flowers, your own metadata, SynthBirds), their splits,
images and examples."""
