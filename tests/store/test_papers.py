"""The paper store on SQLite and PostgreSQL: idempotent upserts, history, matching."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import Engine, func, select

from paperroute.domain import Paper, Version
from paperroute.ingest.normalize import build_paper
from paperroute.store import papers as store
from paperroute.store.schema import paper_sources, papers

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)


def make(arxiv_id: str | None = "2503.11731", **fields: object) -> Paper:
    values: dict[str, object] = {
        "source": "file",
        "arxiv_id": arxiv_id,
        "title": "Safe Vision-Language Models via Unsafe Weights Manipulation",
        "abstract": "Vision-language models often inherit biases.",
        "authors": ["Moreno D'Incà", "Elia Peruzzo"],
        "categories": ["cs.CV", "cs.AI"],
        "announced": "2025-03-18",
    }
    values.update(fields)
    return build_paper(**values)  # type: ignore[arg-type]


def test_insert_then_read_back(engine: Engine) -> None:
    with engine.begin() as conn:
        counts = store.upsert_papers(conn, [make(comment="Work in progress")], NOW)
    assert (counts.new, counts.updated, counts.unchanged) == (1, 0, 0)
    with engine.connect() as conn:
        paper = store.get_paper(conn, "2503.11731")
    assert paper is not None
    assert paper.title == "Safe Vision-Language Models via Unsafe Weights Manipulation"
    assert paper.authors == ("Moreno D'Incà", "Elia Peruzzo")
    assert paper.categories == ("cs.CV", "cs.AI")
    assert paper.primary_category == "cs.CV"
    assert paper.comment == "Work in progress"
    assert paper.announced == dt.date(2025, 3, 18)
    assert paper.abs_url == "https://arxiv.org/abs/2503.11731"
    assert paper.pdf_url == "https://arxiv.org/pdf/2503.11731"


def test_same_record_twice_changes_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        store.upsert_papers(conn, [make()], NOW)
    with engine.begin() as conn:
        counts = store.upsert_papers(conn, [make()], LATER)
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 1)
    with engine.connect() as conn:
        changed_at = conn.execute(select(papers.c.changed_at)).scalar_one()
    assert changed_at.replace(tzinfo=dt.UTC) == NOW  # untouched: indexes need not resync


def test_new_version_updates_and_keeps_history(engine: Engine) -> None:
    v1 = make(arxiv_id="2503.11731v1", versions=[Version(1, dt.date(2025, 3, 14))])
    v2 = make(
        arxiv_id="2503.11731v2",
        title="Safe VLMs via Unsafe Weights Manipulation",
        versions=[Version(1, dt.date(2025, 3, 14)), Version(2, dt.date(2025, 6, 2))],
    )
    with engine.begin() as conn:
        store.upsert_papers(conn, [v1], NOW)
    with engine.begin() as conn:
        counts = store.upsert_papers(conn, [v2], LATER)
        stale = store.upsert_papers(conn, [replace(v1, source="arxiv-api")], LATER)
    assert counts.updated == 1
    assert stale.updated == 0  # an older version fills gaps only
    with engine.connect() as conn:
        paper = store.get_paper(conn, "2503.11731v2")
        assert conn.execute(select(func.count()).select_from(papers)).scalar_one() == 1
    assert paper is not None
    assert paper.title == "Safe VLMs via Unsafe Weights Manipulation"
    assert paper.versions == (Version(1, dt.date(2025, 3, 14)), Version(2, dt.date(2025, 6, 2)))


def test_unknown_fields_never_erase_known_ones(engine: Engine) -> None:
    with engine.begin() as conn:
        store.upsert_papers(conn, [make(doi="10.1000/xyz", comment="ICCV")], NOW)
        store.upsert_papers(conn, [make(source="hf-daily", upvotes=42, abstract="")], LATER)
    with engine.connect() as conn:
        paper = store.get_paper(conn, "2503.11731")
    assert paper is not None
    assert (paper.doi, paper.comment, paper.upvotes) == ("10.1000/xyz", "ICCV", 42)
    assert paper.abstract == "Vision-language models often inherit biases."


def test_duplicate_ids_in_one_batch_store_one_paper(engine: Engine) -> None:
    with engine.begin() as conn:
        counts = store.upsert_papers(conn, [make(), make(comment="second copy")], NOW)
    assert counts.new == 1
    with engine.connect() as conn:
        paper = store.get_paper(conn, "2503.11731")
    assert paper is not None and paper.comment == "second copy"


def test_paper_without_arxiv_id_is_later_matched(engine: Engine) -> None:
    listed = make(arxiv_id=None, source="listing", authors=[], categories=[], announced=None)
    with engine.begin() as conn:
        store.upsert_papers(conn, [listed], NOW)
        again = store.upsert_papers(conn, [listed], NOW)
    assert again.unchanged == 1
    with engine.connect() as conn:
        (key,) = conn.execute(select(papers.c.key)).one()
    assert key.startswith("pr-")
    with engine.begin() as conn:
        counts = store.upsert_papers(conn, [make()], LATER)
    assert counts.updated == 1 and counts.new == 0
    with engine.connect() as conn:
        by_key = store.get_paper(conn, key)
        by_id = store.get_paper(conn, "2503.11731")
        sources = conn.execute(select(paper_sources.c.source).order_by("source")).scalars().all()
    assert by_key == by_id and by_id is not None
    assert by_id.authors == ("Moreno D'Incà", "Elia Peruzzo")
    assert sources == ["file", "listing"]


def test_old_style_ids(engine: Engine) -> None:
    old = make(arxiv_id="quant-ph/0201082v1", title="Quantum Computers and Quantum Languages")
    with engine.begin() as conn:
        store.upsert_papers(conn, [old], NOW)
    with engine.connect() as conn:
        paper = store.get_paper(conn, "quant-ph/0201082")
    assert paper is not None and paper.arxiv_id == "quant-ph/0201082"
    assert paper.versions == (Version(1, None),)


def test_list_filters_by_day_and_category(engine: Engine) -> None:
    batch = [
        make(arxiv_id="2503.00001", title="A", categories=["cs.LG"], announced="2025-03-18"),
        make(
            arxiv_id="2503.00002", title="B", categories=["cs.CV", "cs.LG"], announced="2025-03-19"
        ),
        make(arxiv_id="2503.00003", title="C", categories=["cs.CV"], announced="2025-03-19"),
    ]
    with engine.begin() as conn:
        store.upsert_papers(conn, batch, NOW)
    with engine.connect() as conn:
        cross_listed = store.list_papers(conn, category="cs.LG")
        one_day = store.list_papers(conn, since=dt.date(2025, 3, 19), until=dt.date(2025, 3, 19))
        assert store.latest_announced(conn) == dt.date(2025, 3, 19)
        assert store.earliest_announced(conn, dt.date(2025, 3, 1)) == dt.date(2025, 3, 18)
    assert {p.key for p in cross_listed.papers} == {"2503.00001", "2503.00002"}
    assert cross_listed.total == 2
    assert [p.key for p in one_day.papers] == ["2503.00003", "2503.00002"]


def test_one_unidentified_paper_is_adopted_by_one_arxiv_record(engine: Engine) -> None:
    listed = make(arxiv_id=None, source="listing", title="Deep Nets")
    with engine.begin() as conn:
        store.upsert_papers(conn, [listed], NOW)
        counts = store.upsert_papers(conn, [make(arxiv_id="2401.00001", title="Deep Nets"),
                                            make(arxiv_id="2401.00002", title="Deep nets")], LATER)  # fmt: skip
    assert (counts.new, counts.updated) == (1, 1)
    with engine.connect() as conn:
        assert store.get_paper(conn, "2401.00001") is not None
        assert store.get_paper(conn, "2401.00002") is not None


def test_records_with_and_without_id_in_one_batch_make_one_paper(engine: Engine) -> None:
    batch = [make(arxiv_id="2401.00001", title="Deep Nets", doi=None),
             make(arxiv_id=None, source="bibtex", title="Deep nets", doi="10.1/x")]  # fmt: skip
    with engine.begin() as conn:
        counts = store.upsert_papers(conn, batch, NOW)
        assert counts.new == 1 and store.count_papers(conn) == 1
        paper = store.get_paper(conn, "2401.00001")
    assert paper is not None and paper.doi == "10.1/x"


def test_a_description_without_versions_updates_when_its_date_is_newer(engine: Engine) -> None:
    both = [Version(1, dt.date(2025, 3, 1)), Version(2, dt.date(2025, 5, 1))]
    with engine.begin() as conn:
        store.upsert_papers(
            conn, [make(arxiv_id="2503.11731v2", versions=both, updated="2025-05-01")], NOW
        )
        store.upsert_papers(
            conn, [make(source="oai", abstract="Revised.", updated="2025-06-01")], LATER
        )
        store.upsert_papers(
            conn, [make(source="old", abstract="Stale.", updated="2025-04-01")], LATER
        )
        paper = store.get_paper(conn, "2503.11731")
    assert (
        paper is not None and paper.abstract == "Revised." and paper.updated == dt.date(2025, 6, 1)
    )
