"""Fusing ranked lists from lexical and semantic search: pure functions.

Both return `(ids, scores)` best first. `bench/tune_search.py` measures each
method on the development set; the defaults are what it found best.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["FUSION", "fuse", "fuse_convex", "fuse_rrf"]

Ranked = tuple[Sequence[int], Sequence[float]]


def fuse_rrf(
    lists: Sequence[Ranked], *, k: float = 60.0, weights: Sequence[float] | None = None
) -> tuple[list[int], list[float]]:
    """Reciprocal rank fusion: each list adds weight / (k + rank) to a paper's score."""
    weights = weights or [1.0] * len(lists)
    scores: dict[int, float] = {}
    for (ids, _), weight in zip(lists, weights, strict=True):
        for rank, paper_id in enumerate(ids, start=1):
            scores[paper_id] = scores.get(paper_id, 0.0) + weight / (k + rank)
    return _ordered(scores)


def _normalise(values: Sequence[float], how: str = "minmax") -> list[float]:
    """Scale within the list: BM25 and cosine live on other scales.

    `minmax` maps the list onto 0..1; `max` divides by the best score, so a list
    whose scores are all close (cosines often are) stays close.
    """
    if not values:
        return []
    low, high = min(values), max(values)
    if how == "max" and high > 1e-12:
        return [v / high for v in values]
    if high - low < 1e-12:
        return [1.0] * len(values)
    return [(v - low) / (high - low) for v in values]


def fuse_convex(
    lexical: Ranked, semantic: Ranked, *, alpha: float = 0.5, normalise: str = "minmax"
) -> tuple[list[int], list[float]]:
    """alpha * semantic + (1 - alpha) * lexical, each normalised over its list.

    A paper absent from one list gets 0 from it: it was below that list's cut.
    """
    scores: dict[int, float] = {}
    for (ids, values), weight in ((lexical, 1 - alpha), (semantic, alpha)):
        for paper_id, value in zip(ids, _normalise(list(values), normalise), strict=True):
            scores[paper_id] = scores.get(paper_id, 0.0) + weight * value
    return _ordered(scores)


def _ordered(scores: dict[int, float]) -> tuple[list[int], list[float]]:
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [i for i, _ in ranked], [s for _, s in ranked]


# The method `fuse` uses, chosen with bench/search_lab.py on three development
# sets of different kinds (docs/search.md): the one whose smallest gain over plain
# RRF across the sets is largest, rather than the best on average. Each score is
# divided by its list's best, semantic weighted 0.3; in hybrid search the semantic
# list has had pseudo-relevance feedback first (search.service.PRF_DEPTH).
FUSION: dict[str, object] = {"method": "convex", "alpha": 0.3, "normalise": "max"}


def fuse(lexical: Ranked, semantic: Ranked) -> tuple[list[int], list[float]]:
    """The default fusion of a lexical and a semantic list."""
    if FUSION["method"] == "rrf":
        return fuse_rrf([lexical, semantic], k=float(FUSION.get("k", 60.0)))  # type: ignore[arg-type]
    return fuse_convex(
        lexical,
        semantic,
        alpha=float(FUSION["alpha"]),  # type: ignore[arg-type]
        normalise=str(FUSION.get("normalise", "minmax")),
    )
