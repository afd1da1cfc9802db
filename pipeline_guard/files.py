"""Which files a scan looks at.

In a git work tree we ask git (tracked plus untracked-but-not-ignored files), so
`.gitignore` is honoured the way developers expect; elsewhere we walk the tree.
Symlinks are never followed: a link can point outside the scanned tree or into
a loop.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import git


@dataclass(frozen=True)
class FileSet:
    files: tuple[str, ...]  # POSIX paths relative to the root, sorted
    skipped_links: int = 0


@lru_cache(maxsize=512)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a gitignore-flavoured glob.

    `**` crosses directories, `*` and `?` do not; a trailing `/` means "this
    directory and everything below"; a pattern without a `/` matches a name at
    any depth.
    """
    directory = pattern.endswith("/")
    pat = pattern.strip("/")
    anchored = "/" in pat
    out = []
    i = 0
    while i < len(pat):
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif pat[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pat[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pat[i]))
            i += 1
    body = "".join(out)
    prefix = "" if anchored else "(?:.*/)?"
    suffix = "/.*" if directory else "(?:/.*)?"
    return re.compile(f"^{prefix}{body}{suffix}$")


def matches_any(path: str, patterns: Iterable[str]) -> bool:
    """Does the relative POSIX `path` match one of the globs?"""
    return any(glob_regex(p).match(path) for p in patterns)


def discover(root: Path, excludes: Sequence[str]) -> FileSet:
    """Every regular file under `root` that is not excluded."""
    listed = _git_files(root)
    candidates = listed if listed is not None else _walk(root)
    files = []
    links = 0
    for rel in candidates:
        if matches_any(rel, excludes):
            continue
        full = root / rel
        if full.is_symlink():
            links += 1
            continue
        if full.is_file():
            files.append(rel)
    return FileSet(tuple(sorted(files)), links)


def _git_files(root: Path) -> list[str] | None:
    try:
        repo = git.Repo(root, search_parent_directories=True)
        if repo.bare or repo.working_tree_dir is None:
            return None
        top = Path(repo.working_tree_dir).resolve()
        out = repo.git.ls_files(
            "--cached", "--others", "--exclude-standard", "-z", "--", str(root.resolve())
        )
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, git.GitCommandError):
        return None
    prefix = root.resolve().relative_to(top).as_posix()
    rels = []
    for item in dict.fromkeys(p for p in out.split("\0") if p):
        rel = item[len(prefix) + 1 :] if prefix not in ("", ".") else item
        rels.append(rel)
    return rels


def _walk(root: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        base = Path(dirpath).relative_to(root)
        for name in filenames:
            out.append((base / name).as_posix())
    return out
