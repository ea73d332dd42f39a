"""What calling a user function means for a compiled body: its parameters read the frame's `args` (docs/evaluation.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar


class ArgFrame(Protocol):
    """A frame a compiled function body reads its parameters from."""

    args: Any


FrameT = TypeVar("FrameT", bound=ArgFrame)
R = TypeVar("R")


def with_args(body: Callable[[FrameT], R], args: Sequence[Callable[[FrameT], Any]]) -> Callable[[FrameT], R]:
    """`body` with its parameters bound to the values of `args` on the same frame.

    The arguments are evaluated in the caller's binding, and the caller's binding is put back afterwards
    even on an error, so nested and recursive calls each see their own parameters."""

    def run(frame: FrameT) -> R:
        values = tuple(a(frame) for a in args)
        saved = frame.args
        frame.args = values
        try:
            return body(frame)
        finally:
            frame.args = saved

    return run
