"""Metrics: pure functions of sentences, labels and tensors (caption metrics with the
reference toolkits, specificity, faithfulness, retrieval, attribute agreement)."""
