"""Every document the repository cites exists in the repository.

Comments and docstrings point readers to design notes (``docs/gradients.md``, "see
README.md in this directory"); such a pointer is only useful if a clone contains the page. The
scan covers the tracked files:

* anywhere in a file: paths ``docs/....md``;
* in comments and docstrings of code (Python, C, C++, TableGen, MLIR, CMake, shell): any
  ``name.md`` or ``path/name.md``;
* in Markdown: the targets of links that end in ``.md``.

A path is looked up relative to the repository root and to the citing file's folder; a bare
name also in ``docs/``. Citations of documents outside the repository (a folder beside the
checkout, an absolute machine path) fail too.
"""

from __future__ import annotations

import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_DOCS_PATH = re.compile(r"(?<![\w./-])((?:\.\./)*docs/[\w./-]*?\.md)\b")
_MD_NAME = re.compile(r"(?<![\w-])((?:\.{1,2}/|/)?(?:[\w.-]+/)*[\w.-]+\.md)\b")
_MD_LINK = re.compile(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)")
# Written so that this file does not match itself (nor `git grep` for the folder's name).
_OUTSIDE = re.compile(r"\.\./share[d]/|/wor[k]/")
_SIBLING = "../shared" + "/"

_C_LIKE = {".c", ".h", ".cpp", ".hpp", ".inc", ".def", ".td", ".mlir", ".map"}
_HASH_COMMENTS = {".cmake", ".toml", ".in", ".txt", ".sh", ""}


def tracked_files() -> list[Path]:
    """The tracked files but this one, whose examples of citations cite nothing."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    this = Path(__file__).resolve()
    return [ROOT / name for name in out.decode().split("\0") if name and ROOT / name != this]


def python_comments(text: str) -> list[str]:
    """Comments and string literals written as docstrings (triple-quoted)."""
    found = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                found.append(tok.string)
            elif tok.type == tokenize.STRING and tok.string.lstrip("rbuRBU").startswith(
                ('"""', "'''")
            ):
                found.append(tok.string)
    except (tokenize.TokenError, SyntaxError):
        return [text]  # not parseable as Python: scan it all
    return found


def c_comments(text: str) -> list[str]:
    return re.findall(r"//[^\n]*|/\*.*?\*/", text, flags=re.S)


def hash_comments(text: str) -> list[str]:
    return re.findall(r"#[^\n]*", text)


def citations(path: Path, text: str) -> set[str]:
    """The documents ``text`` (the contents of ``path``) cites."""
    cited = _DOCS_PATH.findall(text)
    suffix = path.suffix
    if suffix == ".md":
        cited += [t for t in _MD_LINK.findall(text) if "://" not in t]
        return set(cited)
    if suffix == ".py":
        comments = python_comments(text)
    elif suffix in _C_LIKE:
        comments = c_comments(text)
    elif suffix in _HASH_COMMENTS or path.name == "Makefile":
        comments = hash_comments(text)
    else:
        return set(cited)
    for comment in comments:
        cited += _MD_NAME.findall(comment)
    return set(cited)


def resolves(citation: str, citing: Path, files: set[Path]) -> bool:
    if _OUTSIDE.search(citation) or citation.startswith("/"):
        return False
    candidates = [ROOT / citation, citing.parent / citation]
    if "/" not in citation:
        candidates.append(ROOT / "docs" / citation)
    return any(c.resolve() in files for c in candidates)


def missing_citations(paths: list[Path], files: set[Path]) -> list[str]:
    problems = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # binary, or a symlink into the build
        for citation in sorted(citations(path, text)):
            if not resolves(citation, path, files):
                problems.append(f"{path.relative_to(ROOT)} cites {citation}")
    return problems


def test_every_cited_document_exists():
    paths = tracked_files()
    files = {p.resolve() for p in paths} | {Path(__file__).resolve()}
    assert missing_citations(paths, files) == []


def test_no_citation_of_documents_outside_the_repository():
    found = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in _OUTSIDE.finditer(text)]
    assert found == []


@pytest.mark.parametrize(
    "name, text, cited",
    [
        (
            "a.py",
            '"""See docs/gradients.md."""\nx = "results.md"  # and README.md\n',
            {"docs/gradients.md", "README.md"},
        ),
        (
            "a.cpp",
            '// the bug in docs/toolchain.md\nconst char *s = "x.md";\n',
            {"docs/toolchain.md"},
        ),
        ("a.td", "/* GRADIENTS.md */ def X;\n", {"GRADIENTS.md"}),
        (
            "CMakeLists.txt",
            f"# see {_SIBLING}TOOLCHAIN.md\nset(x y.md)\n",
            {f"{_SIBLING}TOOLCHAIN.md"},
        ),
        (
            "a.md",
            "[g](gradients.md#the-qnode-split), [w](https://x.org/a.md), docs/b.md\n",
            {"docs/b.md", "gradients.md"},
        ),
    ],
)
def test_the_scan_finds_citations(name, text, cited):
    assert citations(ROOT / name, text) == cited


def test_a_citation_of_a_missing_document_is_reported():
    citing = ROOT / "frontend" / "kvant" / "example.py"
    files = {(ROOT / "docs" / "gradients.md").resolve(), citing.resolve()}
    assert resolves("docs/gradients.md", citing, files)
    assert resolves("gradients.md", citing, files)
    assert not resolves("docs/no-such-page.md", citing, files)
    assert not resolves("GRADIENTS.md", citing, files)
    assert not resolves(f"{_SIBLING}reference/grad-semantics.md", citing, files)
