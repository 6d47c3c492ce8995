"""A person-readable summary of a User-Agent header: "Firefox on Linux". (Pure.)

Shown beside each open session on the account page, so people can tell their sessions
apart; never used to decide anything.
"""

from __future__ import annotations

# Checked in order: Edge and Opera also say "Chrome", Chrome also says "Safari".
BROWSERS = (
    ("edg/", "Edge"),
    ("opr/", "Opera"),
    ("firefox/", "Firefox"),
    ("chrome/", "Chrome"),
    ("chromium/", "Chromium"),
    ("safari/", "Safari"),
    ("curl/", "curl"),
    ("python-requests", "Python requests"),
)
SYSTEMS = (
    ("android", "Android"),
    ("iphone", "iPhone"),
    ("ipad", "iPad"),
    ("windows", "Windows"),
    ("mac os x", "macOS"),
    ("macintosh", "macOS"),
    ("cros", "ChromeOS"),
    ("linux", "Linux"),
)
MAX_LENGTH = 100


def summarise(user_agent: str | None) -> str:
    text = (user_agent or "").lower()
    if not text.strip():
        return "Unknown browser"
    browser = next((name for needle, name in BROWSERS if needle in text), "Unknown browser")
    system = next((name for needle, name in SYSTEMS if needle in text), None)
    summary = f"{browser} on {system}" if system else browser
    return summary[:MAX_LENGTH]
