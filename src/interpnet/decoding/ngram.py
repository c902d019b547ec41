"""n-gram blocking (``no_repeat_ngram_size`` in Hugging Face transformers): a word that would
complete an n-gram the same hypothesis already holds gets log-probability -inf. One helper for
every generating decoder (greedy, beam, diverse beam, sampling, contrastive).

The history is the generated words only, ``<bos>`` left out: transformers counts the whole
input, start token included, but our ``<bos>`` is only the first input and never a word of a
sentence, so an n-gram through it can never recur (for n >= 2 leaving it out changes
nothing), and the history is exactly the sentence the decoder returns.

``<eos>`` is never banned. A live hypothesis holds no ``<eos>`` (it ends there), so it can
complete no earlier n-gram: this rule drops no ban transformers would make, and it keeps one
word open in every row, so decoding always terminates and a softmax over the row is never
all -inf (no NaN). Rows that have already ended (history padded with 0) may get bans; every
decoder ignores their choice or, for beam search, sets their scores after blocking.
"""

from __future__ import annotations

import torch


def banned_tokens(history: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The (row, token) pairs to ban, as two index tensors, for hypotheses ``history`` (N, T)
    and n-gram size ``n``: every token that followed the last ``n - 1`` tokens of a row
    earlier in that row (for ``n = 1``, every token the row holds)."""
    rows, length = history.shape
    if n < 1 or length < n:  # no complete n-gram yet
        empty = history.new_zeros(0)
        return empty, empty
    grams = history.unfold(1, n, 1)  # (N, T - n + 1, n), every n-gram of each row
    prefix = history[:, length - n + 1 :].unsqueeze(1)  # (N, 1, n - 1)
    match = (grams[..., :-1] == prefix).all(dim=-1)  # (N, T - n + 1)
    row, at = match.nonzero(as_tuple=True)
    return row, grams[row, at, -1]


def writable(
    logp: torch.Tensor, history: torch.Tensor, n: int, bos_id: int, eos_id: int
) -> torch.Tensor:
    """``logp`` (..., V) with -inf at ``<pad>`` (id 0), ``<bos>`` and, with ``n`` > 0, every
    word that would repeat an n-gram of its row's ``history`` (:func:`block_repeats`)."""
    out = logp.clone()
    out[..., 0] = float("-inf")
    out[..., bos_id] = float("-inf")
    return block_repeats(out, history, n, eos_id)


def block_repeats(logp: torch.Tensor, history: torch.Tensor, n: int, eos_id: int) -> torch.Tensor:
    """``logp`` (..., V) with -inf at every word that would repeat an n-gram of its row's
    ``history`` (..., T), the words generated so far (``<eos>`` always allowed). ``n = 0``
    (off) or no ban returns ``logp`` itself; otherwise a copy."""
    if n == 0 or history.shape[-1] < n:
        return logp
    vocab = logp.shape[-1]
    row, token = banned_tokens(history.reshape(logp.numel() // vocab, history.shape[-1]), n)
    keep = token != eos_id
    row, token = row[keep], token[keep]
    if row.numel() == 0:
        return logp
    out = logp.reshape(-1, vocab).clone()
    out[row, token] = float("-inf")
    return out.view(logp.shape)
