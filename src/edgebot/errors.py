"""Errors a person can act on: each carries the exit code the CLI uses and a message that says what to do."""

from __future__ import annotations


class EdgebotError(Exception):
    """Base for errors shown to a person without a traceback."""

    exit_code = 1


class ConfigError(EdgebotError):
    """A bad configuration key or value; the message names the key and where it came from."""

    exit_code = 2


class UsageError(EdgebotError):
    """Bad input on the command line or in a file given to a command."""

    exit_code = 2


class ModelMissingError(EdgebotError):
    """A model the command needs is not installed; the message names the pull command."""

    exit_code = 3
