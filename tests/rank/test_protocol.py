"""Who is a reader, who are their close collaborators, and which papers are their targets."""

from __future__ import annotations

import datetime as dt

from paperroute.domain import Paper
from paperroute.ingest.normalize import build_paper
from paperroute.rank.protocol import Protocol, Simulation, initials_only, normalise_name
from tests.rank.synthetic import CUTOFF, TOPICS, team, team_corpus


def test_names_are_folded_and_initials_are_not_readers() -> None:
    assert normalise_name("  José   MÜLLER ") == normalise_name("Jose Muller") == "jose muller"
    assert initials_only("j. smith") and initials_only("j.-p. martin") and initials_only("smith")
    assert initials_only("j smith") and initials_only("a. b. smith")
    assert not initials_only("jo smith") and not initials_only("jean-pierre martin")


def _window_paper(sim: Simulation, position: int) -> Paper:
    return sim.papers[sim.window[position]]


def test_collaborators_protocol_targets_their_papers_without_the_reader() -> None:
    corpus = team_corpus()
    sim = Simulation.make(corpus, CUTOFF)
    assert len(sim.readers) == 3 * len(TOPICS) and sim.dropped == 0
    by_name = {r.name: r for r in sim.readers}
    named = {p.arxiv_id: p for p in corpus}  # the methods' papers carry no authors
    lead, second, third = (normalise_name(n) for n in team("graphs"))
    reader = by_name[lead]
    assert len(reader.liked) == 4 and len(reader.targets) == 1 and len(reader.excluded) == 1
    target = named[_window_paper(sim, int(reader.targets[0])).arxiv_id]
    assert {normalise_name(a) for a in target.authors} >= {second, third}
    assert lead not in {normalise_name(a) for a in target.authors}
    own = named[_window_paper(sim, int(reader.excluded[0])).arxiv_id]
    assert lead in {normalise_name(a) for a in own.authors}
    # The lead's paper is a target for the other two, who are not on it.
    assert (
        by_name[second].targets.tolist()
        == by_name[third].targets.tolist()
        == reader.excluded.tolist()
    )


def test_every_method_sees_papers_without_authors_except_in_authorship() -> None:
    corpus = team_corpus()
    for protocol in (Protocol.collaborators, Protocol.own):
        assert all(not p.authors for p in Simulation.make(corpus, CUTOFF, protocol).papers)
    assert all(p.authors for p in Simulation.make(corpus, CUTOFF, Protocol.authorship).papers)


def test_own_protocol_targets_the_readers_own_later_papers() -> None:
    sim = Simulation.make(team_corpus(), CUTOFF, Protocol.own)
    by_name = {r.name: r for r in sim.readers}
    lead, second, third = (normalise_name(n) for n in team("graphs"))
    assert len(by_name[lead].targets) == 1 and not len(by_name[lead].excluded)
    assert by_name[second].targets.tolist() == by_name[third].targets.tolist()


def _paper(number: int, authors: list[str], day: dt.date) -> Paper:
    return build_paper(source="t", arxiv_id=f"2512.{number:05d}", title=f"paper {number}",
                       abstract="words", authors=authors, categories=["cs.LG"],
                       announced=day.isoformat())  # fmt: skip


def test_initials_big_teams_and_history_bounds() -> None:
    before = CUTOFF - dt.timedelta(days=10)
    crowd = [f"Member Number{n}" for n in range(10)]
    papers = [
        *(_paper(n, ["J. Smith", "Ann Partner"], before) for n in range(3)),  # initials: no reader
        *(_paper(10 + n, ["Big Teamer", *crowd], before) for n in range(3)),  # 11 authors each
        _paper(20, ["Member Number0"], CUTOFF),  # a big-team co-author alone: not close
        _paper(21, ["Ann Partner", "Someone Else"], CUTOFF),  # J. Smith is no reader
        *(_paper(30 + n, ["Old Timer", "Old Friend"], CUTOFF - dt.timedelta(days=400))
          for n in range(3)),  # more than 365 days before: outside H
        _paper(40, ["Old Friend"], CUTOFF + dt.timedelta(days=5)),
        _paper(41, ["Member Number1", *crowd[2:], "Big Teamer"], CUTOFF + dt.timedelta(days=30)),
    ]  # fmt: skip
    sim = Simulation.make(papers, CUTOFF)
    assert len(sim.window) == 3  # the 30th day after the cutoff is outside W
    names = {r.name for r in sim.readers}
    assert "j. smith" not in names and "old timer" not in names
    # Ann Partner (3 papers with J. Smith) has no target; the big-team reader has no
    # close collaborator: both dropped, as are the crowd's members.
    assert not names and sim.dropped == 1 + 1 + len(crowd)
