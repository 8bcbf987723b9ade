"""The README and docs/ hold together: every relative link and anchor resolves,
the README stays short, and every docs page is reachable from it."""

import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
MAX_README_LINES = 250

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"`+[^`]*`+")
# [text](target) or ![alt](target), with an optional "title"; text may hold
# inline code, already blanked out below.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: markup dropped, lowercase, every
    character other than letters, digits, spaces, hyphens and underscores
    dropped, spaces -> hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w: letters, digits, underscore
    return text.replace(" ", "-")


def _prose_lines(text: str):
    """(line number, line) outside fenced code blocks."""
    in_fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            yield number, line


def heading_anchors(text: str) -> set[str]:
    """Anchors of a Markdown text's headings; a repeated slug gets GitHub's
    -1, -2, ... suffixes."""
    anchors, seen = set(), {}
    for _, line in _prose_lines(text):
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every Markdown link and image outside code."""
    found = []
    for number, line in _prose_lines(text):
        line = INLINE_CODE.sub("", line)
        found += [(number, m.group(1)) for m in LINK.finditer(line)]
    return found


def broken_links(md_file: Path) -> list[str]:
    """What does not resolve among md_file's relative links and anchors, each
    as 'file:line: target (why)'; absolute URLs (http, https, mailto...) are
    not checked."""
    problems = []
    text = md_file.read_text(encoding="utf-8")
    for number, target in links(text):
        if SCHEME.match(target) or target.startswith("//"):
            continue
        path_part, _, anchor = target.partition("#")
        where = f"{md_file.name}:{number}: {target}"
        if path_part:
            resolved = (md_file.parent / path_part).resolve()
            if not resolved.exists():
                problems.append(f"{where} (no file {path_part})")
                continue
        else:
            resolved = md_file
        if anchor and resolved.suffix == ".md":
            anchors = heading_anchors(resolved.read_text(encoding="utf-8"))
            if anchor not in anchors:
                problems.append(f"{where} (no heading #{anchor} in {resolved.name})")
    return problems


def linked_files(md_file: Path) -> set[Path]:
    """The files md_file's relative links point to."""
    text = md_file.read_text(encoding="utf-8")
    return {(md_file.parent / t.partition("#")[0]).resolve()
            for _, t in links(text)
            if not SCHEME.match(t) and not t.startswith(("#", "//"))}


# --------------------------------------------------------------- the helpers


@pytest.mark.parametrize("heading, slug", [
    ("Deep equilibrium (`deq_shine`)", "deep-equilibrium-deq_shine"),
    ("fastMRI data", "fastmri-data"),
    ("Classical solvers: checked against pygrappa and sigpy",
     "classical-solvers-checked-against-pygrappa-and-sigpy"),
    ("Does the issue's target hold?", "does-the-issues-target-hold"),
    ("Page size, opening time, and the browser test",
     "page-size-opening-time-and-the-browser-test"),
    ("A [linked](other.md) heading", "a-linked-heading"),
])
def test_github_slug(heading, slug):
    assert github_slug(heading) == slug


def test_headings_in_code_blocks_are_not_anchors():
    text = "# Title\n\n```bash\n# a comment\n```\n\n## Title\n"
    assert heading_anchors(text) == {"title", "title-1"}


def test_broken_links_are_found(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## A section\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[fine](other.md) [fine](other.md#a-section) [fine](#page)\n"
        "[web](https://example.org/missing.md#nowhere) ![img](https://x.org/a.png)\n"
        "`[in code](missing.md)`\n"
        "```\n[in a fence](missing.md)\n```\n"
        "[gone](missing.md) [bad anchor](other.md#no-such-section)\n"
        "[bad local](#nowhere) ![missing image](img/none.png)\n")
    problems = broken_links(page)
    assert len(problems) == 4, problems
    assert "page.md:9: missing.md (no file missing.md)" in problems
    assert any("other.md#no-such-section" in p for p in problems)
    assert any("#nowhere (no heading #nowhere in page.md)" in p for p in problems)
    assert any("img/none.png" in p for p in problems)
    assert linked_files(page) >= {(tmp_path / "other.md").resolve()}


def test_a_clean_page_has_no_broken_links(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# B\n\n[back](../a.md#a)\n")
    (tmp_path / "a.md").write_text("# A\n\n[down](sub/b.md#b)\n")
    assert broken_links(tmp_path / "a.md") == []
    assert broken_links(tmp_path / "sub" / "b.md") == []


# --------------------------------------------------------------- the docs


@pytest.mark.parametrize("md_file", [README, *DOCS],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_links_resolve(md_file):
    assert broken_links(md_file) == []


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines (at most {MAX_README_LINES}): "
        "move the details to a page in docs/")


def test_every_docs_page_is_linked_from_the_readme():
    assert DOCS, "no docs/*.md page"
    linked = linked_files(README)
    missing = [p.name for p in DOCS if p.resolve() not in linked]
    assert missing == [], f"docs pages not linked from README.md: {missing}"


# --------------------------------------------------------------- what README runs


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block of a Markdown text."""
    blocks, current, language = [], None, ""
    for line in text.splitlines(keepends=True):
        if FENCE.match(line):
            if current is None:
                current, language = [], line.strip().strip("`~").strip()
            else:
                blocks.append((language, "".join(current)))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_every_readme_run_selects_what_it_runs():
    """`benchopt run . -d "phantom[acceleration=[4,8],...]"` without -s
    started every solver on two settings: hours on a CPU, for a line whose
    comment promised a parameter grid."""
    lines = [line for language, body in code_blocks(README.read_text())
             if language == "bash" for line in body.replace("\\\n", " ").splitlines()
             if line.strip().startswith("benchopt run")]
    assert lines
    for line in lines:
        words = shlex.split(line, comments=True)
        assert {"-s", "-f", "--config"} & set(words), line


def test_the_readme_never_advises_no_html_alone():
    """`--no-html` alone switches benchopt to matplotlib (dozens of "Save"
    lines, PDFs overwriting each other); `--no-plot` skips the plots."""
    for line in README.read_text().splitlines():
        if "--no-html" in line:
            assert "--no-plot" in line, line


def test_the_cpu_torch_install_comes_first_and_is_cis():
    """The tip came after the block a reader copies, without CI's version."""
    pin = re.search(r"torch==[\d.]+", (REPO / ".ci" / "run").read_text()).group()
    first = code_blocks(README.read_text())[0][1]
    command = f"pip install {pin} --index-url https://download.pytorch.org/whl/cpu"
    assert command in first
    assert first.index(command) < first.index("pip install -e .")


def test_the_readme_solver_example_is_the_solver_file():
    """The README's copy differed from solvers/zero_filled.py and failed
    ruff (I001) when copied: it is the file, verbatim."""
    source = (REPO / "solvers" / "zero_filled.py").read_text()
    examples = [body for language, body in code_blocks(README.read_text())
                if language == "python" and 'name = "zero_filled"' in body]
    assert examples == [source]
