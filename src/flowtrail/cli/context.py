"""What the top-level options hand to every command: how to resolve the settings, and which
secrets must never appear in an error message."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from flowtrail.config import Settings, resolve_settings

__all__ = ["CliContext", "pass_cli_context"]


@dataclass(slots=True)
class CliContext:
    """The state the ``flowtrail`` group passes down to its commands (``ctx.obj``).

    Attributes:
        profile: The ``--profile`` option: a profile of the profile file, or ``None``.
        metadata: The ``--metadata`` option: a metadata spec, or ``None``.
        secrets: Strings (database passwords) that the error handler replaces with ``***``
            before it prints a message.
    """

    profile: str | None = None
    metadata: str | None = None
    secrets: set[str] = field(default_factory=set)

    def settings(self) -> Settings:
        """Resolve the settings now: the options, then the environment, then the profile file.

        Returns:
            The resolved settings.

        Raises:
            InvalidArgument: A value is malformed or the profile does not exist.
        """
        return resolve_settings(profile=self.profile, metadata=self.metadata)

    def hide(self, secret: str | None) -> None:
        """Never show ``secret`` in an error message (empty values are ignored).

        Args:
            secret: A password, or ``None``.
        """
        if secret:
            self.secrets.add(secret)

    def redact(self, text: str) -> str:
        """Return ``text`` with every registered secret replaced by ``***``.

        Args:
            text: A message about to be shown.

        Returns:
            The message, safe to print.
        """
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


#: Decorator that passes the :class:`CliContext` of the current invocation to a command.
pass_cli_context = click.make_pass_decorator(CliContext, ensure=True)
