"""The "Recommended for you" section: rank.for_you over a digest's new papers."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from paperroute.digest.build import Recommender
from paperroute.digest.compose import Pool, Recommendation
from paperroute.domain import Paper
from paperroute.rank.for_you import reader_profile, recommend_from
from paperroute.rank.recommend import Corpus
from paperroute.store.subscribers import Subscriber

__all__ = ["digest_recommender"]

SECTION_SIZE = 10


def digest_recommender(engine: Engine, conn: Connection | None = None) -> Recommender:
    """Recommendations for subscribers with an account; features built once per pool.

    Readers' likes are read on `conn` when given (a page's own connection),
    else on a connection of their own per subscriber.
    """
    held: dict[int, tuple[Pool, list[int], list[Paper], Corpus]] = {}

    def features(pool: Pool) -> tuple[list[int], list[Paper], Corpus]:
        found = held.get(id(pool))
        if found is None or found[0] is not pool:  # a pool lives as long as its run
            papers = [c.paper for c in pool.by_id.values()]
            found = (pool, list(pool.by_id), papers, Corpus(papers))
            held[id(pool)] = found
        return found[1], found[2], found[3]

    def recommend(subscriber: Subscriber, pool: Pool) -> list[Recommendation]:
        if subscriber.user_id is None or not pool.by_id:
            return []
        ids, papers, corpus = features(pool)
        if conn is not None:
            profile = reader_profile(conn, subscriber.user_id)
        else:
            with engine.connect() as own:
                profile = reader_profile(own, subscriber.user_id)
        found = recommend_from(corpus, ids, papers, profile, SECTION_SIZE)
        return [Recommendation(f.paper_id, f.reason) for f in found]

    return recommend
