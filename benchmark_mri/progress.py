"""Progress of long work (training, reconstructing a split, computing maps).

On a terminal, a live tqdm line (the field's habit) that goes away when the
work is done. Otherwise (a log file, a SLURM job's output, CI), plain lines:
one at each `mark()` (e.g. each training epoch) and, in between, one at
most every `interval` seconds, so that an hour-long epoch is not silent.
Lines go to standard error by default.
"""

import sys
import time

INTERVAL_S = 60.0


def duration(seconds: float) -> str:
    """'0.25 s', '4 s', '2 min 05 s', '3 h 07 min'."""
    if seconds < 1:
        return f"{seconds:.2g} s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """Progress of `total` units of work called `unit` (e.g. slices).

    what: what is being done (the line's start); stream: where lines go
    (sys.stderr by default); interval: seconds between two plain lines;
    terminal: force the live line (True) or plain lines (False), default
    stream.isatty(). `update(n, **figures)` counts n units done and shows
    the figures (e.g. loss=0.01); `mark(text)` writes a plain line now (on a
    terminal too, above the live line); `close()` ends the live line.
    """

    def __init__(self, what: str, total: int, unit: str = "slices", stream=None,
                 interval: float = INTERVAL_S, terminal: bool | None = None):
        self.what, self.total, self.unit = what, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.interval, self.done, self.figures = interval, 0, {}
        self.start = self.last_line = time.perf_counter()
        if terminal is None:
            terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.bar = None
        if terminal:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=what, unit=unit.rstrip("s") or unit,
                            file=self.stream, leave=False, dynamic_ncols=True)

    def update(self, n: int = 1, **figures):
        self.done += n
        self.figures.update(figures)
        if self.bar is not None:
            self.bar.update(n)
            if figures:
                self.bar.set_postfix({k: _fmt(v) for k, v in figures.items()},
                                     refresh=False)
        elif time.perf_counter() - self.last_line >= self.interval:
            self.mark(self.status())

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    @property
    def rate(self) -> float:
        """Units per second so far."""
        return self.done / max(self.elapsed, 1e-9)

    def status(self) -> str:
        """'what: done of total units, figures, rate, time left'."""
        figures = "".join(f", {k} {_fmt(v)}" for k, v in self.figures.items())
        left = (self.total - self.done) / self.rate if self.done else float("nan")
        eta = f", about {duration(left)} left" if self.done < self.total and \
            self.done else ""
        return (f"{self.what}: {self.done} of {self.total} {self.unit}{figures}, "
                f"{self.rate:.3g} {self.unit}/s, {duration(self.elapsed)}{eta}")

    def mark(self, text: str):
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)
        self.last_line = time.perf_counter()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
