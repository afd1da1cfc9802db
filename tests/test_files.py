"""File discovery: git-aware, excludes, symlinks never followed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pipeline_guard.files import discover, matches_any


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_glob_semantics() -> None:
    assert matches_any("vendor/lib/a.py", ["vendor/**"])
    assert matches_any("src/node_modules/x/index.js", ["node_modules/"])
    assert matches_any("web/app.min.js", ["*.min.js"])
    assert not matches_any("web/app.js", ["*.min.js"])
    assert matches_any("a/b/c/test_x.py", ["a/**/test_*.py"])
    assert not matches_any("src/vendor.py", ["vendor/"])


def test_git_repo_honours_gitignore_and_sees_untracked(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "out.py").write_text("x = 1\n")
    (tmp_path / "tracked.py").write_text("x = 1\n")
    git(tmp_path, "add", ".")
    (tmp_path / "untracked.py").write_text("y = 2\n")
    files = discover(tmp_path, []).files
    assert files == (".gitignore", "tracked.py", "untracked.py")


def test_subdirectory_of_a_repo(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.py").write_text("")
    (tmp_path / "b.py").write_text("")
    assert discover(tmp_path / "sub", []).files == ("a.py",)


def test_symlink_loop_and_links_are_not_followed(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "real.py").write_text("")
    os.symlink(tmp_path / "d", tmp_path / "d" / "loop")
    os.symlink("/etc/passwd", tmp_path / "outside")
    result = discover(tmp_path, [])
    assert result.files == ("d/real.py",)
    assert result.skipped_links == 1  # the file link; the directory link is never entered


def test_excludes(tmp_path: Path) -> None:
    for rel in ("src/a.py", "vendor/b.py", "src/gen/c_pb2.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    assert discover(tmp_path, ["vendor/", "*_pb2.py"]).files == ("src/a.py",)
