"""Git plumbing for the stages, through gitpython: the merge base of a pull request
(deepening a shallow clone when needed), the files a change touches, and base or
staged content written into a temporary directory.

The user's work tree, index and refs are never changed: content is read from the
object database (`git cat-file`, through gitpython) and written under a directory
the caller owns. The only writes to the repository are `git fetch`es that deepen a
shallow clone, which add history and update remote-tracking refs only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import git

#: GitHub Actions sets this to the pull request's base branch name
BASE_REF_ENV = "GITHUB_BASE_REF"
DEFAULT_REMOTE = "origin"
#: first `git fetch --deepen`; each next one doubles, up to MAX_DEEPEN commits in all
FIRST_DEEPEN = 50
MAX_DEEPEN = 1600
FETCH_TIMEOUT = 300
WORKFLOW_FIX = (
    "check out the full history: in the workflow's `actions/checkout` step set "
    "`with: fetch-depth: 0`"
)
#: regular files; symbolic links (120000) and submodules (160000) are never materialized
REGULAR_MODES = frozenset({0o100644, 0o100755})
_FULL_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


@dataclass(frozen=True)
class MergeBase:
    """Where a pull request branched off, or why that could not be found."""

    ref: str
    sha: str | None  # the merge base of HEAD and `ref`; None when not found
    base_tip: str | None  # the commit `ref` names, when it resolves
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    """One file a change touches."""

    path: str  # in the work tree, relative to the scan root
    base_path: str | None  # in the base commit, relative to the repository top; None: added
    status: str  # A (added), M (modified), D (deleted), R (renamed), T (type changed)


def open_repo(path: Path) -> git.Repo | None:
    """The work tree's repository holding `path`, or None outside git (or a bare repo)."""
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    if repo.bare or repo.working_tree_dir is None:
        return None
    return repo


def top_level(repo: git.Repo) -> Path:
    """The repository's work tree root (resolved)."""
    return Path(str(repo.working_tree_dir)).resolve()


def default_base_ref(env: Mapping[str, str] | None = None) -> str:
    """`origin/$GITHUB_BASE_REF` in a GitHub pull request job, else `origin/HEAD`."""
    branch = (env if env is not None else os.environ).get(BASE_REF_ENV, "").strip()
    return f"{DEFAULT_REMOTE}/{branch}" if branch else f"{DEFAULT_REMOTE}/HEAD"


def resolve(repo: git.Repo, ref: str) -> str | None:
    """The commit sha `ref` names, or None."""
    if not ref or ref.startswith("-"):
        return None  # never let a ref be read as an option
    try:
        out = repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
    except git.GitCommandError:
        return None
    return str(out).strip() or None


def is_shallow(repo: git.Repo) -> bool:
    return str(repo.git.rev_parse("--is-shallow-repository")).strip() == "true"


def find_merge_base(
    repo: git.Repo, ref: str, *, first: int = FIRST_DEEPEN, cap: int = MAX_DEEPEN
) -> MergeBase:
    """The merge base of HEAD and `ref`, deepening a shallow clone as needed.

    A shallow clone (GitHub's default `fetch-depth: 1`) is deepened with
    `git fetch --deepen=N` (N doubling from `first`) until the histories meet or
    `cap` commits were fetched, then with `--unshallow`. When the merge base stays
    out of reach, `sha` is None and the notes say why and what to change.
    """
    notes: list[str] = []
    tip = resolve(repo, ref) or _fetch_ref(repo, ref, notes)
    head = resolve(repo, "HEAD")
    if tip is None:
        detail = f": {notes[-1]}" if notes else ""
        return MergeBase(ref, None, None, (f"cannot resolve the base {ref!r}{detail}",))
    if head is None:
        return MergeBase(ref, None, tip, ("HEAD has no commit yet",))
    found = _merge_base(repo, head, tip)
    if found is None and is_shallow(repo):
        found = _deepen_until_found(repo, ref, head, tip, first, cap, notes)
    elif found is None:
        notes.append(f"HEAD and {ref} share no history")
    return MergeBase(ref, found, tip, tuple(notes))


def _deepen_until_found(
    repo: git.Repo, ref: str, head: str, tip: str, first: int, cap: int, notes: list[str]
) -> str | None:
    remote = _remote_for(repo, ref)
    if remote is None:
        notes.append("the clone is shallow and has no remote to fetch more history from")
        return None
    fetched, depth = 0, first
    while fetched < cap and is_shallow(repo):
        error = _fetch_history(repo, remote, [f"--deepen={depth}"], head, tip)
        if error:
            notes.append(f"the clone is shallow and `git fetch --deepen` failed: {error}")
            return None
        fetched += depth
        found = _merge_base(repo, head, tip)
        if found:
            notes.append(
                f"the clone is shallow: fetched up to {fetched} more commits of history "
                f"and found the merge base {found[:12]} of HEAD and {ref}"
            )
            return found
        depth *= 2
    if is_shallow(repo):
        error = _fetch_history(repo, remote, ["--unshallow"], head, tip)
        if error:
            notes.append(f"the clone is shallow and `git fetch --unshallow` failed: {error}")
            return None
    found = _merge_base(repo, head, tip)
    if found:
        notes.append(f"fetched the full history and found the merge base {found[:12]}")
    else:
        notes.append(f"HEAD and {ref} share no history, even with the full history fetched")
    return found


def _merge_base(repo: git.Repo, a: str, b: str) -> str | None:
    try:
        return str(repo.git.merge_base(a, b)).strip() or None
    except git.GitCommandError:
        return None


def _remote_for(repo: git.Repo, ref: str) -> str | None:
    names = [r.name for r in repo.remotes]
    for name in names:
        if ref.startswith(f"{name}/"):
            return name
    if DEFAULT_REMOTE in names:
        return DEFAULT_REMOTE
    return names[0] if names else None


def _fetch_ref(repo: git.Repo, ref: str, notes: list[str]) -> str | None:
    """Fetch a base that is not here yet (a shallow single-branch clone): a remote
    branch `<remote>/<branch>` or a full commit sha."""
    remote = _remote_for(repo, ref)
    if remote is None:
        return None
    if ref.startswith(f"{remote}/") and ref != f"{remote}/HEAD":
        branch = ref[len(remote) + 1 :]
        refspec = f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"
    elif _FULL_SHA.match(ref):
        refspec = ref
    else:
        return None
    depth = ["--depth=1"] if is_shallow(repo) else []
    error = _fetch(repo, remote, [*depth, refspec])
    if error:
        notes.append(f"`git fetch {remote} {refspec}` failed: {error}")
        return None
    return resolve(repo, ref)


def _fetch_history(
    repo: git.Repo, remote: str, options: list[str], head: str, tip: str
) -> str | None:
    """Fetch more history of both sides. Asking for the two commits by sha deepens
    exactly these histories; a server that refuses sha wants gets the remote's
    default refspecs instead."""
    error = _fetch(repo, remote, [*options, head, tip])
    if error is None:
        return None
    return _fetch(repo, remote, options)


def _fetch(repo: git.Repo, remote: str, args: list[str]) -> str | None:
    """Run `git fetch`; the last line of git's complaint on failure, else None."""
    try:
        # Never wait for a password prompt: CI has no terminal.
        with repo.git.custom_environment(GIT_TERMINAL_PROMPT="0"):
            repo.git.fetch("--quiet", "--no-tags", remote, *args, kill_after_timeout=FETCH_TIMEOUT)
    except git.GitCommandError as exc:
        lines = str(exc.stderr or exc).strip().splitlines()
        return lines[-1].strip() if lines else f"exit code {exc.status}"
    return None


def changed_files(repo: git.Repo, commit: str, root: Path) -> list[Change]:
    """Files under `root` that differ between `commit` and the work tree.

    The work tree, not HEAD: a scan reads the work tree, so uncommitted edits and
    untracked (not ignored) files are part of the change. Renames are detected,
    so a moved file is compared with its old self.
    """
    out = repo.git.diff(
        commit, "--name-status", "-z", "-M", "--no-relative", "--no-ext-diff", "--no-textconv"
    )
    changes = list(_parse_name_status(str(out)))
    untracked = repo.git.ls_files("--others", "--exclude-standard", "-z")
    changes += [Change(p, None, "A") for p in str(untracked).split("\0") if p]
    return list(_under_root(changes, top_level(repo), root))


def changed_since(repo: git.Repo, ref: str, root: Path) -> list[str]:
    """Paths under `root` that differ between `ref`'s tree and the work tree (no
    history needed: a fallback when the merge base is out of reach)."""
    return [c.path for c in changed_files(repo, ref, root) if c.status != "D"]


def _parse_name_status(out: str) -> Iterable[Change]:
    tokens = out.split("\0")
    i = 0
    while i < len(tokens) and tokens[i]:
        kind = tokens[i][0]
        if kind in "RC":
            old, new = tokens[i + 1], tokens[i + 2]
            i += 3
            # A copy is a new occurrence of what it copies: compare it with nothing.
            yield Change(new, old if kind == "R" else None, kind if kind == "R" else "A")
        else:
            path = tokens[i + 1]
            i += 2
            yield Change(path, None if kind == "A" else path, kind)


def _under_root(changes: Iterable[Change], top: Path, root: Path) -> Iterable[Change]:
    prefix = root.resolve().relative_to(top).as_posix()
    for change in changes:
        if prefix in ("", "."):
            yield change
        elif change.path.startswith(f"{prefix}/"):
            yield Change(change.path[len(prefix) + 1 :], change.base_path, change.status)


def root_prefix(repo: git.Repo, root: Path) -> str:
    """The scan root relative to the repository top ("" at the top)."""
    prefix = root.resolve().relative_to(top_level(repo)).as_posix()
    return "" if prefix == "." else prefix


def tree_files(repo: git.Repo, commit: str, directory: str) -> list[str]:
    """Regular files directly in `directory` (repository-relative) at `commit`."""
    tree = repo.commit(commit).tree
    try:
        sub = tree / directory if directory else tree
    except KeyError:
        return []
    if sub.type != "tree":
        return []
    return [str(b.path) for b in sub.blobs if b.mode in REGULAR_MODES]


def materialize_commit(
    repo: git.Repo, commit: str, files: Mapping[str, str], dest: Path
) -> list[str]:
    """Write `commit`'s version of files under `dest`: `files` maps a dest-relative
    path to a repository path. Files missing at `commit`, symbolic links and
    submodules are left out. Returns the dest-relative paths written."""
    tree = repo.commit(commit).tree
    written = []
    for rel, source in files.items():
        try:
            blob = tree / source
        except KeyError:
            continue
        if blob.type != "blob" or blob.mode not in REGULAR_MODES:
            continue
        write_under(dest, rel, blob.data_stream.read())
        written.append(rel)
    return written


def staged_paths(repo: git.Repo) -> list[str]:
    """Repository paths the next commit adds or modifies (not deletions)."""
    out = repo.git.diff(
        "--cached", "--name-only", "-z", "--diff-filter=ACMRT", "--no-relative", "--no-ext-diff"
    )
    return [p for p in str(out).split("\0") if p]


def materialize_index(repo: git.Repo, files: Mapping[str, str], dest: Path) -> list[str]:
    """Write the staged (index) version of files under `dest`, like `materialize_commit`.
    Unmerged entries, symbolic links and submodules are left out."""
    wanted = {source: rel for rel, source in files.items()}
    listing = str(repo.git.ls_files("--stage", "-z"))
    written = []
    for entry in listing.split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        mode, sha, stage = meta.split()
        if path not in wanted or stage != "0" or int(mode, 8) not in REGULAR_MODES:
            continue
        data = repo.odb.stream(bytes.fromhex(sha)).read()
        write_under(dest, wanted[path], data)
        written.append(wanted[path])
    return written


def write_under(dest: Path, rel: str, data: bytes) -> Path:
    """Write `data` at `dest/rel`, refusing any path that would land outside `dest`."""
    parts = PurePosixPath(rel).parts
    if not parts or PurePosixPath(rel).is_absolute() or any(p in ("..", ".", "") for p in parts):
        raise ValueError(f"refusing to write outside the target directory: {rel!r}")
    target = dest.joinpath(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.parent.resolve().is_relative_to(dest.resolve()):
        raise ValueError(f"refusing to write outside the target directory: {rel!r}")
    target.write_bytes(data)
    return target


def hooks_dir(repo: git.Repo) -> Path:
    """Where git looks for hooks (honours `core.hooksPath`)."""
    path = Path(str(repo.git.rev_parse("--git-path", "hooks")).strip())
    return path if path.is_absolute() else top_level(repo) / path
