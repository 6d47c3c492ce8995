"""Account commands: create-user, set-password and create-api-token.

They call the same service functions as the pages, so the rules (password length,
duplicate emails, active accounts) are the same everywhere.
"""

from __future__ import annotations

import sys

import click
from flask import Flask

from webapp.auth import api_tokens, service
from webapp.models import ROLE_ADMIN, ROLE_STAFF


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line, so `printf '%s\n' "$PW" | flask ...` works; only the line end is dropped.
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    return str(
        click.prompt("Password (at least 12 characters)", hide_input=True, confirmation_prompt=True)
    )


def _fail(error: service.AuthError) -> click.ClickException:
    if isinstance(error, service.ValidationError):
        return click.ClickException(
            "; ".join(
                f"{name.replace('_', ' ')}: {problem}" for name, problem in error.fields.items()
            )
        )
    return click.ClickException(error.message)


def register(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--name", default="", help="The person's name, shown to other staff.")
    @click.option("--admin", is_flag=True, help="Make the user an admin (default: staff).")
    @click.option(
        "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
    )
    def create_user(email: str, name: str, admin: bool, password_stdin: bool) -> None:
        """Create a user who signs in with EMAIL (prompts for the password)."""
        if service.find_user_by_email(email) is not None:
            raise click.ClickException(f"a user with the email {email.strip()} already exists")
        had_admin = service.active_admin_exists()
        password = _read_password(password_stdin)
        try:
            user = service.create_user(email, name, ROLE_ADMIN if admin else ROLE_STAFF, password)
        except service.AuthError as error:
            raise _fail(error) from None
        click.echo(f"Created {user.role} {user.email} (id {user.id}).")
        if not admin and not had_admin:
            click.echo("Note: no admin exists yet; create one with --admin.", err=True)

    @app.cli.command("set-password")
    @click.argument("email")
    @click.option(
        "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
    )
    def set_password(email: str, password_stdin: bool) -> None:
        """Give EMAIL a new password (e.g. a locked-out admin); their sessions end."""
        user = service.find_user_by_email(email)
        if user is None:
            raise click.ClickException(f"no user has the email {email.strip()}")
        user_id = user.id
        password = _read_password(password_stdin)
        try:
            user = service.set_password(user_id, password)
        except service.AuthError as error:
            raise _fail(error) from None
        click.echo(f"New password set for {user.email}; their sessions have ended.")

    @app.cli.command("create-api-token")
    @click.argument("email")
    @click.option("--name", default="", help="What the token is for, e.g. 'CRM sync'.")
    def create_api_token(email: str, name: str) -> None:
        """Create an API token for EMAIL and print it once (the last line of stdout)."""
        user = service.find_user_by_email(email)
        if user is None:
            raise click.ClickException(f"no user has the email {email.strip()}")
        try:
            token = api_tokens.create_token(user.id, name)
        except service.AuthError as error:
            raise _fail(error) from None
        click.echo(
            f"API token for {email.strip().lower()}; store it now, it is not shown again:",
            err=True,
        )
        click.echo(token)
