"""The merged view of an image's layers: which file is there, and which layer put it there.

Every path is known (kind, size, mode, the layer that last wrote it), but file
contents are kept only for the few paths the catalogers ask for, so memory
stays small whatever the image size. Catalogers say what they want with an
`Interest`:

- `RETAIN`: keep the current bytes (metadata files, small text);
- `TRACK`: keep the bytes each layer wrote (package databases), so a package
  can be attributed to the layer that installed it even though every later
  install rewrote the same database file;
- `STREAM`: hand the member's stream to a function right away and keep only
  what it returns (jars, binaries: read once, never held whole for long).

Layers are applied with overlay semantics: within a layer, `.wh.NAME` deletes
NAME (and everything under it) from the layers below and `.wh..wh..opq` hides
everything the layers below had in that directory; then the layer's own
entries are added, a non-directory replacing whatever was at its path.
"""

from __future__ import annotations

import enum
import posixpath
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from pipeline_guard.image.layers import EntryKind, LayerEntry, LayerReader

#: symlinks followed when reading a path (as the kernel's MAXSYMLINKS)
MAX_SYMLINKS = 40


class Want(enum.Enum):
    RETAIN = "retain"
    TRACK = "track"
    STREAM = "stream"


@dataclass(frozen=True)
class Interest:
    """Paths a cataloger wants, and how it wants them."""

    name: str
    match: Callable[[str], bool]
    want: Want = Want.RETAIN
    #: for STREAM: (path, stream, size) -> what to keep (None: nothing)
    reader: Callable[[str, BinaryIO, int], Any] | None = None
    executable_only: bool = False


@dataclass(frozen=True)
class LayerInfo:
    """A layer as findings name it."""

    index: int  # 0-based position in the image
    diff_id: str
    digest: str | None = None
    created_by: str | None = None

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass(slots=True)
class Node:
    kind: EntryKind
    layer: int
    size: int = 0
    mode: int = 0
    linkname: str = ""


@dataclass
class _Pending:
    entry: LayerEntry
    interest: Interest | None = None
    payload: Any = None


@dataclass
class MergedFS:
    """The image's files after applying every layer so far."""

    interests: Sequence[Interest]
    max_file_bytes: int
    layers: list[LayerInfo] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _contents: dict[str, bytes] = field(default_factory=dict)
    _extracts: dict[str, tuple[str, Any]] = field(default_factory=dict)
    _history: dict[str, list[tuple[int, bytes | None]]] = field(default_factory=dict)
    _children: dict[str, set[str]] = field(default_factory=dict)

    # --- building -----------------------------------------------------------------------

    def apply(self, info: LayerInfo, reader: LayerReader) -> None:
        """Read one layer (the next one up) and lay it over the current state."""
        pending: list[_Pending] = []
        deleted: list[str] = []
        opaque: list[str] = []
        for entry in reader:
            if entry.kind is EntryKind.WHITEOUT:
                deleted.append(entry.path)
            elif entry.kind is EntryKind.OPAQUE:
                opaque.append(entry.path)
            else:
                pending.append(self._read(entry, reader, info))
        reader.finish()
        self.layers.append(info)
        for path in opaque:
            for child in list(self._children.get(path, ())):
                self._remove(child, info.index)
        for path in deleted:
            self._remove(path, info.index)
        for item in pending:
            self._put(item, info.index)

    def _read(self, entry: LayerEntry, reader: LayerReader, info: LayerInfo) -> _Pending:
        item = _Pending(entry)
        if entry.kind is EntryKind.HARDLINK:
            item.interest = self._interest(entry.path, entry.mode, check_mode=False)
            return item
        if entry.kind is not EntryKind.FILE:
            return item
        interest = self._interest(entry.path, entry.mode)
        if interest is None:
            return item
        if entry.size > self.max_file_bytes:
            self.notes.append(
                f"layer {info.number}: /{entry.path} not read ({entry.size} bytes, more than "
                f"image.max_file_bytes {self.max_file_bytes})"
            )
            return item
        item.interest = interest
        with reader.open_current() as stream:
            if interest.want is Want.STREAM:
                assert interest.reader is not None
                item.payload = interest.reader(entry.path, stream, entry.size)
            else:
                item.payload = stream.read()
        return item

    def _interest(self, path: str, mode: int, check_mode: bool = True) -> Interest | None:
        for interest in self.interests:
            if interest.executable_only and check_mode and not mode & 0o111:
                continue
            if interest.match(path):
                return interest
        return None

    def _put(self, item: _Pending, layer: int) -> None:
        entry = item.entry
        old = self.nodes.get(entry.path)
        if old is not None and not (old.kind is EntryKind.DIR and entry.kind is EntryKind.DIR):
            self._remove(entry.path, layer)
        node = Node(entry.kind, layer, entry.size, entry.mode, entry.linkname)
        payload = item.payload
        if entry.kind is EntryKind.HARDLINK:
            node, payload = self._hardlink(entry, layer)
        self.nodes[entry.path] = node
        self._link_parents(entry.path)
        interest = item.interest
        if interest is None or payload is None:
            if interest is not None and interest.want is not Want.STREAM:
                self.notes.append(f"layer {layer + 1}: /{entry.path} could not be read")
            return
        if interest.want is Want.STREAM:
            self._extracts[entry.path] = (interest.name, payload)
            return
        self._contents[entry.path] = payload
        if interest.want is Want.TRACK:
            self._history.setdefault(entry.path, []).append((layer, payload))

    def _link_parents(self, path: str) -> None:
        # Layers need not list a file's directories; removal walks this index, so every
        # ancestor must know its child even when it was never an entry itself.
        while path:
            parent = posixpath.dirname(path)
            siblings = self._children.setdefault(parent, set())
            if path in siblings:
                return
            siblings.add(path)
            path = parent

    def _hardlink(self, entry: LayerEntry, layer: int) -> tuple[Node, Any]:
        target = self.nodes.get(entry.linkname)
        if target is None:
            return Node(EntryKind.FILE, layer, 0, entry.mode), None
        node = Node(target.kind, layer, target.size, target.mode, target.linkname)
        if entry.linkname in self._contents:
            return node, self._contents[entry.linkname]
        extract = self._extracts.get(entry.linkname)
        return node, extract[1] if extract else None

    def _remove(self, path: str, layer: int) -> None:
        for child in list(self._children.pop(path, ())):
            self._remove(child, layer)
        if self.nodes.pop(path, None) is None:
            return
        self._children.get(posixpath.dirname(path), set()).discard(path)
        self._extracts.pop(path, None)
        if self._contents.pop(path, None) is not None and path in self._history:
            self._history[path].append((layer, None))

    # --- reading ------------------------------------------------------------------------

    def layer_of(self, path: str) -> LayerInfo | None:
        """The layer that last wrote `path`."""
        node = self.nodes.get(path)
        return self.layers[node.layer] if node is not None else None

    def layer(self, index: int) -> LayerInfo:
        return self.layers[index]

    def exists(self, path: str) -> bool:
        return self.resolve(path) in self.nodes

    def read(self, path: str) -> bytes | None:
        """The retained content at `path`, following symlinks inside the image."""
        return self._contents.get(self.resolve(path))

    def resolve(self, path: str) -> str:
        """`path` with symlinks (in any component) resolved inside the image root."""
        parts = [p for p in path.strip("/").split("/") if p and p != "."]
        done: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                if done:
                    done.pop()
                continue
            current = "/".join([*done, part])
            node = self.nodes.get(current)
            if node is not None and node.kind is EntryKind.SYMLINK:
                hops += 1
                if hops > MAX_SYMLINKS:
                    return current
                target = [p for p in node.linkname.split("/") if p and p != "."]
                parts = target + parts
                if node.linkname.startswith("/"):
                    done = []
                continue
            done.append(part)
        return "/".join(done)

    def files(self, match: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
        """Retained files whose path matches, in path order."""
        for path in sorted(self._contents):
            if match(path):
                yield path, self._contents[path]

    def extracts(self, interest: str) -> Iterator[tuple[str, Any]]:
        """What a STREAM interest kept, per path still present, in path order."""
        for path in sorted(self._extracts):
            name, value = self._extracts[path]
            if name == interest:
                yield path, value

    def versions(self, path: str) -> list[tuple[LayerInfo, bytes | None]]:
        """Each layer's write of a TRACK path (None: deleted by that layer), oldest first."""
        last: dict[int, bytes | None] = {}
        for index, data in self._history.get(path, []):
            last[index] = data  # a layer that replaced the file wrote it last
        return [(self.layers[i], data) for i, data in sorted(last.items())]
