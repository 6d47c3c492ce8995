"""Staff accounts: the use cases behind the setup page, the users page and the CLI.

Each function that writes is one use case in one `write_transaction()`. They raise the
small errors below; the pages turn them into field errors or flashes, the CLI into a
message and a non-zero exit. Sign-in and password changes live in `webapp.auth.signin`.
"""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from webapp.audit import actions as audit_actions  # audit log (issue 12 §4)
from webapp.audit.log import FROM_REQUEST, created, record
from webapp.audit.subjects import user_fields, user_target
from webapp.auth import passwords, sessions
from webapp.database import write_transaction
from webapp.emails import email_syntax_problem
from webapp.extensions import db
from webapp.models import ROLE_ADMIN, ROLE_STAFF, ROLES, ApiToken, User, utcnow

EMAIL_MAX_LENGTH = 254
NAME_MAX_LENGTH = 200


class AuthError(Exception):
    """Base of the account errors; `message` is fit to show to the person who acted."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(AuthError):
    """Input refused; `fields` maps each form field name to what is wrong with it."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in fields.items()))
        self.fields = fields


class SetupClosed(AuthError):
    """The first-run setup was asked for after an account already exists."""


class NotFound(AuthError):
    """No such user (or token) for this person."""


class Refused(AuthError):
    """The change would break a rule (e.g. leave no active admin)."""


def normalise_email(raw: str | None) -> str:
    return (raw or "").strip().lower()


def has_control_characters(text: str) -> bool:
    """True when text holds a control character (NUL, which PostgreSQL refuses, among them)."""
    return any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in text)


def email_problem(email: str) -> str | None:
    if not email:
        return "Enter an email address."
    if len(email) > EMAIL_MAX_LENGTH:
        return f"Use at most {EMAIL_MAX_LENGTH} characters."
    return email_syntax_problem(email, private_domains=True)  # staff may use an internal domain


def has_users() -> bool:
    """True once any account exists (the first-run setup is then closed for good)."""
    return db.session.execute(select(User.id).limit(1)).first() is not None


def active_admin_exists() -> bool:
    query = select(User.id).where(User.role == ROLE_ADMIN, User.active.is_(True)).limit(1)
    return db.session.execute(query).first() is not None


def find_user_by_email(email: str | None) -> User | None:
    address = normalise_email(email)
    if not address:
        return None
    return db.session.execute(select(User).where(User.email == address)).scalar_one_or_none()


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such user.")
    return user


def check_new_password(
    password: str, confirm: str | None, field: str = "password"
) -> dict[str, str]:
    """Field errors for a new password (and its confirmation when one was asked for)."""
    problem = passwords.password_problem(password)
    if problem:
        return {field: problem}
    if confirm is not None and confirm != password:
        return {f"{field}_confirm": "The two passwords are not the same."}
    return {}


def name_problem(name: str) -> str | None:
    if len(name) > NAME_MAX_LENGTH:
        return f"Use at most {NAME_MAX_LENGTH} characters."
    if has_control_characters(name):
        return "Use letters, digits and punctuation only (no control characters)."
    return None


def rename(user_id: int, name: str) -> User:
    """Change the name other staff see (blank: they see the email address)."""
    clean_name = (name or "").strip()
    problem = name_problem(clean_name)
    if problem:
        raise ValidationError({"name": problem})
    with write_transaction():
        user = get_user(user_id)
        user.name = clean_name
    return get_user(user_id)


def _checked_account(
    email: str, name: str, role: str, password: str, confirm: str | None
) -> tuple[str, str]:
    address = normalise_email(email)
    clean_name = (name or "").strip()
    errors: dict[str, str] = {}
    problem = email_problem(address)
    if problem:
        errors["email"] = problem
    problem = name_problem(clean_name)
    if problem:
        errors["name"] = problem
    if role not in ROLES:
        errors["role"] = "Choose admin or staff."
    errors.update(check_new_password(password, confirm))
    if errors:
        raise ValidationError(errors)
    return address, clean_name


def _lock_users_table() -> None:
    # SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL needs a lock so two
    # simultaneous first-run setups cannot both see an empty table.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))


def _insert_user(
    address: str, name: str, role: str, password_hash: str, *, first: bool = False
) -> int:
    if find_user_by_email(address) is not None:
        raise ValidationError({"email": "A user with this email already exists."})
    user = User(email=address, name=name, role=role, password_hash=password_hash)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:  # another request added the same email just now
        raise ValidationError({"email": "A user with this email already exists."}) from exc
    # Audit log: the first admin is their own actor (nobody is signed in during setup).
    actor = user if first else FROM_REQUEST
    record(audit_actions.USER_CREATED, user_target(user), created(user_fields(user)), actor=actor)
    return user.id


def create_first_admin(email: str, name: str, password: str, password_confirm: str) -> User:
    """Create the first account, an admin; SetupClosed once any account exists."""
    if has_users():
        raise SetupClosed("This app is already set up. Sign in instead.")
    address, clean_name = _checked_account(email, name, ROLE_ADMIN, password, password_confirm)
    password_hash = passwords.hash_password(password)  # slow: outside the write lock
    with write_transaction():
        _lock_users_table()
        if has_users():
            raise SetupClosed("This app is already set up. Sign in instead.")
        user_id = _insert_user(address, clean_name, ROLE_ADMIN, password_hash, first=True)
    return get_user(user_id)


def create_user(
    email: str, name: str, role: str, password: str, password_confirm: str | None = None
) -> User:
    """Add an account with its first password (an admin's invitation, or the CLI)."""
    address, clean_name = _checked_account(email, name, role, password, password_confirm)
    password_hash = passwords.hash_password(password)
    with write_transaction():
        user_id = _insert_user(address, clean_name, role, password_hash)
    return get_user(user_id)


def _other_active_admins(user_id: int) -> list[int]:
    # FOR UPDATE (PostgreSQL) makes two admins demoting each other at once take turns, so
    # the second sees the first's change; SQLite's BEGIN IMMEDIATE does the same.
    ids = db.session.execute(
        select(User.id).where(User.role == ROLE_ADMIN, User.active.is_(True)).with_for_update()
    ).scalars()
    return [other for other in ids if other != user_id]


def change_role(actor_id: int, user_id: int, role: str) -> User:
    """Make the user an admin or staff; the last active admin cannot stop being one."""
    if role not in ROLES:
        raise ValidationError({"role": "Choose admin or staff."})
    with write_transaction():
        user = get_user(user_id)
        demoting = user.role == ROLE_ADMIN and role == ROLE_STAFF and user.active
        if demoting and not _other_active_admins(user.id):
            raise Refused(
                f"{user.email} is the only active admin; make someone else an admin first."
            )
        if user.role != role:  # audit log (issue 12 §4)
            changes = {"role": [user.role, role]}
            record(audit_actions.USER_ROLE_CHANGED, user_target(user), changes, actor=actor_id)
        user.role = role
    return get_user(user_id)


def set_active(actor_id: int, user_id: int, active: bool) -> User:
    """Deactivate (ending the user's sessions and API tokens at once) or reactivate."""
    with write_transaction():
        user = get_user(user_id)
        if not active and user.active:
            if user.id == actor_id:
                raise Refused("You cannot deactivate your own account.")
            if user.role == ROLE_ADMIN and not _other_active_admins(user.id):
                raise Refused(
                    f"{user.email} is the only active admin; make someone else an admin first."
                )
            user.active = False
            # Signed out everywhere, and its API tokens end for good: reactivating the
            # account later does not bring them back (new ones can be made).
            sessions.revoke_all(user.id)
            _revoke_api_tokens(user.id)
            changes = {"active": [True, False]}  # audit log (issue 12 §4)
            record(audit_actions.USER_DEACTIVATED, user_target(user), changes, actor=actor_id)
        elif active and not user.active:
            user.active = True
            changes = {"active": [False, True]}
            record(audit_actions.USER_REACTIVATED, user_target(user), changes, actor=actor_id)
    return get_user(user_id)


def set_password(user_id: int, password: str, password_confirm: str | None = None) -> User:
    """Give the user a new password; every session they have ends at once."""
    errors = check_new_password(password, password_confirm)
    if errors:
        raise ValidationError(errors)
    password_hash = passwords.hash_password(password)
    with write_transaction():
        user = get_user(user_id)
        user.password_hash = password_hash
        sessions.revoke_all(user.id)
        # Audit log: that it changed; the values of a "password" field are never recorded.
        record(audit_actions.USER_PASSWORD_RESET, user_target(user), {"password": ["", ""]})
    return get_user(user_id)


def _revoke_api_tokens(user_id: int) -> None:
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
