"""GitHub integration: REST client, run context, sticky PR comment, job summary.

Only the PR comment talks to the network; everything else writes files the
Actions runner reads (`$GITHUB_STEP_SUMMARY`, `$GITHUB_OUTPUT`) or prints
workflow commands on stdout.
"""
