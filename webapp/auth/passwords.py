"""Password rules and hashing: the one place that knows how passwords are stored.

The hash method comes from PASSWORD_HASH_METHOD (pbkdf2:sha256:600000 by default, OWASP's
floor for PBKDF2-SHA256; docs/architecture.md, "Notes learnt the hard way"), so it can be
raised later without a code change; hashes made with an older method are upgraded at the
next successful sign-in.
"""

from __future__ import annotations

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 12
MAX_LENGTH = 1024

# One hash per method of a password nobody has, so that a sign-in for an unknown email
# costs the same time as one for a known email (no user enumeration by timing).
_dummy_hashes: dict[str, str] = {}


def password_problem(password: str) -> str | None:
    """Why the password is not acceptable as a new password, or None when it is."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if not password.strip():
        return "The password cannot be only spaces."
    return None


def hash_method() -> str:
    return str(current_app.config["PASSWORD_HASH_METHOD"])


def hash_password(password: str) -> str:
    """A salted hash of the password with the configured method."""
    return generate_password_hash(password, method=hash_method())


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches the hash.

    Without a hash (unknown account) a dummy hash is checked instead, so the answer takes
    as long as a real check and still says no. Over-long input is refused unhashed.
    """
    if len(password) > MAX_LENGTH:
        return False
    if password_hash is None:
        method = hash_method()
        dummy = _dummy_hashes.get(method)
        if dummy is None:
            dummy = _dummy_hashes.setdefault(method, generate_password_hash("", method=method))
        check_password_hash(dummy, password)
        return False
    return check_password_hash(password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with another method than the configured one."""
    return password_hash.split("$", 1)[0] != hash_method()
