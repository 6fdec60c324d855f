"""`paperroute library import`: a Zotero export into a reader's collection, from the shell."""

from __future__ import annotations

from tests.cli.conftest import Invoke
from tests.conftest import FIXTURES
from tests.test_zotero import KEY, FakeZotero, library, zotero

__all__ = ["library", "zotero"]  # fixtures, for the Zotero commands


def test_import_files_the_papers_and_lists_what_is_not_here(invoke: Invoke) -> None:
    invoke("init")
    invoke("ingest", "file", str(FIXTURES / "papers-slice.jsonl"))
    invoke("user", "add", "reader@example.org")
    out = invoke(
        "library",
        "import",
        str(FIXTURES / "library" / "zotero.ris"),
        "--user",
        "reader@example.org",
    ).output
    assert '4 entries: 1 found here (1 new in "Imported library"), 3 not here' in out
    assert "not here: A Book That Is Not on This Site" in out


def test_mistakes_get_a_sentence_not_a_traceback(invoke: Invoke) -> None:
    invoke("init")
    library = str(FIXTURES / "library" / "zotero.ris")
    assert "there is no user" in invoke("library", "import", library, "--user", "no@example.org",
                                        expect=1).output  # fmt: skip
    assert "not an email address" in invoke("library", "import", library, "--user", "nobody",
                                            expect=1).output  # fmt: skip
    out = invoke("library", "import", str(FIXTURES / "papers-tiny.jsonl"), "--user", "a@b.org",
                 expect=1).output  # fmt: skip
    assert "Traceback" not in out


def test_the_commands_push_and_pull(
    invoke: Invoke, zotero: tuple[FakeZotero, str], library: tuple[int, int]
) -> None:
    _, url = zotero
    env = {"PAPERROUTE_ZOTERO_URL": url, "PAPERROUTE_ZOTERO_KEY": KEY}
    out = invoke("library", "zotero-push", "--user", "ada@example.org",
                 "--collection", "Reading list", env=env).output  # fmt: skip
    assert '2 papers sent to Zotero "Reading list"' in out
    out = invoke("library", "zotero-pull", "--user", "ada@example.org", "--from", "Reading list",
                 "--into", "Back again", env=env).output  # fmt: skip
    assert "2 entries: 2 found here" in out
    bad = invoke("library", "zotero-push", "--user", "ada@example.org", "--collection", "Nope",
                 env=env, expect=1).output  # fmt: skip
    assert "has no collection 'Nope'" in bad
