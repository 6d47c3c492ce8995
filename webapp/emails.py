"""Email address syntax, checked by email-validator. Pure: no Flask, no database, no network.

One rule for every address the app takes (staff accounts, invitees in the sandbox form):
the library knows the RFCs, internationalised addresses and the reserved domains
(`.local`, `.test`, `localhost`), so no home-made pattern has to.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

EXAMPLE_HINT = "Enter an email address like name@example.com."


def email_syntax_problem(address: str) -> str | None:
    """None when `address` is a well-formed address; else what is wrong with it, in words.

    Syntax only: `check_deliverability=False` makes no DNS query, so a form never waits on
    the network and works offline.
    """
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"{EXAMPLE_HINT} {exc}"
    return None
