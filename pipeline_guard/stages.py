"""The stages as people use them (DESIGN.md, "The stages"), over the orchestrator.

**pr** — report everything, gate on what the change introduces.
The head (the work tree) is scanned whole, so the report lists existing findings
too; the result cache makes the unchanged part of that scan nearly free. The
base is never scanned whole: only the base versions of the changed files (a
renamed file's old content, written at its new path) are written to a temporary
directory and scanned with the same config, plus the other Terraform files of a
changed Terraform file's directory (checkov judges a module as a whole). Each
head finding is then marked:

- in a file the change does not touch (nor, for Terraform, its module): `unchanged`;
- else `unchanged` when the base scan has a finding with the same fingerprint
  (content-based, line-number-free: moving code does not make it new), else `new`;
- a dependency finding (sca): `new` only when the change adds or changes that
  package version, i.e. (manifest, ecosystem, name, version) is not declared by
  the base version of the manifest. A vulnerability the advisory database
  learned about since is not the change's doing: the release and nightly scans
  report it;
- image findings are not compared (there is no base image): `new`, so they count.

The merge base comes from `--base` (default `origin/$GITHUB_BASE_REF`, else
`origin/HEAD`); a shallow clone is deepened until it is found (gitutil). When
it cannot be found, the notes say what to change in the workflow, and only the
files that differ from the base are scanned, every finding counting as new.
Without a base at all (outside git, an unknown ref) the tree is scanned and
every finding is `new`: the stage fails safe.

**precommit** — exactly what will be committed. Files named on the command line
(the pre-commit framework passes the staged files, after stashing unstaged
changes) are scanned in place; `PRE_COMMIT=1` without files scans the staged
paths in place. Otherwise (the `install-hook` hook, a manual run) the staged
blobs are read from the index into a temporary directory mirroring their paths
and scanned there, so unstaged edits never count. Outside git, the tree is
scanned.

**release** — the whole tree with every scanner that applies; the policy
(strict gate, stale database, scanner errors fail closed) is the stage preset's.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import git

from pipeline_guard import gitutil
from pipeline_guard.cache import option_paths
from pipeline_guard.config import Config
from pipeline_guard.errors import UserError
from pipeline_guard.fsutil import atomic_write_text
from pipeline_guard.model import Category, Finding, ScanReport
from pipeline_guard.orchestrator import ProgressHook, ScanRequest, collect, conclude, scan
from pipeline_guard.scanner import find_tool
from pipeline_guard.suppress import apply_suppressions
from pipeline_guard.vulndb.names import normalize_name

#: Terraform's unit is the directory (module): these files are compared together
TERRAFORM_SUFFIXES = (".tf", ".tf.json", ".tfvars", ".tfvars.json")
#: set by the pre-commit framework in a hook's environment
PRE_COMMIT_ENV = "PRE_COMMIT"
DependencyKey = tuple[str, str, str, str]  # manifest, ecosystem, normalized name, version


def run_stage(
    request: ScanRequest,
    *,
    files: Sequence[str] | None = None,
    base: str | None = None,
    progress: ProgressHook | None = None,
) -> ScanReport:
    """Scan the way `request.stage` asks (see the module docstring)."""
    if request.stage == "pr":
        if files:
            raise UserError("the pr stage compares the whole change: give a directory, not files")
        return scan_pr(request, base, progress)
    if base is not None:
        raise UserError("--base applies to the pr stage only")
    if request.stage == "precommit":
        return scan_precommit(request, files, progress)
    return scan(replace(request, only_files=tuple(files)) if files else request, progress)


# -- pull requests ------------------------------------------------------------------


@dataclass(frozen=True)
class BaseComparison:
    """What the merge base had, restricted to what the change touches."""

    changed: frozenset[str]  # work-tree paths whose content differs from the base
    compared: frozenset[str]  # paths the base scan covered (changed + Terraform modules)
    fingerprints: frozenset[str]  # the base scan's findings
    dependencies: frozenset[DependencyKey]  # declared by the base versions of changed manifests

    def state(self, finding: Finding) -> str:
        """`new` or `unchanged` (see the module docstring)."""
        if finding.category is Category.IMAGE:
            return "new"
        if finding.package is not None:
            pkg = finding.package
            manifest = pkg.manifest or finding.location.path
            if manifest not in self.changed:
                return "unchanged"
            key = (manifest, pkg.ecosystem, normalize_name(pkg.ecosystem, pkg.name), pkg.version)
            return "unchanged" if key in self.dependencies else "new"
        if finding.location.path not in self.compared:
            return "unchanged"
        return "unchanged" if finding.fingerprint in self.fingerprints else "new"

    def mark(self, findings: list[Finding]) -> list[Finding]:
        return [replace(f, baseline_state=self.state(f)) for f in findings]


def scan_pr(
    request: ScanRequest, base: str | None = None, progress: ProgressHook | None = None
) -> ScanReport:
    """The pr stage: everything reported, each finding new or unchanged."""
    repo = gitutil.open_repo(request.root)
    if repo is None:
        note = "not a git repository: no base to compare with, so every finding counts as new"
        return _all_new(_with_notes(request, note), progress)
    ref = base or gitutil.default_base_ref()
    found = gitutil.find_merge_base(repo, ref)
    request = replace(request, commit=request.commit or gitutil.resolve(repo, "HEAD"))
    if found.sha is None:
        return _scan_without_merge_base(repo, request, found, progress)
    changes = gitutil.changed_files(repo, found.sha, request.root)
    notes = [
        *found.notes,
        f"compared with the merge base {found.sha[:12]} of HEAD and {ref}: "
        f"{sum(1 for c in changes if c.status != 'D')} changed file(s)",
    ]
    head = collect(_with_notes(request, *notes), progress)
    comparison, base_notes = compare_with_base(repo, request, found.sha, changes)
    head.run_notes.extend(base_notes)
    return conclude(request, head, mark=comparison.mark)


def compare_with_base(
    repo: git.Repo, request: ScanRequest, merge_base: str, changes: Sequence[gitutil.Change]
) -> tuple[BaseComparison, list[str]]:
    """Scan the base versions of what changed; the comparison and notes on failures."""
    prefix = gitutil.root_prefix(repo, request.root)
    present = [c for c in changes if c.status != "D"]
    changed = {c.path for c in present}
    sources = {c.path: c.base_path for c in present if c.base_path is not None}
    modules = _terraform_modules(repo, merge_base, prefix, changed)
    for rel, repo_path in modules.items():
        sources.setdefault(rel, repo_path)
    manifests = _manifest_neighbours(repo, merge_base, prefix, changed)
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pipeline-guard-base-") as tmp:
        where = Path(tmp)
        written = gitutil.materialize_commit(repo, merge_base, sources, where)
        dep_files = gitutil.materialize_commit(
            repo, merge_base, {k: v for k, v in manifests.items() if k not in sources}, where
        )
        fingerprints: set[str] = set()
        if written:
            copy_option_paths(request.config, request.root, where)
            base = collect(
                replace(
                    request,
                    root=where,
                    only_files=tuple(written),
                    notes=(),
                    use_baseline=False,
                    display_root=None,
                    images=(),
                    skip_categories=frozenset({Category.SCA, Category.IMAGE}),
                )
            )
            marked = apply_suppressions(base.findings, request.config.ignores, base.sources)
            fingerprints = {f.fingerprint for f in marked.findings}
            notes += [
                f"base scan: {e.scanner} failed ({e.kind}: {e.message}); its findings in "
                "changed files count as new"
                for r in base.runs
                for e in r.errors
            ]
        dependencies = _dependencies(where, [*written, *dep_files])
    comparison = BaseComparison(
        changed=frozenset(changed),
        compared=frozenset(changed | (set(modules) & _head_files(request.root, modules))),
        fingerprints=frozenset(fingerprints),
        dependencies=frozenset(dependencies),
    )
    return comparison, notes


def _head_files(root: Path, paths: Iterable[str]) -> set[str]:
    return {p for p in paths if (root / p).is_file()}


def _terraform_modules(
    repo: git.Repo, commit: str, prefix: str, changed: Iterable[str]
) -> dict[str, str]:
    """Every Terraform file, at `commit`, in the directory of a changed Terraform file."""
    out: dict[str, str] = {}
    dirs = {_parent(p) for p in changed if p.lower().endswith(TERRAFORM_SUFFIXES)}
    for directory in sorted(dirs):
        for repo_path in gitutil.tree_files(repo, commit, _join(prefix, directory)):
            if repo_path.lower().endswith(TERRAFORM_SUFFIXES):
                out[_strip(prefix, repo_path)] = repo_path
    return out


def _manifest_neighbours(
    repo: git.Repo, commit: str, prefix: str, changed: Iterable[str]
) -> dict[str, str]:
    """The dependency manifests, at `commit`, in the directory of a changed one (a
    lockfile supersedes its manifest: parse them as a set, like the scanner does)."""
    from pipeline_guard.sources.loader import manifest_files  # pr stage only: keep start-up lean

    out: dict[str, str] = {}
    dirs = {_parent(rel) for rel, _ in manifest_files(list(changed))}
    for directory in sorted(dirs):
        names = [
            _strip(prefix, p) for p in gitutil.tree_files(repo, commit, _join(prefix, directory))
        ]
        for rel, _ in manifest_files(names):
            out[rel] = _join(prefix, rel)
    return out


def _dependencies(root: Path, files: Sequence[str]) -> set[DependencyKey]:
    from pipeline_guard.sources.loader import collect  # pr stage only: keep start-up lean

    collected = collect(root, list(files))
    return {
        (d.manifest, d.ecosystem, normalize_name(d.ecosystem, d.name), d.version)
        for d in collected.dependencies
    }


def _scan_without_merge_base(
    repo: git.Repo, request: ScanRequest, found: gitutil.MergeBase, progress: ProgressHook | None
) -> ScanReport:
    why = "; ".join(found.notes) or "unknown reason"
    if found.base_tip is None:
        note = (
            f"no base to compare with ({why}): scanned the whole tree and every finding counts "
            "as new. Pass --base REF (a branch or commit), or in GitHub Actions run on "
            "pull_request events so GITHUB_BASE_REF is set"
        )
        return _all_new(_with_notes(request, note), progress)
    changed = gitutil.changed_since(repo, found.base_tip, request.root)
    note = (
        f"could not find the merge base of HEAD and {found.ref} ({why}). To compare with it, "
        f"{gitutil.WORKFLOW_FIX}. Meanwhile only the {len(changed)} file(s) that differ from "
        f"{found.ref} were scanned, and every finding in them counts as new"
    )
    return _all_new(replace(_with_notes(request, note), only_files=tuple(changed)), progress)


def _all_new(request: ScanRequest, progress: ProgressHook | None) -> ScanReport:
    """A pr scan with nothing to compare with: every finding is new (fail safe)."""
    return conclude(
        request,
        collect(request, progress),
        mark=lambda findings: [replace(f, baseline_state="new") for f in findings],
    )


# -- pre-commit ----------------------------------------------------------------------


def scan_precommit(
    request: ScanRequest,
    files: Sequence[str] | None = None,
    progress: ProgressHook | None = None,
) -> ScanReport:
    """The precommit stage: the staged content only (see the module docstring)."""
    if files:
        return scan(replace(request, only_files=tuple(files)), progress)
    repo = gitutil.open_repo(request.root)
    if repo is None:
        note = "not a git repository: scanned the whole tree (nothing is staged outside git)"
        return scan(_with_notes(request, note), progress)
    prefix = gitutil.root_prefix(repo, request.root)
    staged = {_strip(prefix, p): p for p in gitutil.staged_paths(repo) if _under(prefix, p)}
    if os.environ.get(PRE_COMMIT_ENV) == "1":
        # The framework has stashed unstaged changes: the work tree is what is staged.
        return scan(replace(request, only_files=tuple(sorted(staged))), progress)
    with tempfile.TemporaryDirectory(prefix="pipeline-guard-staged-") as tmp:
        where = Path(tmp)
        written = gitutil.materialize_index(repo, staged, where)
        copy_option_paths(request.config, request.root, where)
        note = f"scanned the staged content of {len(written)} file(s)"
        staged_request = replace(
            _with_notes(request, note),
            root=where,
            only_files=tuple(sorted(written)),
            display_root=request.root,
        )
        return scan(staged_request, progress)


HOOK_MARKER = "# pipeline-guard pre-commit hook"


@dataclass(frozen=True)
class HookInstall:
    path: Path
    backup: Path | None


def install_hook(root: Path, *, force: bool = False) -> HookInstall:
    """Write `.git/hooks/pre-commit` (or under `core.hooksPath`) running the precommit
    stage on the staged content. A hook that is not ours is kept unless `force`, and
    then moved aside, never lost."""
    repo = gitutil.open_repo(root)
    if repo is None:
        raise UserError(f"{root}: not inside a git work tree; run `git init` first")
    path = gitutil.hooks_dir(repo) / "pre-commit"
    backup = None
    if path.exists() and HOOK_MARKER not in _read(path):
        if not force:
            raise UserError(
                f"{path} already exists and is not pipeline-guard's: left unchanged. Add "
                "`pipeline-guard scan --stage precommit` to it yourself, use the pre-commit "
                "framework (hook id `pipeline-guard`), or pass --force (the current hook is "
                "kept as pre-commit.pipeline-guard-backup)"
            )
        backup = path.with_name("pre-commit.pipeline-guard-backup")
        shutil.copy2(path, backup)
    atomic_write_text(path, hook_script(find_tool("pipeline-guard")))
    path.chmod(0o755)
    return HookInstall(path, backup)


def hook_script(executable: str | None) -> str:
    """The hook: this installation's pipeline-guard, else the one on PATH."""
    exe = shlex.quote(executable or "pipeline-guard")
    return (
        "#!/bin/sh\n"
        f"{HOOK_MARKER} (written by `pipeline-guard install-hook`).\n"
        "# Scans what is staged; blocks the commit when the precommit gate fails.\n"
        "# Skip it once with `git commit --no-verify`.\n"
        f"PG={exe}\n"
        'if [ ! -x "$PG" ]; then PG=pipeline-guard; fi\n'
        'exec "$PG" scan --stage precommit\n'
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


# -- helpers -------------------------------------------------------------------------


def copy_option_paths(config: Config, source: Path, dest: Path) -> None:
    """Copy what scanner options name under `source` (e.g. `semgrep.rules`) into
    `dest`, so a scan of a copy uses the same rules as a scan of the tree."""
    sections = [*config.scanners.values(), *config.custom_scanners]
    root = source.resolve()
    for options in sections:
        for path in option_paths(options, root):
            resolved = path.resolve()
            if not resolved.is_relative_to(root) or resolved == root:
                continue  # absolute paths elsewhere are read where they are
            target = dest / resolved.relative_to(root)
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if resolved.is_dir():
                shutil.copytree(resolved, target, symlinks=True)
            else:
                shutil.copy2(resolved, target)


def _with_notes(request: ScanRequest, *notes: str) -> ScanRequest:
    return replace(request, notes=(*request.notes, *notes))


def _parent(rel: str) -> str:
    return rel.rsplit("/", 1)[0] if "/" in rel else ""


def _join(prefix: str, rel: str) -> str:
    return f"{prefix}/{rel}".strip("/") if prefix else rel


def _strip(prefix: str, repo_path: str) -> str:
    return repo_path[len(prefix) + 1 :] if prefix else repo_path


def _under(prefix: str, repo_path: str) -> bool:
    return not prefix or repo_path.startswith(f"{prefix}/")
