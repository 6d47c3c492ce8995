"""The audit log's action names (dotted: `<target type>.<what happened>`) and target types.

Other packages record with these constants rather than spelling names themselves, so the
page's filter lists every action that can appear.
"""

from __future__ import annotations

USER_CREATED = "user.created"
USER_ROLE_CHANGED = "user.role_changed"
USER_DEACTIVATED = "user.deactivated"
USER_REACTIVATED = "user.reactivated"
USER_PASSWORD_RESET = "user.password_reset"  # by an admin or the CLI
USER_PASSWORD_CHANGED = "user.password_changed"  # by the user, knowing the current one
USER_SIGN_IN_PAUSE_CLEARED = "user.sign_in_pause_cleared"  # an admin cleared failed sign-ins
SIGN_IN = "auth.sign_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
PUBLIC_LINK_CREATED = "public_link.created"
PUBLIC_LINK_UPDATED = "public_link.updated"
PUBLIC_LINK_DEACTIVATED = "public_link.deactivated"
PUBLIC_LINK_REACTIVATED = "public_link.reactivated"
TRACKED_LINK_CREATED = "tracked_link.created"
TRACKED_LINK_UPDATED = "tracked_link.updated"
TRACKED_LINK_DISABLED = "tracked_link.disabled"
TRACKED_LINK_ENABLED = "tracked_link.enabled"
TRACKED_LINK_BULK_IMPORTED = "tracked_link.bulk_imported"  # one entry per imported link
API_TOKEN_CREATED = "api_token.created"
API_TOKEN_REVOKED = "api_token.revoked"
WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created"
WEBHOOK_ENDPOINT_UPDATED = "webhook_endpoint.updated"
WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint.deleted"
WEBHOOK_ENDPOINT_SECRET_ROTATED = "webhook_endpoint.secret_rotated"
WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled"  # by the system after 24 h failing
WEBHOOK_ENDPOINT_ENABLED = "webhook_endpoint.enabled"
SETTINGS_UPDATED = "settings.updated"
DELIVERY_REPROCESSED = "delivery.reprocessed"
RETENTION_PURGED = "retention.purged"
INVITEE_ERASED = "invitee.erased"
SAVED_VIEW_SAVED = "saved_view.saved"  # created, or saved again under the same name
SAVED_VIEW_DELETED = "saved_view.deleted"
TEST_REQUEST_DELETED = "scheduling_request.test_deleted"  # a settings-page sample, by an admin

ACTIONS = (
    SIGN_IN,
    SIGN_IN_FAILED,
    USER_CREATED,
    USER_ROLE_CHANGED,
    USER_DEACTIVATED,
    USER_REACTIVATED,
    USER_PASSWORD_RESET,
    USER_PASSWORD_CHANGED,
    USER_SIGN_IN_PAUSE_CLEARED,
    PUBLIC_LINK_CREATED,
    PUBLIC_LINK_UPDATED,
    PUBLIC_LINK_DEACTIVATED,
    PUBLIC_LINK_REACTIVATED,
    TRACKED_LINK_CREATED,
    TRACKED_LINK_UPDATED,
    TRACKED_LINK_DISABLED,
    TRACKED_LINK_ENABLED,
    TRACKED_LINK_BULK_IMPORTED,
    API_TOKEN_CREATED,
    API_TOKEN_REVOKED,
    WEBHOOK_ENDPOINT_CREATED,
    WEBHOOK_ENDPOINT_UPDATED,
    WEBHOOK_ENDPOINT_DELETED,
    WEBHOOK_ENDPOINT_SECRET_ROTATED,
    WEBHOOK_ENDPOINT_DISABLED,
    WEBHOOK_ENDPOINT_ENABLED,
    SETTINGS_UPDATED,
    DELIVERY_REPROCESSED,
    RETENTION_PURGED,
    INVITEE_ERASED,
    SAVED_VIEW_SAVED,
    SAVED_VIEW_DELETED,
    TEST_REQUEST_DELETED,
)

TARGET_USER = "user"
TARGET_PUBLIC_LINK = "public_link"
TARGET_TRACKED_LINK = "tracked_link"
TARGET_API_TOKEN = "api_token"
TARGET_WEBHOOK_ENDPOINT = "webhook_endpoint"
TARGET_DELIVERY = "delivery"
TARGET_SETTINGS = "settings"
TARGET_INVITEE = "invitee"
TARGET_SAVED_VIEW = "saved_view"
TARGET_SCHEDULING_REQUEST = "scheduling_request"

TARGET_TYPES = (
    TARGET_USER,
    TARGET_PUBLIC_LINK,
    TARGET_TRACKED_LINK,
    TARGET_API_TOKEN,
    TARGET_WEBHOOK_ENDPOINT,
    TARGET_DELIVERY,
    TARGET_SETTINGS,
    TARGET_INVITEE,
    TARGET_SAVED_VIEW,
    TARGET_SCHEDULING_REQUEST,
)


def action_groups() -> list[str]:
    """The target types that have actions, in the order ACTIONS lists them ("user", ...)."""
    groups: list[str] = []
    for action in ACTIONS:
        group = action.partition(".")[0]
        if group not in groups:
            groups.append(group)
    return groups
