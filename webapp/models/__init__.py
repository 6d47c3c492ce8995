"""The tables, one module per feature; import them from here."""

from webapp.models.audit import AuditEvent, AuditLogIsAppendOnly, SilenceEpisode
from webapp.models.bookings import (
    DELIVERY_APPLIED,
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_STALE,
    Delivery,
    RefusedDelivery,
    SchedulingRequest,
)
from webapp.models.links import UTM_KEYS, PublicLink, TrackedLink, Visit
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
    "AuditEvent",
    "AuditLogIsAppendOnly",
    "Delivery",
    "FailedSignIn",
    "PublicLink",
    "RefusedDelivery",
    "SandboxBooking",
    "SandboxClaim",
    "SandboxOutbox",
    "SchedulingRequest",
    "SilenceEpisode",
    "TrackedLink",
    "UTCDateTime",
    "User",
    "Visit",
    "utcnow",
]
