"""Small corpora with clear topics: authors who keep writing on theirs, and teams."""

from __future__ import annotations

import datetime as dt
import random

from paperroute.domain import Paper
from paperroute.ingest.normalize import build_paper

TOPICS = {
    "graphs": "graph neural network message passing node embedding",
    "speech": "speech recognition acoustic phoneme spoken audio",
    "robots": "robot manipulation grasping gripper motion planning",
    "vision": "image segmentation pixel convolution mask object",
    "proteins": "protein folding residue structure molecular docking",
    "markets": "market auction pricing bidder revenue mechanism",
    "compilers": "compiler register allocation loop optimisation bytecode",
    "privacy": "differential privacy noise budget membership inference",
    "weather": "weather forecasting precipitation climate atmospheric ensemble",
    "music": "music melody chord harmony generation symbolic",
    "quantum": "quantum circuit qubit entanglement error correction",
    "retrieval": "retrieval ranking query passage dense index",
}
CATEGORY = {name: f"cs.{code}" for name, code in zip(TOPICS, ["LG", "SD", "RO", "CV", "CE", "GT",
            "PL", "CR", "AI", "MM", "ET", "IR"], strict=True)}  # fmt: skip
CUTOFF = dt.date(2026, 1, 1)


def synthetic_corpus(seed: int = 3, cutoff: dt.date = CUTOFF) -> list[Paper]:
    """Per topic, three authors with four papers before the cutoff and one in the 13 days after."""
    rng = random.Random(seed)
    papers: list[Paper] = []
    number = 0
    for topic, words in TOPICS.items():
        vocabulary = words.split()
        for author in range(3):
            name = f"{topic.title()} Author{author}"
            for n in range(5):
                number += 1
                later = n == 4
                day = cutoff + dt.timedelta(
                    days=rng.randint(1, 13) if later else -rng.randint(1, 90)
                )
                text = " ".join(rng.choices(vocabulary, k=30))
                papers.append(build_paper(
                    source="t", arxiv_id=f"{day:%y%m}.{number + 100:05d}",
                    title=f"{' '.join(rng.sample(vocabulary, 3))} study {number}", abstract=text,
                    authors=[name, f"Coauthor {number}"], categories=[CATEGORY[topic]],
                    announced=day.isoformat(),
                ))  # fmt: skip
    return papers


TEAM = ("Lead", "Second", "Third")


def team(topic: str) -> list[str]:
    return [f"{topic.title()} {role}" for role in TEAM]


def team_corpus(seed: int = 3, cutoff: dt.date = CUTOFF) -> list[Paper]:
    """Per topic a team of three: four papers together before the cutoff; after it, one by the
    lead without the others and one by the other two without the lead."""
    rng = random.Random(seed)
    papers: list[Paper] = []

    def add(topic: str, authors: list[str], day: dt.date) -> None:
        vocabulary = TOPICS[topic].split()
        number = len(papers) + 100
        papers.append(build_paper(
            source="t", arxiv_id=f"{day:%y%m}.{number:05d}",
            title=f"{' '.join(rng.sample(vocabulary, 3))} study {number}",
            abstract=" ".join(rng.choices(vocabulary, k=30)), authors=[*authors, f"Guest {number}"],
            categories=[CATEGORY[topic]], announced=day.isoformat(),
        ))  # fmt: skip

    for topic in TOPICS:
        lead, second, third = team(topic)
        for _ in range(4):
            add(topic, [lead, second, third], cutoff - dt.timedelta(days=rng.randint(1, 90)))
        add(topic, [lead], cutoff + dt.timedelta(days=rng.randint(0, 13)))
        add(topic, [second, third], cutoff + dt.timedelta(days=rng.randint(0, 13)))
    return papers
