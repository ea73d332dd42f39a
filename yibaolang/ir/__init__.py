"""The typed IR: frozen attrs nodes with spans (nodes), their traversal, printing and JSON form."""

from yibaolang.ir.nodes import *  # noqa: F403
