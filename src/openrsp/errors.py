"""Typed errors shared by every part of openrsp.

The CLI turns any OpenRSPError into a one-line message and a non-zero exit; anything else
is a bug and keeps its traceback.
"""


class OpenRSPError(Exception):
    """Base of every error openrsp raises on purpose (bad input, failed check, protocol error)."""


class InputError(OpenRSPError):
    """The user or a peer gave something malformed: wrong hex, wrong length, missing file."""
