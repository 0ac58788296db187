"""HardDeadline: a stop that never finishes still ends the process, with one line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from streams.worker.shutdown import EXIT_DEADLINE


def test_hard_deadline_ends_a_stuck_process_with_one_line() -> None:
    code = textwrap.dedent("""
        import time
        from streams.worker.shutdown import HardDeadline
        d = HardDeadline(0.5)
        d.arm("SIGTERM")
        d.arm("again")  # a second reason neither re-arms nor extends
        time.sleep(30)  # a stop that never finishes
    """)
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                          timeout=20)
    elapsed = time.monotonic() - t0
    assert done.returncode == EXIT_DEADLINE, done.stderr
    assert elapsed < 5, elapsed
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "after SIGTERM did not finish within 0.5s" in lines[0], lines
