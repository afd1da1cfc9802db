"""Reachability over a lockfile's dependency graph, to tell dev-only packages apart."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

N = TypeVar("N")


def reachable(starts: Iterable[N], edges: Mapping[N, Iterable[N]]) -> set[N]:
    """Every node reachable from `starts` (included), cycle-safe."""
    seen: set[N] = set()
    stack = list(starts)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(edges.get(node, ()))
    return seen
