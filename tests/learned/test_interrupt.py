"""Ctrl-C stops a training, wherever it lands.

Python ignores (prints "Exception ignored in: ...") an exception raised
in code that runs when an object dies; a KeyboardInterrupt delivered there
is lost and the training goes on. The memory meter once ran such code for
every tensor saved for backward (a weakref.finalize callback).
"""

import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from benchmark_mri.learned import make_batch, saved_tensors_mb

from .conftest import TinyUnrolled


def test_freeing_a_measured_graph_runs_no_python_code(split):
    """Whatever saved_tensors_mb measured, freeing the graph (after the
    backward pass, or when the loss is dropped) calls no Python function:
    nothing where a Ctrl-C could be swallowed."""
    m = split[0][0]
    batch = make_batch(m.y, m.mask, m.smaps, m.target)
    model, kept = TinyUnrolled(3), {}

    def step():
        kept["loss"] = model(batch.y, batch.physics).abs().sum()

    assert saved_tensors_mb(step) > 0
    calls = []

    def profile(frame, event, arg):
        if event == "call":
            calls.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")

    sys.setprofile(profile)
    try:
        del kept["loss"]  # the graph and its saved tensors die here
    finally:
        sys.setprofile(None)
    assert [c for c in calls if "memory" in c or "weakref" in c] == []


TRAINING = """
import signal, sys, torch
# A shell without job control starts background commands with SIGINT
# ignored, and the children inherit it: what is tested here is the
# training's handling of a KeyboardInterrupt, so the script takes Python's.
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, {tests!r})
from learned.conftest import TinyUnrolled, tiny_split
from benchmark_mri.learned import TrainSettings
from benchmark_mri.learned.training import Trainer

torch.manual_seed(0)
train, _ = tiny_split(n_train=2)
trainer = Trainer(TinyUnrolled(4), train,
                  TrainSettings(n_epochs=1, lr=1e-3, batch_size=2), "cpu")
trainer.epoch()  # warm
while True:
    try:
        print("training", flush=True)
        for _ in range(100000):
            trainer.epoch()
        print("finished", flush=True)  # the interrupt was lost
    except KeyboardInterrupt:
        print("stopped", flush=True)
"""


@pytest.mark.slow
def test_ctrl_c_always_stops_a_training(tmp_path):
    """SIGINT at 40 points of a training (in the measured steps, the
    optimizer, the data loading; seeded): each stops it within seconds,
    and nothing says an interrupt was ignored."""
    script = tmp_path / "train.py"
    script.write_text(TRAINING.format(tests=str(Path(__file__).resolve().parents[1])))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(t.strip()) for t in proc.stdout],
                     daemon=True).start()

    def next_line(timeout=120):
        # Generous under load, bounded: an epoch here takes milliseconds; a
        # lost interrupt trains for hours.
        try:
            return lines.get(timeout=timeout)
        except queue.Empty:
            return f"nothing within {timeout} s: the interrupt was lost"

    try:
        assert next_line(timeout=600) == "training"  # imports done
        for delay in random.Random(0).choices(range(300), k=40):
            time.sleep(delay / 1000)
            proc.send_signal(signal.SIGINT)
            assert next_line() == "stopped", delay
            assert next_line() == "training"
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=60)
    assert "Exception ignored" not in err, err
