"""The error a command names when a task of its TaskGroup fails, nested groups or not."""

from __future__ import annotations

import asyncio

import pytest

from stetho_common.task_groups import first_error


async def _fails(error: Exception) -> None:
    raise error


async def _service(error: Exception) -> None:
    async with asyncio.TaskGroup() as group:  # a service's own tasks
        group.create_task(_fails(error))


async def _command(error: Exception, nested: bool) -> None:
    async with asyncio.TaskGroup() as group:  # the command's tasks
        group.create_task(_service(error) if nested else _fails(error))


@pytest.mark.parametrize("nested", [False, True])
def test_the_first_error_is_the_task_s_own_however_deep(nested: bool) -> None:
    refusal = ValueError("the database records migration 3 with another checksum")
    with pytest.raises(ExceptionGroup) as raised:
        asyncio.run(_command(refusal, nested))
    assert first_error(raised.value) is refusal
    assert isinstance(raised.value.exceptions[0], ExceptionGroup) is nested  # the case is real
