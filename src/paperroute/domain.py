"""The objects paperroute talks about. Imports nothing from the package."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

__all__ = [
    "Checkpoint",
    "IngestRun",
    "Organization",
    "Paper",
    "Rejected",
    "RunCounts",
    "SourceItem",
    "Version",
]


@dataclass(frozen=True, slots=True)
class Version:
    """One arXiv version of a paper (v1, v2, ...) and the day it was submitted."""

    number: int
    date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Organization:
    """The Hugging Face organization a paper is listed under, as the Hub names it."""

    name: str
    fullname: str | None = None
    avatar: str | None = None  # a web link to its picture
    hub_id: str | None = None  # the Hub's `_id`


@dataclass(frozen=True, slots=True)
class Paper:
    """A paper as one source describes it, already normalised.

    `arxiv_id` is the bare id without version (``2503.11731``, ``quant-ph/0201082``);
    papers without one (a listing page, a BibTeX entry) are keyed by their title.
    A field a source does not know is None, so merging never erases what another
    source said.
    """

    title: str
    abstract: str
    source: str
    arxiv_id: str | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # the primary category first
    versions: tuple[Version, ...] = ()
    submitted: dt.date | None = None
    updated: dt.date | None = None
    announced: dt.date | None = None
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    code_url: str | None = None
    project_url: str | None = None
    upvotes: int | None = None  # outside popularity signal, e.g. Hugging Face
    github_stars: int | None = None
    # What Hugging Face's daily list says of it; unknown (None, empty) elsewhere.
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    organization: Organization | None = None
    # Stored key once the paper is in the database (arXiv id or "pr-<hash>").
    key: str | None = None

    @property
    def primary_category(self) -> str | None:
        return self.categories[0] if self.categories else None

    @property
    def latest_version(self) -> int | None:
        return max((v.number for v in self.versions), default=None)

    @property
    def abs_url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else None

    @property
    def pdf_url(self) -> str | None:
        return f"https://arxiv.org/pdf/{self.arxiv_id}" if self.arxiv_id else None

    def merged_with(self, newer: Paper) -> Paper:
        """This paper as known, updated by another description of it.

        What a description does not know (None, empty) never erases what is
        known. A description of an older version, or one without versions of
        a paper whose versions are known, only fills gaps. Popularity signals,
        links and Hugging Face's notes always take the newest value they have; dates keep the earliest
        submission/announcement and the latest update.
        """
        authoritative = _newer_by_versions_or_dates(self, newer)
        changes: dict[str, object] = {}
        for name in _CONTENT_FIELDS:
            value = getattr(newer, name)
            if value is None or value == () or value == "":
                continue
            if authoritative or not getattr(self, name):
                changes[name] = value
        for name in _SIGNAL_FIELDS:
            if getattr(newer, name) not in (None, ()):
                changes[name] = getattr(newer, name)
        versions = {v.number: v for v in self.versions}
        for v in newer.versions:
            if v.number not in versions or versions[v.number].date is None:
                versions[v.number] = v
        changes["versions"] = tuple(sorted(versions.values(), key=lambda v: v.number))
        changes["submitted"] = _earliest(self.submitted, newer.submitted)
        changes["announced"] = _earliest(self.announced, newer.announced)
        changes["updated"] = _latest(self.updated, newer.updated)
        if self.arxiv_id is None and newer.arxiv_id is not None:
            changes["arxiv_id"] = newer.arxiv_id
        return replace(self, **changes)  # type: ignore[arg-type]


def _newer_by_versions_or_dates(known: Paper, newer: Paper) -> bool:
    mine, theirs = known.latest_version, newer.latest_version
    if theirs is not None:
        return mine is None or theirs >= mine
    if mine is None:
        return True
    # No version given: a description dated at or after the known update is current.
    return newer.updated is not None and (known.updated is None or newer.updated >= known.updated)


def _earliest(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    return min(a, b) if a and b else a or b


def _latest(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    return max(a, b) if a and b else a or b


_CONTENT_FIELDS = ("title", "abstract", "authors", "categories", "comment", "journal_ref", "doi")
_SIGNAL_FIELDS = ("upvotes", "github_stars", "code_url", "project_url", "ai_summary",
                  "ai_keywords", "organization")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record a source could not turn into a paper, and where it was."""

    location: str
    reason: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A point a source can resume from; the pipeline commits everything before it."""

    watermark: str


SourceItem = Paper | Rejected | Checkpoint


@dataclass(slots=True)
class RunCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def add(self, other: RunCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged + self.rejected


@dataclass(frozen=True, slots=True)
class IngestRun:
    id: int
    source: str
    status: str  # running | completed | failed | interrupted
    started_at: dt.datetime
    finished_at: dt.datetime | None
    counts: RunCounts = field(default_factory=RunCounts)
    watermark: str | None = None
    error: str | None = None
