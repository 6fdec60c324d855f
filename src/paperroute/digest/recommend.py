"""The "Recommended for you" section: rank.for_you over a digest's new papers."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from paperroute.digest.build import Recommender
from paperroute.digest.compose import Pool, Recommendation
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
    corpora: dict[int, tuple[Pool, Corpus]] = {}

    def recommend(subscriber: Subscriber, pool: Pool) -> list[Recommendation]:
        if subscriber.user_id is None or not pool.by_id:
            return []
        held = corpora.get(id(pool))
        if held is None or held[0] is not pool:  # a pool lives as long as its run
            held = (pool, Corpus([c.paper for c in pool.by_id.values()]))
            corpora[id(pool)] = held
        ids = list(pool.by_id)
        papers = [c.paper for c in pool.by_id.values()]
        if conn is not None:
            profile = reader_profile(conn, subscriber.user_id)
        else:
            with engine.connect() as own:
                profile = reader_profile(own, subscriber.user_id)
        found = recommend_from(held[1], ids, papers, profile.liked, profile.disliked,
                               profile.topics, profile.skip, SECTION_SIZE)  # fmt: skip
        return [Recommendation(f.paper_id, f.reason) for f in found]

    return recommend
