"""A process lowers its CPU priority, and its session's autogroup only when it leads the session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, os, sys
from pathlib import Path
from leadflow_shared.priority import lower_cpu_priority
if int(sys.argv[3]):
    os.setpriority(os.PRIO_PROCESS, 0, int(sys.argv[3]))
changed = lower_cpu_priority(int(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps({"changed": changed, "nice": os.getpriority(os.PRIO_PROCESS, 0)}))
"""


def run_child(
    tmp_path: Path, nice: int, *, session_leader: bool, start_nice: int = 0
) -> tuple[dict[str, object], str]:
    autogroup = tmp_path / "autogroup"
    autogroup.write_text("/autogroup-4242 nice 0\n")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(nice), str(autogroup), str(start_nice)],
        capture_output=True,
        text=True,
        check=True,
        start_new_session=session_leader,
    ).stdout
    return json.loads(out), autogroup.read_text()


def test_a_session_leader_lowers_its_own_priority_and_its_sessions(tmp_path: Path) -> None:
    result, autogroup = run_child(tmp_path, 7, session_leader=True)
    assert result == {"changed": ["process", "session"], "nice": 7}
    assert autogroup == "7"


def test_a_process_that_does_not_lead_its_session_leaves_the_session_alone(tmp_path: Path) -> None:
    result, autogroup = run_child(tmp_path, 7, session_leader=False)
    assert result == {"changed": ["process"], "nice": 7}
    assert autogroup == "/autogroup-4242 nice 0\n"


def test_a_niceness_of_zero_changes_nothing(tmp_path: Path) -> None:
    result, autogroup = run_child(tmp_path, 0, session_leader=True)
    assert result["changed"] == []
    assert autogroup == "/autogroup-4242 nice 0\n"


def test_a_priority_already_lower_is_never_raised(tmp_path: Path) -> None:
    result, _ = run_child(tmp_path, 5, session_leader=False, start_nice=12)
    assert result == {"changed": [], "nice": 12}
