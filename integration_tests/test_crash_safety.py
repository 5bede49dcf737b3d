"""Crash safety (issue 4): a 50,000-record write killed with SIGKILL at random moments never
leaves an echoed STATE ahead of an unaccepted record, and a resume from the last echoed STATE
completes the set."""

from __future__ import annotations

import os
import random
import time
from collections import Counter

from integration_tests import payloads
from integration_tests.cli import (
    USERS,
    LiveCli,
    build_scenario,
    configured_catalog,
    connector_config,
    run_cli,
    write_args,
    write_messages,
)

RECORDS = 50_000
STATE_EVERY = 1_000
KILLED_RUNS = 5


def accepted_ids(emulator) -> Counter:
    return Counter(item["user_id"] for item in emulator.accepted("thrivestack"))


def test_sigkill_at_random_moments_never_leaves_a_state_ahead_of_its_records(tmp_path, emulator):
    seed = int(os.environ.get("CRASH_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    scenario = build_scenario(RECORDS, STATE_EVERY, streams=(USERS,))
    input_path = scenario.write(tmp_path / "input.jsonl")
    config = connector_config("thrivestack", emulator.url, top={"flush_interval_seconds": 0.2})
    args = write_args(tmp_path, config, configured_catalog([USERS]))
    valid_ids_by_row = [(row.index, payloads.thrivestack(row)["user_id"]) for row in scenario.valid]
    valid_ids = [user_id for _, user_id in valid_ids_by_row]
    expected_states = scenario.expected_states

    # An uninterrupted run first: the whole set, every STATE.
    full = run_cli(args, input_path)
    assert full.returncode == 0
    assert full.states == expected_states
    assert accepted_ids(emulator) == Counter(valid_ids)

    outcomes = []
    for run in range(KILLED_RUNS):
        emulator.reset()
        cli = LiveCli(args, stdin_path=input_path)
        # Aim somewhere mid-run: after a random number of STATEs, plus a random moment more.
        for _ in range(rng.randrange(0, len(expected_states) - 2)):
            assert cli.next_message(time.monotonic() + 60, "STATE") is not None
        time.sleep(rng.uniform(0, 0.2))
        cli.kill()  # SIGKILL
        accepted = accepted_ids(emulator)
        killed = cli.finish()
        context = f"seed {seed}, run {run}"

        # Every echoed STATE is one of ours, in order, with its counts, and all its records are in.
        echoed = killed.states
        assert echoed == expected_states[: len(echoed)], context
        # (STATEs are in input order, so the last one's records include every earlier one's.)
        if echoed:
            rows_before = scenario.states[len(echoed) - 1][1]
            before = [user_id for index, user_id in valid_ids_by_row if index < rows_before]
            missing = [user_id for user_id in before if user_id not in accepted]
            assert missing == [], f"{context}: STATE {len(echoed)} was echoed before {len(missing)} of its records"

        # Resume from the last echoed STATE: the platform sends what came after it.
        resume_from = scenario.state_positions[len(echoed) - 1] + 1 if echoed else 0
        resumed = run_cli(args, write_messages(tmp_path / f"resume-{run}.jsonl", scenario.messages[resume_from:]))
        assert resumed.returncode == 0, context
        assert resumed.states == expected_states[len(echoed):], context
        assert set(accepted_ids(emulator)) == set(valid_ids), context
        outcomes.append(len(echoed))
    print(f"crash seed {seed}: STATEs echoed before each kill: {outcomes} of {len(expected_states)}")
    assert any(outcomes), f"seed {seed}: no kill came after a STATE, so no echoed STATE was checked"
