"""The files a report ships and writes: whole, or not at all.

A page's assets (assets/report.css, report.js, the plotly.js bundle) are read
from this package. Every file a report writes (the page, plotly.js beside it,
publish's copies, summaries and index) goes through `write_text` /
`write_file`: written to a temporary file in the same folder, then renamed
over the target, so that a reader never sees half a file; a failed write (a
full disk, a read-only folder) removes its temporary file and raises OSError
naming the file and what to do. `write_asset` rewrites an existing file
unless it holds exactly what it should: an asset left half-written is never
reused.
"""

import os
from pathlib import Path

ASSETS = Path(__file__).parent / "assets"


def asset_text(name: str) -> str:
    """The text of assets/<name> (report.css, report.js), inlined in the page."""
    return (ASSETS / name).read_text(encoding="utf-8")


def plotly_script() -> tuple[str, str]:
    """(file name, source) of the plotly.js the pages load.

    The basic bundle shipped in assets/ (scatter traces only; see its README)
    when plotly.py's plotly.js has its version, else plotly.py's full bundle.
    """
    import plotly.offline

    version = plotly.offline.get_plotlyjs_version()
    basic = ASSETS / f"plotly-basic-{version}.min.js"
    if basic.is_file():
        return basic.name, basic.read_text(encoding="utf-8")
    return f"plotly-{version}.min.js", plotly.offline.get_plotlyjs()


def _atomically(path: Path, write) -> Path:
    """Call write(temporary path), then rename it to `path` (module doc)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise OSError(
            f"cannot write {path} ({err.strerror or err}); nothing half-written "
            "is left there: free space or make the folder writable, or write "
            "elsewhere (report -o, publish --results-dir), then run the command "
            "again.") from err
    return path


def write_text(path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically (module doc)."""
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    return _atomically(Path(path), write)


def write_asset(path, text: str) -> Path:
    """`path` holding exactly `text`: kept when it does, rewritten otherwise."""
    path = Path(path)
    try:
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            return path
    except (OSError, UnicodeDecodeError):
        pass  # unreadable: rewrite it
    return write_text(path, text)


def write_file(path, write) -> Path:
    """Write `path` atomically with write(temporary path) (module doc)."""
    return _atomically(Path(path), write)
