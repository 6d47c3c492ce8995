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
from webapp.models.links import UTM_KEYS, LinkBatch, PublicLink, TrackedLink, Visit
from webapp.models.organisation import OrganisationProfile
from webapp.models.outbound import (
    DISABLED_BY_ADMIN,
    DISABLED_FAILING,
    ENDPOINT_KINDS,
    ENDPOINT_SLACK,
    ENDPOINT_WEBHOOK,
    WebhookEndpoint,
)
from webapp.models.outbox import OutboxAttempt, OutboxMessage
from webapp.models.retention import PeriodicRun, PurgedVisitCount
from webapp.models.sandbox import SandboxBooking, SandboxClaim
from webapp.models.types import UTCDateTime, utcnow
from webapp.models.users import (
    ROLE_ADMIN,
    ROLE_STAFF,
    ROLES,
    ApiToken,
    FailedSignIn,
    User,
    UserSession,
)
from webapp.models.views import VIEW_PAGES, SavedView

__all__ = [
    "DELIVERY_APPLIED",
    "DELIVERY_FAILED",
    "DELIVERY_PENDING",
    "DELIVERY_STALE",
    "DISABLED_BY_ADMIN",
    "DISABLED_FAILING",
    "ENDPOINT_KINDS",
    "ENDPOINT_SLACK",
    "ENDPOINT_WEBHOOK",
    "ROLES",
    "ROLE_ADMIN",
    "ROLE_STAFF",
    "UTM_KEYS",
    "VIEW_PAGES",
    "ApiToken",
    "AuditEvent",
    "AuditLogIsAppendOnly",
    "Delivery",
    "FailedSignIn",
    "OutboxAttempt",
    "OutboxMessage",
    "LinkBatch",
    "OrganisationProfile",
    "PeriodicRun",
    "PublicLink",
    "PurgedVisitCount",
    "RefusedDelivery",
    "SandboxBooking",
    "SandboxClaim",
    "SavedView",
    "SchedulingRequest",
    "SilenceEpisode",
    "TrackedLink",
    "UTCDateTime",
    "User",
    "UserSession",
    "Visit",
    "WebhookEndpoint",
    "utcnow",
]
