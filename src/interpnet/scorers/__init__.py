"""Scorers: sentence classifiers and retrieval models trained on references, used as
rewards and rerankers (training data) or as judges (other data), and their store."""
