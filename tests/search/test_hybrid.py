"""Fusion of ranked lists."""

from __future__ import annotations

import pytest

from paperroute.search.hybrid import fuse_convex, fuse_rrf


def test_rrf_rewards_agreement() -> None:
    ids, scores = fuse_rrf([([1, 2, 3], [9.0, 8.0, 7.0]), ([3, 1, 4], [0.9, 0.8, 0.7])], k=60)
    assert ids[:2] == [1, 3] and ids[-1] in (2, 4)
    assert scores[0] == pytest.approx(1 / 61 + 1 / 62)


def test_convex_normalises_each_list_and_weights_them() -> None:
    lexical = ([1, 2, 3], [30.0, 20.0, 10.0])
    semantic = ([3, 2, 9], [0.9, 0.5, 0.1])
    ids, scores = fuse_convex(lexical, semantic, alpha=0.5)
    assert dict(zip(ids, scores, strict=True)) == pytest.approx(
        {1: 0.5, 2: 0.5 * 0.5 + 0.5 * 0.5, 3: 0.5, 9: 0.0}
    )
    assert fuse_convex(lexical, semantic, alpha=1.0)[0][0] == 3
    assert fuse_convex(lexical, semantic, alpha=0.0)[0][0] == 1


def test_empty_and_single_item_lists() -> None:
    assert fuse_convex(([], []), ([], [])) == ([], [])
    assert fuse_convex(([5], [1.0]), ([], []))[0] == [5]


def test_convex_by_best_score_keeps_close_scores_close() -> None:
    lexical = ([1, 2], [10.0, 5.0])
    semantic = ([2, 1], [0.8, 0.76])
    ids, scores = fuse_convex(lexical, semantic, alpha=0.5, normalise="max")
    assert dict(zip(ids, scores, strict=True)) == pytest.approx(
        {1: 0.5 * 1.0 + 0.5 * 0.95, 2: 0.5 * 0.5 + 0.5 * 1.0}
    )
    # min-max would have put the semantic list's two papers a whole unit apart
    assert fuse_convex(lexical, semantic, alpha=0.5)[0] == [1, 2]
