"""benchopt's own design checks of this benchmark (`benchopt test`)."""

import subprocess
import sys

import pytest

from .conftest import REPO


@pytest.mark.slow
def test_benchopt_test_passes():
    proc = subprocess.run(
        [sys.executable, "-m", "benchopt", "test", str(REPO), "--skip-install",
         "-p", "no:benchmark", "-q"],
        capture_output=True, text=True, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
