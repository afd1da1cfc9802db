"""Errors a person can act on. The CLI prints them without a traceback (exit 2)."""


class UserError(Exception):
    """Bad input from the user: the message says where and what to do."""
