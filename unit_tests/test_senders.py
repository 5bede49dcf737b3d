"""The sender pool: outcomes handed back to the main thread, and waiting for them without spinning."""

import threading

from destination_identify.senders import SenderPool


def test_completed_with_no_timeout_waits_for_a_batch_still_in_flight():
    """timeout None means 'until one finishes': returning at once would make the writer spin."""
    release = threading.Event()
    pool = SenderPool(lambda batch: release.wait() and f"sent {batch}", 1)
    try:
        pool.submit("b1")
        threading.Timer(0.2, release.set).start()
        assert pool.completed(timeout=None) == [("b1", "sent b1")]
        assert pool.in_flight == 0
    finally:
        pool.close()


def test_completed_with_timeout_zero_does_not_wait_and_an_error_is_handed_back():
    release = threading.Event()

    def deliver(batch):
        release.wait()
        raise ValueError(batch)

    pool = SenderPool(deliver, 1)
    try:
        pool.submit("b1")
        assert pool.completed(timeout=0) == []
        assert pool.in_flight == 1
        release.set()
        ((batch, outcome),) = pool.completed(timeout=None)
        assert batch == "b1" and isinstance(outcome, ValueError)
    finally:
        pool.close()
