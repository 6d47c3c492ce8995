"""The tables, one module per feature; import them from here."""

from webapp.models.bookings import (
    DELIVERY_APPLIED,
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_STALE,
    Delivery,
    RefusedDelivery,
    SchedulingRequest,
)
from webapp.models.links import UTM_KEYS, LinkBatch, PublicLink, TrackedLink, Visit
from webapp.models.organisation import OrganisationProfile
from webapp.models.sandbox import SandboxBooking, SandboxClaim, SandboxOutbox
from webapp.models.types import UTCDateTime, utcnow
from webapp.models.users import ROLE_ADMIN, ROLE_STAFF, ROLES, ApiToken, FailedSignIn, User

__all__ = [
    "DELIVERY_APPLIED",
    "DELIVERY_FAILED",
    "DELIVERY_PENDING",
    "DELIVERY_STALE",
    "ROLES",
    "ROLE_ADMIN",
    "ROLE_STAFF",
    "UTM_KEYS",
    "ApiToken",
    "Delivery",
    "FailedSignIn",
    "LinkBatch",
    "OrganisationProfile",
    "PublicLink",
    "RefusedDelivery",
    "SandboxBooking",
    "SandboxClaim",
    "SandboxOutbox",
    "SchedulingRequest",
    "TrackedLink",
    "UTCDateTime",
    "User",
    "Visit",
    "utcnow",
]
