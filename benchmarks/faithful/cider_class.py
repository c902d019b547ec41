"""What the ``cider`` and ``cider-class`` rewards pay, on the training references: one
reference of each training image scored against its other nine, beside a reference of another
image of the same class and the class's commonest sentence among its other images (a class
template). A reward that tells the image apart pays its own reference more than another
image's of the same class, and the template less.

Usage (repository root, venv active):
  python -m benchmarks.faithful cider-class ../shared/data/flowers102 \
      > benchmarks/faithful/results/cider-class-flowers.json
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict

import torch

from interpnet.data.layouts import open_layout
from interpnet.decoding.rerank import RewardContext
from interpnet.scorers.rewards import CiderReward, ClassCiderReward


def main(root: str) -> dict:
    train = open_layout(root).split("train", skip_missing=True)
    corpus, labels = [e.sentences for e in train], [e.label for e in train]
    rewards = {"cider": CiderReward(corpus), "cider-class": ClassCiderReward(corpus, labels)}
    ctx = RewardContext(
        rows=torch.arange(len(train)),
        r=torch.zeros(len(train), 1),
        true=torch.tensor(labels),
        references=[e.sentences[1:] for e in train],
    )
    members = defaultdict(list)
    for i, e in enumerate(train):
        members[e.label].append(i)
    template, other = [], []
    for i, e in enumerate(train):
        rest = [j for j in members[e.label] if j != i]
        counts = Counter(s for j in rest for s in train[j].sentences)
        template.append(counts.most_common(1)[0][0])
        other.append(train[rest[0]].sentences[0])
    candidates = {
        "own reference": [e.sentences[0] for e in train],
        "another image of the class": other,
        "class template": template,
    }
    return {
        "data": f"{root}: {len(train)} training images, each scored against its references 2-10",
        "mean reward": {
            name: {c: round(float(fn(s, ctx).mean()), 4) for c, s in candidates.items()}
            for name, fn in rewards.items()
        },
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1]), indent=1))
