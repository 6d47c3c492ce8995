"""Email address syntax, checked by email-validator. Pure: no Flask, no database, no network.

The library knows the RFCs, internationalised addresses and the reserved domains, so no
home-made pattern has to. Two rules on top of it:
- invitees (the sandbox booking form) must have an address the world can deliver to:
  special-use domains (`.local`, `.test`, `localhost`, `.invalid`, ...) are refused;
- staff accounts may live on a private network's own domain (`ada@corp.local`,
  `ada@it.test`, `ada@mailhost`, `ada@nas.home.arpa`): a team with an internal domain must
  be able to add its people. Syntax is still checked in full; `localhost`, `.invalid` and
  `.onion` stay refused, since no team's mail lives there.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

EXAMPLE_HINT = "Enter an email address like name@example.com."
# Names private networks give themselves: RFC 6762's `.local` (as in an Active Directory
# domain, corp.local) and RFC 8375's `home.arpa`. email-validator refuses every special-use
# name whatever its options (`test_environment` lets `.test` through, `globally_deliverable`
# dotless names, neither `.local`), so such an address is checked with that suffix swapped
# for a neutral one: every other rule still applies to it.
PRIVATE_NETWORK_SUFFIXES = ("local", "home.arpa")
NEUTRAL_SUFFIX = "example"


def email_syntax_problem(address: str, *, private_domains: bool = False) -> str | None:
    """None when `address` is a well-formed address; else what is wrong with it, in words.

    `private_domains`: accept a private network's domain (staff accounts), see above.
    Syntax only: `check_deliverability=False` makes no DNS query, so a form never waits on
    the network and works offline.
    """
    try:
        if private_domains:
            _validate_private(address)
        else:
            validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"{EXAMPLE_HINT} {exc}"
    return None


def _validate_private(address: str) -> None:
    options = {"check_deliverability": False, "globally_deliverable": False}
    local, at, domain = address.rpartition("@")
    lowered = domain.lower()
    for suffix in PRIVATE_NETWORK_SUFFIXES:
        if at and (lowered == suffix or lowered.endswith("." + suffix)):
            stand_in = lowered[: len(lowered) - len(suffix)] + NEUTRAL_SUFFIX
            validate_email(f"{local}@{stand_in}", **options)
            return
    validate_email(address, test_environment=True, **options)
