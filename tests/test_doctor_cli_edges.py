"""What the doctor's commands share, direct: an id refused in words, Ctrl-C's one word, the
retry warning, the sent line as typed, and the alerts' table at each width, column by column."""

from __future__ import annotations

import asyncio
import io
from collections import deque

import pytest
import typer
from rich.console import Console
from rich.table import Table

from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.mqtt import MqttSettings
from stetho_doctor import cli, client
from stetho_doctor.options import BrokerChoice

ID = "b3309bbc-70fc-44b0-af2e-19f00f80177d"


def _row(level: str, resident: str) -> dict[str, str]:
    return {"time": "2026-12-07 10:11:12", "care home": "home-a", "resident": resident,
            "auscultation site": "mitral", "level": level, "reasons": "Irregular.",
            "alert id": ID}  # fmt: skip


# Two alerts, the urgent one newest: each table shows it first.
ROWS = deque([(_row("review", "res-1"), "yellow"), (_row("urgent", "res-2"), "bold red")])


def _columns(table: Table) -> list[tuple[object, ...]]:
    return [(c.header, c.no_wrap, c.overflow, c.min_width, c.max_width) for c in table.columns]


def _cells(table: Table) -> list[list[str]]:
    return [[str(cell) for cell in column._cells] for column in table.columns]


def test_from_130_columns_the_seven_columns_the_id_never_folded() -> None:
    for width in (130, 200):
        table = cli._alert_table("alerts (home-a)", ROWS, width)
        assert table.title == "alerts (home-a)"
        assert _columns(table) == [
            ("time", False, "fold", None, None),
            ("care home", False, "fold", None, None),
            ("resident", False, "fold", None, None),
            ("auscultation site", False, "fold", None, None),
            ("level", False, "fold", None, None),
            ("reasons", False, "fold", None, None),
            ("alert id", True, "fold", 36, None),
        ]
        assert [row.style for row in table.rows] == ["bold red", "yellow"]
        assert _cells(table)[2] == ["res-2", "res-1"]
        assert _cells(table)[6] == [ID, ID]


@pytest.mark.parametrize(("width", "where_max"), [(76, 10), (100, 34), (129, 63)])
def test_from_76_columns_four_the_id_above_the_reasons(width: int, where_max: int) -> None:
    table = cli._alert_table("alerts", ROWS, width)
    assert table.title == "alerts"
    assert _columns(table) == [
        ("time", True, "ellipsis", None, None),
        ("where", False, "fold", None, where_max),
        ("level", True, "ellipsis", None, None),
        ("alert id, reasons", False, "fold", 36, None),
    ]
    assert [row.style for row in table.rows] == ["bold red", "yellow"]
    assert _cells(table) == [
        ["12-07 10:11", "12-07 10:11"],
        ["home-a res-2 mitral", "home-a res-1 mitral"],
        ["urgent", "review"],
        [f"{ID}\nIrregular.", f"{ID}\nIrregular."],
    ]


@pytest.mark.parametrize("width", [40, 75])
def test_below_76_columns_two_the_time_above_the_level(width: int) -> None:
    table = cli._alert_table("alerts", ROWS, width)
    assert table.title == "alerts"
    assert _columns(table) == [
        ("time, level", True, "ellipsis", None, None),
        ("alert id, where, reasons", False, "fold", 36, None),
    ]
    assert [row.style for row in table.rows] == ["bold red", "yellow"]
    assert _cells(table) == [
        ["12-07 10:11\nurgent", "12-07 10:11\nreview"],
        [f"{ID}\nhome-a res-2 mitral\nIrregular.", f"{ID}\nhome-a res-1 mitral\nIrregular."],
    ]


def test_an_id_that_is_no_uuid_is_refused_naming_what_it_should_be(
    capsys: pytest.CaptureFixture[str],
) -> None:
    check = cli.uuid_id("alert")
    assert check(ID) == ID
    with pytest.raises(typer.BadParameter, match=r"^'x' is not an alert id \(a UUID\)$"):
        check("x")
    with pytest.raises(typer.Exit) as exited:
        cli._parse_id("x", "exam")
    assert exited.value.exit_code == 2
    assert capsys.readouterr().err == "error: 'x' is not an exam id (a UUID)\n"
    assert str(cli._parse_id(ID, "exam")) == ID


def test_an_id_no_topic_can_hold_is_refused_in_words() -> None:
    assert cli.topic_id(None) is None and cli.topic_id("home-a") == "home-a"
    with pytest.raises(typer.BadParameter) as refused:
        cli.topic_id("Home A")
    assert str(refused.value) == (
        "'Home A' is not an id: 1-63 lower-case letters, digits and dashes"
    )


def test_ctrl_c_ends_with_one_word_and_status_130(capsys: pytest.CaptureFixture[str]) -> None:
    async def cancelled() -> None:
        raise asyncio.CancelledError

    with pytest.raises(typer.Exit) as exited:
        cli._run_or_exit(cancelled())
    assert exited.value.exit_code == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_another_exit_passes_without_a_word(capsys: pytest.CaptureFixture[str]) -> None:
    async def refused() -> None:
        raise typer.Exit(1)

    async def done() -> int:
        return 5

    with pytest.raises(typer.Exit) as exited:
        cli._run_or_exit(refused())
    assert exited.value.exit_code == 1
    assert cli._run_or_exit(done()) == 5
    assert capsys.readouterr().err == ""


def test_a_broker_retry_is_one_warning_in_whole_seconds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli._say_retry("broker.example:1884: connection refused", 2.6)
    assert capsys.readouterr().err == (
        "warning: broker.example:1884: connection refused; trying again in 3 s (Ctrl-C to stop)\n"
    )


def test_the_sent_line_colours_only_its_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rich's highlighter would colour the id, the topic and each number in the sentence.
    async def publish_once(settings: MqttSettings, message: OutboundMessage) -> None:
        del settings, message

    monkeypatch.setattr(client, "publish_once", publish_once)
    screen = Console(file=io.StringIO(), force_terminal=True, color_system="standard", width=300)
    monkeypatch.setattr(cli, "err", screen)
    message = OutboundMessage("stetho/v1/home-a/exams/answers", b"{}")
    cli._send(BrokerChoice(broker="mqtt://127.0.0.1:1"), message, f"[green]sent[/] {ID} on 42")
    assert screen.file.getvalue() == f"\x1b[32msent\x1b[0m {ID} on 42\n"  # type: ignore[attr-defined]
