"""Where the vulnerability database lives by default."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

#: Environment variable that points every command at one database file.
DB_ENV = "PIPELINE_GUARD_DB"
DB_FILENAME = "osv.sqlite3"


def default_db_path() -> Path:
    """`$PIPELINE_GUARD_DB` if set, else `osv.sqlite3` in the user cache directory.

    On Linux the cache directory is `$XDG_CACHE_HOME/pipeline-guard` (default
    `~/.cache/pipeline-guard`); platformdirs picks the native place elsewhere.
    """
    override = os.environ.get(DB_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return platformdirs.user_cache_path("pipeline-guard", appauthor=False) / DB_FILENAME
