"""What the report writes is whole or absent: atomic writes, assets checked
before reuse, a full disk said with what to do."""

import builtins
import errno
import io
import os

import pytest

from benchmark_mri.cli import main
from benchmark_mri.report.html import plotly_script


def full_disk(monkeypatch, folder):
    """Files opened for writing under `folder` take half of what is written,
    then fail with ENOSPC, as on a disk that fills up."""
    real_open = builtins.open

    class Filling:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    def fake_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if isinstance(file, (str, os.PathLike)) and any(c in mode for c in "wax") \
                and os.path.abspath(os.fspath(file)).startswith(str(folder)):
            return Filling(handle)
        return handle

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)


def test_a_full_disk_leaves_nothing_half_written(callback_file, tmp_path,
                                                 monkeypatch, capsys):
    """`report -o <full disk>` wrote a truncated plotly.js that later runs
    reused (written only if absent): a broken page with exit code 0. Now:
    an error naming the file and what to do, nothing partial left, and the
    run after freeing space writes whole files."""
    out = tmp_path / "dash"
    with monkeypatch.context() as patch:
        full_disk(patch, out)
        assert main(["report", str(callback_file), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "No space left on device" in err
    assert "free space" in err
    assert [p.name for p in out.iterdir()] == []  # no partial file, no temporary
    assert main(["report", str(callback_file), "-o", str(out)]) == 0
    name, source = plotly_script()
    assert (out / name).read_text(encoding="utf-8") == source
    assert (out / "index.html").read_text().endswith("</html>\n")


def test_a_truncated_asset_is_rewritten(callback_file, tmp_path):
    """An asset left half-written (by an older version, or by hand) is
    checked against what it should hold before it is reused."""
    out = tmp_path / "dash"
    out.mkdir()
    name, source = plotly_script()
    (out / name).write_text(source[: len(source) // 3], encoding="utf-8")
    assert main(["report", str(callback_file), "-o", str(out)]) == 0
    assert (out / name).read_text(encoding="utf-8") == source


def test_publish_checks_the_shared_asset(callback_file, tmp_path):
    results = tmp_path / "results"
    (results / "assets").mkdir(parents=True)
    name, source = plotly_script()
    (results / "assets" / name).write_text("truncated", encoding="utf-8")
    assert main(["publish", str(callback_file), "--name", "run",
                 "--results-dir", str(results)]) == 0
    assert (results / "assets" / name).read_text(encoding="utf-8") == source


@pytest.mark.parametrize("argv, message", [
    (["--gallery-slices", "-1"], "--gallery-slices: -1 is not a number of slices"),
    (["--gallery-slices", "0"], "--gallery-slices: 0 is not a number of slices"),
])
def test_bad_report_options_are_named(callback_file, tmp_path, capsys, argv,
                                      message):
    """--gallery-slices -1 gave an empty gallery, silently."""
    with pytest.raises(SystemExit) as exit_:
        main(["report", str(callback_file), "-o", str(tmp_path), *argv])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_a_folder_given_as_result_file_says_what_to_give(callback_file, tmp_path,
                                                         capsys):
    """`report <folder>` said the folder "does not exist"."""
    (tmp_path / "run.parquet").write_bytes(open(callback_file, "rb").read())
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path} is a folder" in err and "run.parquet" in err


def test_the_inline_option_says_its_real_size(capsys):
    """`report --help` said --inline adds 5 MB; it adds the bundle's size."""
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    size = len(plotly_script()[1].encode()) / 1e6
    assert f"(+{size:.1f} MB)" in help_text and "+5 MB" not in help_text
