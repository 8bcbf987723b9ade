"""Progress lines: plain lines in a log, a live line on a terminal."""

import io

from benchmark_mri.progress import Progress, duration


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_gets_a_line_per_interval_with_rate_and_time_left():
    log = io.StringIO()
    progress = Progress("maps", 4, "slices", stream=log, interval=0)
    progress.update(1, loss=0.5)
    progress.update(3)
    lines = log.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("maps: 1 of 4 slices, loss 0.5, ")
    assert "slices/s" in lines[0] and lines[0].endswith("left")
    assert lines[1].startswith("maps: 4 of 4 slices") and "left" not in lines[1]


def test_a_log_is_quiet_within_the_interval():
    log = io.StringIO()
    with Progress("reconstructing", 10, stream=log, interval=3600) as progress:
        progress.update(10)
    assert log.getvalue() == ""


def test_a_terminal_gets_a_live_line_that_goes_away():
    screen = Terminal()
    with Progress("xpdnet: epoch 1/2", 8, stream=screen) as progress:
        progress.update(4, loss=0.25)
        progress.mark("xpdnet: epoch 1/2 done")
    text = screen.getvalue()
    assert "xpdnet: epoch 1/2" in text and "loss=0.25" in text
    assert "xpdnet: epoch 1/2 done\n" in text


def test_durations_read_as_a_person_writes_them():
    assert duration(4.4) == "4 s"
    assert duration(125) == "2 min 05 s"
    assert duration(3 * 3600 + 7 * 60) == "3 h 07 min"
