"""Checking a password someone types: sign-in and changing one's own password.

Both consult the failed sign-in throttle BEFORE hashing anything, so a throttled guess
costs no hash, and both count a wrong password as a failure for the account and address.
"""

from __future__ import annotations

from webapp.audit import actions as audit_actions  # audit log (issue 12 §4)
from webapp.audit.log import Target, record, record_now
from webapp.audit.subjects import user_target
from webapp.auth import passwords, sessions, throttle
from webapp.auth.service import (
    AuthError,
    ValidationError,
    check_new_password,
    email_problem,
    find_user_by_email,
    get_user,
    normalise_email,
)
from webapp.database import write_transaction
from webapp.models import User

# The same words whatever went wrong, so the page never tells who has an account.
GENERIC_SIGN_IN_ERROR = "Email or password is incorrect."


class InvalidCredentials(AuthError):
    """Wrong email, wrong password or a deactivated account (deliberately not told apart).

    `tries_left` is how many more failures this account may have from this address before
    signing in is paused."""

    def __init__(self, message: str, tries_left: int) -> None:
        super().__init__(message)
        self.tries_left = tries_left


class Throttled(AuthError):
    """Too many recent failures; `retry_after` is how many seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed sign-ins. Wait a while, then try again.")
        self.retry_after = retry_after


def sign_in(email: str, password: str, remote_addr: str | None) -> User:
    """The active user these credentials belong to, or InvalidCredentials / Throttled.

    A success forgets the account's earlier failures and upgrades a hash made with an
    older method than the configured one.
    """
    address = normalise_email(email)
    errors = {}
    if not address:
        errors["email"] = "Enter your email address."
    elif "\x00" in address or len(address) > 1000:  # no account has one; never query with it
        errors["email"] = "Enter an email address like name@example.com."
    if not password:
        errors["password"] = "Enter your password."
    if errors:
        raise ValidationError(errors)

    keys = throttle.keys_for(address, remote_addr)
    wait = throttle.retry_after(keys)
    if wait is not None:
        raise Throttled(wait)

    user = find_user_by_email(address)
    matches = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not matches or not user.active:
        throttle.record_failure(keys)
        record_now(audit_actions.SIGN_IN_FAILED, failed_sign_in_target(user, address), actor=None)
        raise InvalidCredentials(GENERIC_SIGN_IN_ERROR, throttle.tries_left(keys))

    user_id = user.id
    new_hash = (
        passwords.hash_password(password) if passwords.needs_rehash(user.password_hash) else None
    )
    with write_transaction():
        throttle.forget_account(address)
        if new_hash is not None:
            get_user(user_id).password_hash = new_hash
        signed_in = get_user(user_id)
        record(audit_actions.SIGN_IN, user_target(signed_in), actor=signed_in)  # audit log
    return get_user(user_id)


def failed_sign_in_target(user: User | None, typed_email: str) -> Target:
    """The account a failed sign-in tried. An unknown address is kept only when it looks
    like an email: people type passwords into the email field too."""
    if user is not None:
        return user_target(user)
    shown = typed_email if email_problem(typed_email) is None else "(not an email address)"
    return Target(audit_actions.TARGET_USER, None, shown)


def change_own_password(
    user_id: int, current: str, new: str, confirm: str, remote_addr: str | None
) -> User:
    """Replace the user's password after checking the current one.

    Every session of the user ends (this one too); the caller signs the current browser in
    again on a new session with the returned user.
    """
    user = get_user(user_id)
    keys = throttle.keys_for(user.email, remote_addr)
    wait = throttle.retry_after(keys)
    if wait is not None:
        raise Throttled(wait)

    errors = check_new_password(new, confirm, field="new_password")
    if not current:
        errors["current_password"] = "Enter your current password."
    elif not passwords.verify_password(user.password_hash, current):
        throttle.record_failure(keys)
        errors = {"current_password": "This is not your current password."}
    if errors:
        raise ValidationError(errors)

    new_hash = passwords.hash_password(new)
    with write_transaction():
        user = get_user(user_id)
        user.password_hash = new_hash
        sessions.revoke_all(user.id)
        # Audit log: that it changed; the values of a "password" field are never recorded.
        record(audit_actions.USER_PASSWORD_CHANGED, user_target(user), {"password": ["", ""]})
    return get_user(user_id)


def clear_sign_in_pause(user_id: int) -> tuple[User, int]:
    """Forget the failed sign-ins of a user's account (every address's tries at it), so a
    pause or slow-down ends now; the addresses' own counts stay. Returns the user and how
    many failures were forgotten; the audit log records it."""
    with write_transaction():
        user = get_user(user_id)
        forgotten = throttle.forget_account(user.email)
        record(
            audit_actions.USER_SIGN_IN_PAUSE_CLEARED,
            user_target(user),
            {"failed_sign_ins": [str(forgotten), "0"]},
        )
    return get_user(user_id), forgotten
