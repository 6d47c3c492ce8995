"""Reading and saving the organisation profile (one row, id 1). Each save is one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from webapp.audit.actions import SETTINGS_UPDATED, TARGET_SETTINGS
from webapp.audit.log import Target, diff, record
from webapp.auth.service import email_problem, has_control_characters
from webapp.database import write_transaction
from webapp.display import http_url
from webapp.extensions import db
from webapp.models import OrganisationProfile
from webapp.organisation.logos import InvalidLogo, logo_content_type

PROFILE_ID = 1
MAX_NAME = 200
MAX_LOGO_URL = 2000
AUDIT_NAME = "Organisation profile"  # the audit log's name for what settings.updated changed


class InvalidProfile(ValueError):
    """Some fields are wrong; `fields` maps each to a sentence saying why."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(fields.values()))
        self.fields = fields


@dataclass(frozen=True)
class Profile:
    """What the pages show; empty strings when an admin has not set a value."""

    name: str = ""
    contact_email: str = ""
    logo_url: str = ""  # an https URL given instead of an upload
    uploaded_logo_type: str = ""  # the content type of the uploaded logo, if any
    version: str = ""  # changes when the profile does: cache-busts the logo's address

    @property
    def has_logo(self) -> bool:
        return bool(self.logo_url or self.uploaded_logo_type)

    @property
    def logo_origin(self) -> str:
        """The origin an external logo loads from ('' for none or an uploaded one)."""
        if not self.logo_url:
            return ""
        parts = urlsplit(self.logo_url)
        return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class ProfileChange:
    name: str
    contact_email: str
    logo_url: str
    logo_file: bytes | None  # a new upload, or None to keep what there is
    remove_logo: bool


def load_profile() -> Profile:
    """The profile without the logo's bytes (pages need only its address)."""
    table = OrganisationProfile
    row = db.session.execute(
        select(
            table.name,
            table.contact_email,
            table.logo_url,
            table.logo_content_type,
            table.logo_data.is_not(None),
            table.updated_at,
        ).where(table.id == PROFILE_ID)
    ).first()
    if row is None:
        return Profile()
    name, email, logo_url, content_type, uploaded, updated_at = row
    return Profile(
        name=name,
        contact_email=email,
        logo_url=logo_url or "",
        uploaded_logo_type=(content_type or "") if uploaded else "",
        version=f"{updated_at.timestamp():.0f}",
    )


def uploaded_logo() -> tuple[bytes, str] | None:
    """The uploaded logo's bytes and content type, when there is one."""
    row = db.session.get(OrganisationProfile, PROFILE_ID)
    if row is None or not row.logo_data or not row.logo_content_type:
        return None
    return bytes(row.logo_data), row.logo_content_type


def save_profile(change: ProfileChange) -> Profile:
    """Check and store the profile; raises InvalidProfile with every problem at once.

    An upload replaces a logo URL and the other way round; `remove_logo` clears both.
    """
    name = change.name.strip()
    email = change.contact_email.strip().lower()
    logo_url = change.logo_url.strip()
    errors: dict[str, str] = {}
    if len(name) > MAX_NAME:
        errors["name"] = f"Use at most {MAX_NAME} characters."
    elif has_control_characters(name):
        errors["name"] = "Use letters, digits and punctuation only."
    if email:
        problem = email_problem(email)
        if problem:
            errors["contact_email"] = problem
    if logo_url and not change.remove_logo:
        if len(logo_url) > MAX_LOGO_URL or not http_url(logo_url):
            errors["logo_url"] = "Enter the image's full address, starting with https://."
        elif urlsplit(logo_url).scheme.lower() != "https":
            errors["logo_url"] = "Use an https:// address, so the logo shows on secure pages."
    content_type = None
    if change.logo_file is not None and not change.remove_logo:
        try:
            content_type = logo_content_type(change.logo_file)
        except InvalidLogo as error:
            errors["logo_file"] = str(error)
    if errors:
        raise InvalidProfile(errors)

    with write_transaction():
        row = db.session.get(OrganisationProfile, PROFILE_ID)
        if row is None:
            row = OrganisationProfile(id=PROFILE_ID)
            db.session.add(row)
        before = _audited(row)
        row.name = name
        row.contact_email = email
        if change.remove_logo:
            row.logo_data, row.logo_content_type, row.logo_url = None, None, None
        elif content_type is not None:
            row.logo_data, row.logo_content_type, row.logo_url = (
                change.logo_file,
                content_type,
                None,
            )
        elif logo_url:
            row.logo_data, row.logo_content_type, row.logo_url = None, None, logo_url
        elif row.logo_url:  # the URL field was emptied: no logo URL any more
            row.logo_url = None
        changes = diff(before, _audited(row))
        if changes:
            record(SETTINGS_UPDATED, Target(TARGET_SETTINGS, PROFILE_ID, AUDIT_NAME), changes)
    return load_profile()


def _audited(row: OrganisationProfile) -> dict[str, object]:
    """The profile as the audit log records it: an uploaded logo by its type and size."""
    upload = f"{row.logo_content_type}, {len(row.logo_data):,} bytes" if row.logo_data else None
    return {
        "name": row.name or "",
        "contact_email": row.contact_email or "",
        "logo_url": row.logo_url or None,
        "logo_upload": upload,
    }
