"""What a command says when a task of its TaskGroup fails."""

from __future__ import annotations

__all__ = ["first_error"]


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first error `group` holds, looked for inside the groups of nested TaskGroups: a
    service whose own TaskGroup failed reaches the command as a group within a group, whose
    text ("unhandled errors in a TaskGroup") says nothing to an operator."""
    first = group.exceptions[0]
    return first_error(first) if isinstance(first, BaseExceptionGroup) else first
