"""Typos in a query: the words the papers use instead, for "did you mean".

The lexical index finds papers whose words are within a small edit distance of
the query's (tantivy's fuzzy terms over stems); this module reads those
papers' own words and picks, for each query word, the one they use most that
is that close. Pure functions: the stemmer is passed in.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from paperroute.index.lexical import max_edits

__all__ = ["corrected_text", "edit_distance", "suggest_words"]

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]")


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent transpositions cost one), as tantivy counts."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def suggest_words(
    words: Sequence[str], texts: Iterable[str], stem: Callable[[str], str]
) -> dict[str, str]:
    """Query word -> the word the texts use instead, for words the texts do not have."""
    counts = Counter(w.lower() for text in texts for w in _WORD.findall(text))
    stems: dict[str, str] = {}
    for word in counts:
        stems[word] = stem(word)
    have = set(stems.values())
    found: dict[str, str] = {}
    for word in words:
        wanted = stem(word.lower())
        if not wanted or wanted in have:
            continue  # spelled as the papers spell it
        allowed = max_edits(wanted)
        # Fewest edits (of the stems, or of the words as written: "editng" is one edit from
        # "editing" but two from its stem "edit"), then the form closest to what was typed,
        # then the commonest.
        close: list[tuple[int, int, int, str]] = []
        typed_word = word.lower()
        for candidate, candidate_stem in stems.items():
            if abs(len(candidate) - len(typed_word)) > allowed + 2:
                continue
            typed = edit_distance(typed_word, candidate)
            edits = min(edit_distance(wanted, candidate_stem), typed)
            if edits <= allowed:
                close.append((edits, typed, -counts[candidate], candidate))
        if close:
            found[word] = min(close)[3]
    return found


def corrected_text(text: str, replacements: dict[str, str]) -> str:
    """The typed text with each misspelt word replaced, everything else as typed."""
    for word, better in replacements.items():
        text = re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w-])", better, text, flags=re.IGNORECASE)
    return text
