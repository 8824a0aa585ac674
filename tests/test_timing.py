"""invdn.timing.Stopwatch: running, frozen by a with block, CPU time alongside."""

import time

from invdn.timing import Stopwatch


def test_with_block_freezes_the_readings():
    with Stopwatch() as watch:
        time.sleep(0.02)
        sum(range(200_000))  # some CPU work
    frozen = watch.seconds
    assert frozen >= 0.02 and watch.cpu_seconds > 0
    time.sleep(0.01)
    assert watch.seconds == frozen


def test_a_stopwatch_made_outside_a_block_keeps_running():
    watch = Stopwatch()
    first = watch.seconds
    time.sleep(0.01)
    assert watch.seconds >= first + 0.01
