"""Build the synthetic BEIR-layout development set in tests/fixtures/beir-arxiv.

    python bench/build_beir_set.py [--corpus PATH] [--out DIR] [--seed N] [--docs N]

A sample of the shared arXiv corpus becomes `corpus.jsonl` (title, abstract),
and three kinds of queries with their judgments are made from it by fixed
rules, so the same seed always writes the same bytes. The kinds lean
different ways on purpose (names and rare words are kept out of queries so
exact matching gets no free win, paraphrase has no help from any model);
tests/fixtures/beir-arxiv/README.md says what each kind measures and how
lexical, semantic and fused search scored on it. Standard library only.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = (ROOT / "../shared/data/arxiv-cs-2025-03_2026-03.jsonl.gz").resolve()
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "beir-arxiv"
SEED = 20260301
DOCS = 1900  # what fits the fixture's 3 MB budget at ~1.4 kB per abstract
KNOWN_ITEM = 100
CONTRIBUTION = 100
TOPICAL = 50
DROP_RAREST = 1  # title words a known-item query leaves out, rarest first
TOPICAL_PER_CATEGORY = 16
TOPICAL_RELEVANT = (4, 40)  # judged relevant documents per topical query

STOPWORDS = frozenset(
    str.split(
        "a an and are as at be by can do does for from how in into is it its of on or our over"
        " than that the their this to toward towards under up upon us via vs we what when where"
        " which while who why with within without beyond across through between based using use"
        " versus your you all any both each more most other some such no not only own same so"
        " too very one two three new novel"
    )
)
# Title openers that say how a paper sells itself, not what it is about.
FILLER = frozenset(
    str.split(
        "rethinking revisiting unlocking unleashing leveraging enhancing boosting empowering"
        " bridging exploring harnessing advancing improving making pushing boundaries"
        " investigating toward"
    )
)
# Words too common in abstracts to name a topic, and verbs that open phrases
# rather than name things: a bigram with one of them is skipped.
GENERIC = FILLER | frozenset(
    str.split(
        "paper propose proposed proposes approach method methods result results show shows"
        " experiment experiments experimental performance state art task tasks extensive"
        " demonstrate demonstrates existing work works study based significant significantly"
        " recent challenge challenges problem problems however also first well different various"
        " key high low large small new novel further code available publicly github https http"
        " www com effective effectively achieve achieves achieving improve improves improved"
        " improvement outperform outperforms evaluation evaluate evaluating data way number set"
        " sets provide provides across framework leverage leverages enhance enhanced enhances"
        " benchmarking automatically generated real-world scenario scenarios general content"
        " annotated dataset datasets feature features length real technical"
    )
)
# Paraphrases for common title words: a known-item query says what the title
# names in other words, as a person recalling a paper does. Most change the
# word's stem, so stemming alone does not bridge them; an embedding may.
REWORDINGS = {
    "accurate": "precise",
    "adaptation": "transfer",
    "adaptive": "dynamic",
    "agents": "assistants",
    "analysis": "study",
    "anomaly": "outlier",
    "attack": "exploit",
    "attacks": "exploits",
    "audio": "sound",
    "automated": "automatic",
    "benchmark": "test suite",
    "cancer": "tumor",
    "captioning": "description",
    "classification": "categorization",
    "clinical": "medical",
    "collaborative": "cooperative",
    "compression": "size reduction",
    "dataset": "data collection",
    "defense": "protection",
    "detecting": "spotting",
    "detection": "identification",
    "distributed": "decentralized",
    "editing": "modification",
    "efficient": "low-cost",
    "efficiently": "cheaply",
    "emotion": "feeling",
    "estimation": "inference",
    "evaluation": "assessment",
    "fast": "quick",
    "federated": "decentralized",
    "fine-grained": "detailed",
    "forecasting": "prediction",
    "framework": "system",
    "generating": "creating",
    "generation": "synthesis",
    "generalization": "transferability",
    "geometry": "shape",
    "hallucination": "fabrication",
    "hallucinations": "fabrications",
    "human": "person",
    "image": "picture",
    "images": "pictures",
    "interpretable": "explainable",
    "interpretability": "explainability",
    "lightweight": "compact",
    "localization": "positioning",
    "long": "lengthy",
    "medical": "clinical",
    "method": "technique",
    "mobile": "on-device",
    "motion": "movement",
    "multimodal": "cross-modal",
    "navigation": "wayfinding",
    "optimization": "tuning",
    "planning": "decision-making",
    "pose": "posture",
    "prediction": "forecasting",
    "privacy": "confidentiality",
    "prompt": "instruction",
    "prompting": "instructing",
    "real-time": "live",
    "reconstruction": "recovery",
    "recognition": "identification",
    "rendering": "image synthesis",
    "representation": "embedding",
    "retrieval": "search",
    "robust": "reliable",
    "scalable": "large-scale",
    "scene": "environment",
    "scenes": "environments",
    "segmentation": "pixel labeling",
    "self-supervised": "label-free",
    "semi-supervised": "partially labeled",
    "sentiment": "opinion",
    "small": "tiny",
    "speech": "spoken language",
    "survey": "review",
    "synthesis": "generation",
    "tracking": "following",
    "trajectory": "path",
    "transformer": "attention model",
    "transformers": "attention models",
    "uncertainty": "confidence",
    "understanding": "comprehension",
    "unsupervised": "label-free",
    "vehicle": "car",
    "vehicles": "cars",
    "verification": "checking",
    "video": "footage",
    "videos": "clips",
    "vulnerability": "weakness",
}
REWORD_CHANCE = 0.8
KNOWN_ITEM_TEMPLATES = (
    "{}",
    "papers about {}",
    "research on {}",
    "what work exists on {}?",
    "looking for a paper on {}",
)
CONTRIBUTION_START = re.compile(
    r"^(?:In this (?:paper|work|study|letter)\b"
    r"|This (?:paper|work|study) (?:propose|present|introduce|develop)s?\b"
    r"|We (?:propose|present|introduce|develop|design)\b"
    r"|To (?:address|tackle|overcome|bridge|solve|mitigate) [^,]{1,80}, we (?:propose|present|introduce|develop|design)\b)"
)
CATEGORY_NAMES = {
    "cs.CV": "computer vision",
    "cs.CL": "natural language processing",
    "cs.AI": "artificial intelligence",
    "cs.LG": "machine learning",
    "cs.GR": "computer graphics",
    "cs.IT": "information theory",
    "eess.IV": "image and video processing",
    "cs.RO": "robotics",
    "cs.GT": "game theory",
    "cs.HC": "human-computer interaction",
    "cs.IR": "information retrieval",
    "cs.SD": "sound and audio",
    "cs.CR": "security and privacy",
    "cs.CY": "computers and society",
    "cs.SE": "software engineering",
    "eess.AS": "speech processing",
    "cs.MM": "multimedia",
    "cs.MA": "multi-agent systems",
    "eess.SP": "signal processing",
}
TOPICAL_TEMPLATES = ("{b} in {c}", "{b} for {c}", "{c} research on {b}", "{c}: {b}")
ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "etc.", "vs.", "cf.", "Fig.", "Eq.", "approx.")
WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]|[A-Za-z]")
TOKEN = re.compile(r"[^\s:;,.!?()\[\]{}\"]+")


@dataclass(frozen=True)
class Paper:
    id: str
    title: str
    abstract: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    kind: str
    judgments: dict[str, int]


def squash(text: str) -> str:
    return " ".join(text.split())


def read_papers(path: Path) -> list[Paper]:
    """Every usable paper once, in id order: no empty fields, no repeated titles."""
    by_id: dict[str, Paper] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            title, abstract = squash(record["title"]), squash(record["summary"])
            if title and len(abstract) >= 200 and record["categories"]:
                by_id[record["id"]] = Paper(
                    record["id"], title, abstract, tuple(record["categories"])
                )
    papers, titles = [], set()
    for paper in sorted(by_id.values(), key=lambda p: p.id):
        key = paper.title.lower()
        if key not in titles:
            titles.add(key)
            papers.append(paper)
    return papers


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def document_frequency(papers: Iterable[Paper]) -> Counter[str]:
    df: Counter[str] = Counter()
    for paper in papers:
        df.update(set(words(f"{paper.title} {paper.abstract}")))
    return df


# --- (a) known-item queries -------------------------------------------------


def is_name(token: str) -> bool:
    """Acronyms, coined CamelCase names and anything with a digit or markup."""
    if any(ch.isdigit() or ch in "$\\{}^_" for ch in token):
        return True
    return any(sum(ch.isupper() for ch in part) >= 2 for part in token.split("-"))


def known_item_words(title: str, df: Counter[str], rng: random.Random) -> list[str] | None:
    """3-6 content words of the title in title order, never its names or rarest word.

    How many are kept is drawn at random, so the kind spans easy and hard
    queries instead of sitting at the ceiling for every system.
    """
    head, sep, tail = title.partition(":")
    # "Name: what it does" titles: the part before the colon is the name.
    if sep and len(TOKEN.findall(head)) <= 3:
        title = tail
    kept: list[str] = []
    for token in TOKEN.findall(title):
        token = token.strip("'-")
        if not token or is_name(token) or len(token) <= 2:
            continue
        if token.lower() in STOPWORDS or token.lower() in FILLER:
            continue
        kept.append(token.lower())
    if len(kept) < 3 + DROP_RAREST:
        return None
    for _ in range(DROP_RAREST):
        kept.remove(min(kept, key=lambda w: (df[w], w)))
    count = rng.randint(3, min(6, len(kept)))
    return [kept[i] for i in sorted(rng.sample(range(len(kept)), count))]


def reword(terms: list[str], rng: random.Random) -> list[str]:
    return [REWORDINGS[t] if t in REWORDINGS and rng.random() < REWORD_CHANCE else t for t in terms]


def known_item_queries(papers: list[Paper], df: Counter[str], rng: random.Random) -> list[Query]:
    queries = []
    for paper in papers:
        terms = known_item_words(paper.title, df, rng)
        if terms is None:
            continue
        text = rng.choice(KNOWN_ITEM_TEMPLATES).format(" ".join(reword(terms, rng)))
        queries.append(Query(f"known-{len(queries) + 1:03d}", text, "known-item", {paper.id: 1}))
        if len(queries) == KNOWN_ITEM:
            break
    return queries


# --- (b) contribution-sentence queries --------------------------------------


def sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z(\[])", text)
    merged: list[str] = []
    for part in parts:
        if merged and merged[-1].endswith(ABBREVIATIONS):
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged


def contribution(abstract: str) -> tuple[str, str] | None:
    """(the sentence that states the contribution, the abstract without it)."""
    found = sentences(abstract)
    for i, sentence in enumerate(found):
        if CONTRIBUTION_START.match(sentence) and 10 <= len(sentence.split()) <= 60:
            rest = found[:i] + found[i + 1 :]
            remainder = " ".join(rest)
            if len(rest) >= 2 and len(remainder) >= 300:
                return sentence, remainder
            return None
    return None


def without_names(sentence: str) -> str:
    """The sentence with coined names and acronyms taken out ("We present X, a ...")."""
    kept = [t for t in sentence.split() if not is_name(t.strip(".,;:()[]'\""))]
    text = " ".join(kept)
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)
    text = re.sub(r"\s+([,.;:])", r"\1", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def contribution_queries(papers: list[Paper]) -> tuple[list[Query], dict[str, str]]:
    """The queries, and the shortened abstract of each target paper."""
    queries, shortened = [], {}
    for paper in papers:
        found = contribution(paper.abstract)
        if found is None:
            continue
        sentence, remainder = found
        queries.append(
            Query(
                f"contrib-{len(queries) + 1:03d}",
                without_names(sentence),
                "contribution",
                {paper.id: 1},
            )
        )
        shortened[paper.id] = remainder
        if len(queries) == CONTRIBUTION:
            break
    return queries, shortened


# --- (c) topical queries -----------------------------------------------------


def singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def bigrams(text: str) -> Iterator[tuple[tuple[str, str], str, str, str]]:
    """(normalised bigram, surface form, word before, word after) for adjacent content words.

    Stopwords and generic words break bigrams; the neighbours ("" at either
    end) show when a bigram is only part of a longer name ("named entity").
    """
    tokens = words(text)
    for i, (first, second) in enumerate(itertools.pairwise(tokens)):
        if any(
            t in STOPWORDS or t in GENERIC or len(t) < 3 or t.endswith("-based")
            for t in (first, second)
        ):
            continue
        before = tokens[i - 1] if i > 0 else ""
        after = tokens[i + 2] if i + 2 < len(tokens) else ""
        yield (singular(first), singular(second)), f"{first} {second}", before, after


def is_fragment(neighbours: Counter[str]) -> bool:
    """Most uses of the bigram have the same word beside it: the topic is the longer phrase."""
    word, count = neighbours.most_common(1)[0]
    return word != "" and word not in STOPWORDS and count > 0.5 * neighbours.total()


def topical_queries(
    corpus: dict[str, tuple[str, str]], categories: dict[str, tuple[str, ...]], rng: random.Random
) -> list[Query]:
    in_title: dict[tuple[str, str], set[str]] = defaultdict(set)
    anywhere: dict[tuple[str, str], set[str]] = defaultdict(set)
    surface: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    preceding: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    following: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for doc, (title, text) in corpus.items():
        for is_title, field in ((True, title), (False, text)):
            for key, form, before, after in bigrams(field):
                if is_title:
                    in_title[key].add(doc)
                anywhere[key].add(doc)
                surface[key][form] += 1
                preceding[key][before] += 1
                following[key][after] += 1
    field_names = {
        (singular(a), singular(b))
        for name in CATEGORY_NAMES.values()
        for a, b in itertools.pairwise(words(name))
    }
    candidates = []
    for key in sorted(anywhere):
        # A phrase this common names no topic; one rare in titles is seldom a
        # topic's name ("challenging conditions"); a field's name is no topic.
        if len(anywhere[key]) > 150 or len(in_title[key]) < 3 or key in field_names:
            continue
        if is_fragment(following[key]) or is_fragment(preceding[key]):
            continue
        for category, name in CATEGORY_NAMES.items():
            # "artificial intelligence" in artificial intelligence asks nothing.
            if set(key) & {singular(w) for w in words(name)}:
                continue
            grades = {}
            for doc in sorted(anywhere[key]):
                if category not in categories[doc]:
                    continue
                primary = categories[doc][0] == category
                grades[doc] = 2 if primary and doc in in_title[key] else 1
            low, high = TOPICAL_RELEVANT
            if low <= len(grades) <= high and sum(g == 2 for g in grades.values()) >= 1:
                candidates.append((category, key, grades))
    rng.shuffle(candidates)
    queries: list[Query] = []
    per_category: Counter[str] = Counter()
    used_words: dict[str, set[str]] = defaultdict(set)
    used_phrases: set[tuple[str, str]] = set()
    for category, key, grades in candidates:
        # One query per phrase, and no two in a category sharing a word
        # ("language model" and "large language"): they would be near-repeats.
        if per_category[category] == TOPICAL_PER_CATEGORY or key in used_phrases:
            continue
        if used_words[category] & set(key):
            continue
        form = min(surface[key], key=lambda f: (-surface[key][f], f))
        text = rng.choice(TOPICAL_TEMPLATES).format(b=form, c=CATEGORY_NAMES[category])
        queries.append(Query(f"topic-{len(queries) + 1:03d}", text, "topical", grades))
        per_category[category] += 1
        used_words[category] |= set(key)
        used_phrases.add(key)
        if len(queries) == TOPICAL:
            break
    return queries


# --- writing -----------------------------------------------------------------


def write_jsonl(path: Path, rows: Iterable[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def build(corpus_path: Path, out: Path, seed: int, size: int) -> dict[str, int]:
    papers = read_papers(corpus_path)
    df = document_frequency(papers)
    # One generator per step, so changing how one kind is made leaves the others be.
    sample = random.Random(f"{seed}-sample").sample(papers, size)
    # Disjoint halves, so each kind draws its targets from papers chosen alike.
    half = len(sample) // 2
    known = known_item_queries(sample[:half], df, random.Random(f"{seed}-known"))
    contrib, shortened = contribution_queries(sample[half:])
    corpus = {
        p.id: (p.title, shortened.get(p.id, p.abstract)) for p in sorted(sample, key=lambda p: p.id)
    }
    categories = {p.id: p.categories for p in sample}
    topical = topical_queries(corpus, categories, random.Random(f"{seed}-topical"))
    queries = known + contrib + topical

    out.mkdir(parents=True, exist_ok=True)
    (out / "qrels").mkdir(exist_ok=True)
    write_jsonl(
        out / "corpus.jsonl",
        ({"_id": doc, "title": title, "text": text} for doc, (title, text) in corpus.items()),
    )
    write_jsonl(
        out / "queries.jsonl",
        ({"_id": q.id, "text": q.text, "metadata": {"kind": q.kind}} for q in queries),
    )
    with (out / "qrels" / "test.tsv").open("w", encoding="utf-8", newline="\n") as handle:
        handle.write("query-id\tcorpus-id\tscore\n")
        for q in queries:
            for doc, grade in sorted(q.judgments.items()):
                handle.write(f"{q.id}\t{doc}\t{grade}\n")
    judged = [len(q.judgments) for q in topical]
    return {
        "documents": len(corpus),
        "known-item": len(known),
        "contribution": len(contrib),
        "topical": len(topical),
        "topical judgments": sum(judged),
        "topical grade 2": sum(g == 2 for q in topical for g in q.judgments.values()),
        "median relevant per topical query": sorted(judged)[len(judged) // 2] if judged else 0,
        "bytes": sum(
            (out / name).stat().st_size
            for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv")
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--docs", type=int, default=DOCS)
    args = parser.parse_args()
    for name, value in build(args.corpus, args.out, args.seed, args.docs).items():
        print(f"{name}: {value:,}")


if __name__ == "__main__":
    main()
