"""The rollout's live view: districts counted, the sites being converged listed with their current task."""

from __future__ import annotations

from rich.console import Console

from provisioner.board import Board
from provisioner.rollout import Outcome, Wave
from provisioner.runner import Event


def render(board: Board) -> str:
    console = Console(width=160, record=True, color_system=None)
    console.print(board)
    return console.export_text()


def test_the_board_follows_a_batch_from_start_to_results() -> None:
    board = Board("run1", [Wave("Huyện Hiệp Hòa", ["a", "b", "c"]), Wave("Huyện Việt Yên", ["d"])])
    board.batch_started(["a", "b"])
    board.event(Event("task", None, "base : Install the base packages"))
    board.event(Event("start", "a", "base : Install the base packages"))
    board.event(Event("changed", "a", "base : Install the base packages"))
    board.event(Event("ok", "b", "base : Install the base packages"))
    text = render(board)
    assert "Install the base packages" in text
    assert board.counts("Huyện Hiệp Hòa") == {
        "sites": 3, "waiting": 1, "busy": 2, "ok": 0, "changed": 0, "failed": 0, "unreachable": 0,
    }  # fmt: skip
    assert board.sites["a"].changed == 1 and board.sites["b"].tasks == 1

    board.batch_done({"a": Outcome("changed", 4), "b": Outcome("unreachable", message="ssh: connect timed out")})
    counts = board.counts("Huyện Hiệp Hòa")
    assert (counts["changed"], counts["unreachable"], counts["busy"]) == (1, 1, 0)
    board.batch_started(["b"])
    assert board.sites["b"].state == "retrying" and board.sites["b"].attempt == 2
    assert "retrying (2)" in render(board)


def test_a_resumed_run_shows_what_was_done_before() -> None:
    board = Board("run1", [Wave("w", ["a", "b"])])
    board.done_before({"a": Outcome("changed", 3)})
    assert board.counts("w")["changed"] == 1 and board.counts("w")["waiting"] == 1


def test_a_long_batch_lists_only_some_sites() -> None:
    names = [f"s{i:02d}" for i in range(30)]
    board = Board("run1", [Wave("w", names)], shown=5)
    board.batch_started(names)
    assert "… and 25 more" in render(board)
