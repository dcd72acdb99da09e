"""Prompt-lookup drafting (n-gram speculation without a draft model): when a reply quotes its prompt, the tokens
that followed the reply's last few tokens in the prompt are a good guess at what comes next. The batched engine
feeds such a guess along with the next token, checks it against the model's own greedy choice at every position
in the same decode step, and keeps the agreeing part: the same tokens as without drafting, several per step.

The n-gram sizes (3, then 2) and a draft length of 8 (benchmarks/generative_answers.py) are the usual ones of prompt-lookup decoding
(llama.cpp's lookup example and transformers' prompt_lookup_num_tokens use the same range); not tuned here."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NGRAMS = (3, 2)  # the longest tail of the sequence found earlier in it wins


def draft(history: Sequence[int], most: int, ngrams: Sequence[int] = NGRAMS) -> list[int]:
    """Up to MOST tokens guessed to follow HISTORY: what followed the latest earlier occurrence of its last N
    tokens (the longest N of NGRAMS that occurs); empty when none does."""
    if most <= 0 or len(history) < 2:
        return []
    seq = np.asarray(history, dtype=np.int64)
    for n in ngrams:
        if len(seq) <= n:
            continue
        tail = seq[-n:]
        # starts of earlier occurrences of the tail (not the tail itself), latest first
        starts = np.flatnonzero(seq[:len(seq) - n] == tail[0])
        for start in starts[::-1]:  # each is followed by at least one token: the tail starts after it
            if np.array_equal(seq[start:start + n], tail):
                return [int(t) for t in seq[start + n:start + n + most]]
    return []
