"""Reading BEIR folders: what held-out benchmarks throw at us, and the committed dev set."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from paperroute.search.beir import BeirError, load_beir, read_qrels
from paperroute.search.metrics import evaluate

FIXTURE = Path(__file__).parents[1] / "fixtures" / "beir-arxiv"

CORPUS = [
    {"_id": "d1", "title": "Graph networks", "text": "Message passing on graphs."},
    {"_id": "d2", "title": "", "text": "A paper without a title."},
    {"_id": "d3", "text": "No title field at all.", "metadata": {"url": "http://x"}},
]
QUERIES = [
    {"_id": "q1", "text": "graph neural networks"},
    {"_id": "q2", "text": "untitled work", "metadata": {"narrative": "..."}},
    {"_id": "q9", "text": "a training query, judged in no test qrels"},
]
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td3\t1\nq2\td2\t1\n"


def jsonl(rows: Sequence[Mapping[str, object]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def make(
    folder: Path,
    *,
    corpus: str | None = None,
    queries: str | None = None,
    qrels: str | None = None,
    split: str = "test",
) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(jsonl(CORPUS) if corpus is None else corpus)
    (folder / "queries.jsonl").write_text(jsonl(QUERIES) if queries is None else queries)
    (folder / "qrels" / f"{split}.tsv").write_text(QRELS if qrels is None else qrels)
    return folder


# --- what loads ------------------------------------------------------------------


def test_loads_corpus_queries_and_judgments(tmp_path: Path) -> None:
    beir = load_beir(make(tmp_path))
    assert beir.corpus == {
        "d1": ("Graph networks", "Message passing on graphs."),
        "d2": ("", "A paper without a title."),
        "d3": ("", "No title field at all."),
    }
    # Only the queries judged in the split, like BEIR's loader.
    assert beir.queries == {"q1": "graph neural networks", "q2": "untitled work"}
    assert beir.qrels == {"q1": {"d1": 2, "d3": 1}, "q2": {"d2": 1}}
    assert beir.notes == ()


def test_other_splits_are_read_by_name(tmp_path: Path) -> None:
    beir = load_beir(
        make(tmp_path, split="dev", qrels="query-id\tcorpus-id\tscore\nq9\td1\t1\n"), "dev"
    )
    assert beir.queries == {"q9": "a training query, judged in no test qrels"}


def test_tolerates_bom_crlf_blank_lines_and_null_fields(tmp_path: Path) -> None:
    corpus = '\ufeff{"_id": "d1", "title": null, "text": "x"}\r\n\r\n{"_id": "d2", "title": "T", "text": null}\r\n'
    queries = '\ufeff{"_id": "q1", "text": "x"}\r\n   \r\n'
    qrels = "\ufeffquery-id\tcorpus-id\tscore\r\nq1\td1\t1\r\n\r\nq1\td2\t0\r\n"
    beir = load_beir(make(tmp_path, corpus=corpus, queries=queries, qrels=qrels))
    assert beir.corpus == {"d1": ("", "x"), "d2": ("T", "")}
    assert beir.queries == {"q1": "x"}
    assert beir.qrels == {"q1": {"d1": 1, "d2": 0}}


def test_numeric_ids_become_strings(tmp_path: Path) -> None:
    corpus = jsonl([{"_id": 4983, "title": "t", "text": "x"}])
    queries = jsonl([{"_id": 1, "text": "q"}])
    beir = load_beir(make(tmp_path, corpus=corpus, queries=queries, qrels="q\td\ts\n1\t4983\t1\n"))
    assert beir.corpus == {"4983": ("t", "x")}
    assert beir.queries == {"1": "q"}
    assert beir.qrels == {"1": {"4983": 1}}


def test_qrels_with_extra_columns_spaces_and_float_grades(tmp_path: Path) -> None:
    path = tmp_path / "test.tsv"
    path.write_text(
        "query-id\tcorpus-id\tscore\tnote\n"
        "q1\td1\t2\tkeep\n"
        "q1 d2 1\n"  # space-separated, as hand-made files are
        "q2\t d3 \t1.0\n"
        "q2\td4\t-1\n"
    )
    assert read_qrels(path) == {"q1": {"d1": 2, "d2": 1}, "q2": {"d3": 1, "d4": -1}}


def test_any_header_names_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "test.tsv"
    path.write_text("qid\tdocid\trelevance\nq1\td1\t1\n")
    assert read_qrels(path) == {"q1": {"d1": 1}}


def test_gzipped_files_stand_in_for_plain_ones(tmp_path: Path) -> None:
    folder = make(tmp_path)
    for name in ("corpus.jsonl", "qrels/test.tsv"):
        plain = folder / name
        with gzip.open(plain.with_name(plain.name + ".gz"), "wb") as handle:
            handle.write(plain.read_bytes())
        plain.unlink()
    beir = load_beir(folder)
    assert len(beir.corpus) == 3
    assert beir.qrels["q1"] == {"d1": 2, "d3": 1}


def test_notes_say_what_was_tolerated(tmp_path: Path) -> None:
    corpus = jsonl([*CORPUS, {"_id": "d1", "title": "Again", "text": "later copy"}])
    qrels = QRELS + "q1\tgone\t1\nq404\td1\t1\n"
    beir = load_beir(make(tmp_path, corpus=corpus, qrels=qrels))
    assert beir.corpus["d1"] == ("Again", "later copy")  # the last copy wins, as in BEIR
    # A judgment for an unknown query is dropped: it could never be run.
    assert "q404" not in beir.qrels
    # A judged document missing from the corpus still counts as relevant.
    assert beir.qrels["q1"]["gone"] == 1
    assert beir.notes == (
        "corpus.jsonl: 1 repeated document ids; the last of each was kept",
        "qrels/test.tsv: 1 query ids not in queries.jsonl were skipped (e.g. 'q404')",
        "qrels/test.tsv: 1 judgments name documents not in corpus.jsonl; they still count as relevant",
    )


# --- what is refused ---------------------------------------------------------------


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(BeirError, match="not a folder"):
        load_beir(tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["corpus.jsonl", "queries.jsonl"])
def test_missing_file_is_named(tmp_path: Path, name: str) -> None:
    folder = make(tmp_path)
    (folder / name).unlink()
    with pytest.raises(BeirError, match=rf"{name}: file not found"):
        load_beir(folder)


def test_missing_split_lists_the_splits_there_are(tmp_path: Path) -> None:
    folder = make(tmp_path, split="dev")
    (folder / "qrels" / "train.tsv").write_text(QRELS)
    with pytest.raises(BeirError, match=r"test\.tsv: file not found \(qrels/ has: dev, train\)"):
        load_beir(folder)


def test_bad_json_line_is_named(tmp_path: Path) -> None:
    corpus = jsonl(CORPUS[:1]) + '{"_id": "d2", "title": \n'
    with pytest.raises(BeirError, match=r"corpus\.jsonl line 2: not valid JSON"):
        load_beir(make(tmp_path, corpus=corpus))


def test_json_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BeirError, match=r"queries\.jsonl line 1: expected a JSON object"):
        load_beir(make(tmp_path, queries='["q1", "text"]\n'))


@pytest.mark.parametrize(
    "record", [{"title": "t", "text": "x"}, {"_id": "", "text": "x"}, {"_id": None}, {"_id": True}]
)
def test_record_without_an_id_is_refused(tmp_path: Path, record: Mapping[str, object]) -> None:
    corpus = jsonl([*CORPUS, record])
    with pytest.raises(BeirError, match=r'corpus\.jsonl line 4: missing or empty "_id"'):
        load_beir(make(tmp_path, corpus=corpus))


def test_non_string_title_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BeirError, match=r'corpus\.jsonl line 1: "title" must be a string'):
        load_beir(make(tmp_path, corpus=jsonl([{"_id": "d1", "title": ["a"], "text": "x"}])))


def test_query_without_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        BeirError, match=r"queries\.jsonl line 2: query 'q2' has no \"text\" string"
    ):
        load_beir(make(tmp_path, queries=jsonl([QUERIES[0], {"_id": "q2"}])))


def test_missing_header_is_refused(tmp_path: Path) -> None:
    # BEIR would skip this first judgment unread; we say so instead.
    with pytest.raises(BeirError, match=r"test\.tsv line 1: missing header"):
        load_beir(make(tmp_path, qrels="q1\td1\t1\nq2\td2\t1\n"))


@pytest.mark.parametrize("score", ["high", "0.5", "1e400x"])
def test_non_integer_score_is_named_with_its_line(tmp_path: Path, score: str) -> None:
    qrels = f"query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td3\t{score}\n"
    with pytest.raises(BeirError, match=r"test\.tsv line 3: score '.*' is not an integer"):
        load_beir(make(tmp_path, qrels=qrels))


def test_short_qrels_line_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        BeirError, match=r"test\.tsv line 3: expected query-id, corpus-id and score"
    ):
        load_beir(make(tmp_path, qrels="query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td3\n"))


@pytest.mark.parametrize("text", ["", "\n\n", "query-id\tcorpus-id\tscore\n"])
def test_qrels_without_judgments_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(BeirError, match="no judgments"):
        load_beir(make(tmp_path, qrels=text))


def test_qrels_that_are_not_utf8_are_named(tmp_path: Path) -> None:
    folder = make(tmp_path)
    (folder / "qrels" / "test.tsv").write_bytes(b"query-id\tcorpus-id\tscore\nq1\td\xe91\t1\n")
    with pytest.raises(BeirError, match=r"test\.tsv line 2: not UTF-8"):
        load_beir(folder)


def test_corrupt_gzip_is_a_beir_error(tmp_path: Path) -> None:
    folder = make(tmp_path)
    (folder / "corpus.jsonl").unlink()
    (folder / "corpus.jsonl.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(BeirError, match=r"corpus\.jsonl\.gz: cannot read"):
        load_beir(folder)


def test_beir_error_is_a_value_error() -> None:
    assert issubclass(BeirError, ValueError)


# --- the committed development set -------------------------------------------------


def test_dev_set_loads_whole_and_clean() -> None:
    beir = load_beir(FIXTURE)
    assert beir.notes == ()
    assert len(beir.corpus) == 1900
    kinds = {"known": 0, "contrib": 0, "topic": 0}
    for query in beir.queries:
        kinds[query.split("-")[0]] += 1
    assert kinds == {"known": 100, "contrib": 100, "topic": 50}
    # Every judged document is in the corpus, every query has something relevant.
    assert all(doc in beir.corpus for judged in beir.qrels.values() for doc in judged)
    assert all(any(g > 0 for g in judged.values()) for judged in beir.qrels.values())
    # A perfect run scores 1 everywhere: the judgments are self-consistent.
    perfect = {q: sorted(judged, key=lambda d: -judged[d]) for q, judged in beir.qrels.items()}
    assert evaluate(perfect, beir.qrels) == pytest.approx(
        {"ndcg@10": 1.0, "recall@100": 1.0, "mrr@10": 1.0}
    )


def test_dev_set_contribution_sentences_are_gone_from_their_papers() -> None:
    beir = load_beir(FIXTURE)
    for query, text in beir.queries.items():
        if query.startswith("contrib-"):
            (doc,) = beir.qrels[query]
            # The query drops coined names, so compare its longest stretch of words.
            words = text.split()
            assert " ".join(words[-6:]) not in beir.corpus[doc][1]


def test_dev_set_stays_small() -> None:
    size = sum(f.stat().st_size for f in FIXTURE.rglob("*") if f.is_file())
    assert size < 3_000_000
