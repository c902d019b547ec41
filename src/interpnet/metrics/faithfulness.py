"""Does an explanation reflect the classifier's decision? Class relevance and introspection
fidelity, judged by a sentence classifier trained on human references."""

from __future__ import annotations

import torch


def class_relevance(
    sentence_probs: torch.Tensor, predicted: torch.Tensor, true: torch.Tensor
) -> dict[str, float]:
    """How often the sentence classifier recovers the classifier's predicted class and the
    true class from each sentence (N sentences, one predicted/true class each)."""
    guess = sentence_probs.argmax(dim=1)
    return {
        "predicted_class": float((guess == predicted).float().mean()),
        "true_class": float((guess == true).float().mean()),
    }


def introspection_fidelity(
    sentence_probs: torch.Tensor, predicted: torch.Tensor, true: torch.Tensor
) -> dict[str, float | int]:
    """Over the examples the classifier gets wrong: the share of explanations the sentence
    classifier assigns to the predicted class rather than the true class (its probability of
    the predicted class is higher). 1.0 = explanations follow the network's decision; 0.0 =
    they follow the image."""
    wrong = predicted != true
    n = int(wrong.sum())
    if n == 0:
        return {"fidelity": float("nan"), "wrong_examples": 0}
    rows = torch.arange(len(true))[wrong]
    p_pred = sentence_probs[rows, predicted[wrong]]
    p_true = sentence_probs[rows, true[wrong]]
    return {"fidelity": float((p_pred > p_true).float().mean()), "wrong_examples": n}


def counterfactual_move(
    sentence_probs: torch.Tensor, donor_predicted: torch.Tensor, own_predicted: torch.Tensor
) -> dict[str, float | int]:
    """After swapping the decision parts of r(x) for a donor's: how often the judge's top class
    for the new explanation is the donor's predicted class (``moved``), and how often it merely
    prefers the donor's class to the image's own (``prefers_donor``)."""
    if len(donor_predicted) == 0:
        return {"moved": float("nan"), "prefers_donor": float("nan"), "swaps": 0}
    rows = torch.arange(len(donor_predicted))
    p_donor = sentence_probs[rows, donor_predicted]
    p_own = sentence_probs[rows, own_predicted]
    return {
        "moved": float((sentence_probs.argmax(1) == donor_predicted).float().mean()),
        "prefers_donor": float((p_donor > p_own).float().mean()),
        "swaps": len(donor_predicted),
    }


def choose_donors(
    predicted: torch.Tensor,
    seed: int = 0,
    generator: torch.Generator | None = None,
    rows: torch.Tensor | None = None,
    same_class: bool = False,
) -> torch.Tensor:
    """For each example (or each of ``rows``), a random other example that the classifier puts
    in another class (``same_class``: in the same class), drawn from ``generator`` (or one
    seeded by ``seed``); -1 where there is none, and for the examples not in ``rows``."""
    gen = generator if generator is not None else torch.Generator().manual_seed(seed)
    predicted = predicted.cpu()
    donors = torch.full_like(predicted, -1)
    everyone = torch.arange(len(predicted))
    for i in (rows if rows is not None else everyone).tolist():
        if same_class:
            pool = ((predicted == predicted[i]) & (everyone != i)).nonzero().flatten()
        else:
            pool = (predicted != predicted[i]).nonzero().flatten()
        if len(pool):
            donors[i] = pool[int(torch.randint(len(pool), (1,), generator=gen))]
    return donors


def total_variation(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Total variation distance between the rows of two (N, K) distributions: half the L1
    distance, 0 (equal) to 1 (disjoint)."""
    return 0.5 * (p.double() - q.double()).abs().sum(dim=1)


def pearson(x: torch.Tensor, y: torch.Tensor) -> float:
    """Pearson's correlation of two vectors; 0 where either does not vary (no linear relation:
    e.g. explanations that never change, whatever the decision does)."""
    x, y = x.double().flatten(), y.double().flatten()
    if len(x) != len(y):
        raise ValueError(f"{len(x)} and {len(y)} values")
    dx, dy = x - x.mean(), y - y.mean()
    scale = float(dx.norm() * dy.norm())
    if len(x) < 2 or scale <= 1e-12 * max(1.0, float(x.abs().max() * y.abs().max())):
        return 0.0
    return float((dx * dy).sum()) / scale


def counterfactual_change(
    own_probs: torch.Tensor,
    swapped_probs: torch.Tensor,
    own_sentences: list[str],
    swapped_sentences: list[str],
) -> dict[str, float | int]:
    """What a swap changed in the explanations: the share whose text changed, the share whose
    judge's top class changed, and the mean total variation of the judge's class distribution
    (judge probabilities of each explanation before, ``own_probs``, and after)."""
    n = len(own_sentences)
    if n == 0:
        return {"text_changed": float("nan"), "judge_changed": float("nan"), "swaps": 0}
    text = sum(a != b for a, b in zip(own_sentences, swapped_sentences, strict=True))
    judged = (own_probs.argmax(1) != swapped_probs.argmax(1)).float().mean()
    return {
        "text_changed": text / n,
        "judge_changed": float(judged),
        "judge_distance": float(total_variation(own_probs, swapped_probs).mean()),
        "swaps": n,
    }
