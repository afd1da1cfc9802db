"""Dependency manifests and lockfiles: one parser per format, all producing `Dependency`s.

`registry.source_for(path)` picks the parser for a file; `loader.collect(root, files)`
reads every supported manifest of a tree (following `-r`/`-c` includes) and keeps
going past malformed files, which it reports as `ManifestError`s.
"""
