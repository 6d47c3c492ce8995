"""Tell people from bots and link previews by User-Agent. Pure.

Email scanners and chat apps open links before people do (DESIGN §5). They must not get a
claim token nor count as a click. The cost of a wrong guess differs: a bot taken for a
person inflates a count, a person taken for a bot sees an extra "Continue" page. So only
clear signs count: command-line clients (curl) and headless browsers (the browser tests)
are people.
"""

from __future__ import annotations

import re

HUMAN = "human"
BOT = "bot"
PREVIEW = "preview"
HEAD = "head"  # a HEAD request, whoever sent it

# Link-preview fetchers: chat apps, social networks, mail clients unfurling a link.
_PREVIEW = re.compile(
    r"slackbot|slack-imgproxy|twitterbot|facebookexternalhit|facebookcatalog|linkedinbot"
    r"|discordbot|telegrambot|whatsapp|skypeuripreview|microsoft office|ms-office"
    r"|outlook|microsoftpreview|bingpreview|embedly|iframely|redditbot|pinterestbot"
    r"|vkshare|google-pagerenderer|applebot|preview",
    re.IGNORECASE,
)
# Crawlers, scanners and "safe links" checkers.
_BOT = re.compile(
    r"googlebot|google-safety|google-inspectiontool|adsbot|bingbot|baiduspider|duckduckbot"
    r"|safelinks|safe links|proofpoint|mimecast|barracuda|crawler|crawling|spider|scanner"
    r"|\+https?://|bot\b|bot/",
    re.IGNORECASE,
)
# Real browsers whose device names happen to end in "bot".
_FALSE_BOTS = re.compile(r"\bcubot\b", re.IGNORECASE)


def classify_user_agent(user_agent: str | None) -> str:
    """HUMAN, BOT or PREVIEW for a User-Agent header (missing or empty: HUMAN)."""
    text = (user_agent or "").strip()
    if not text:
        return HUMAN
    if _PREVIEW.search(text):
        return PREVIEW
    if _BOT.search(_FALSE_BOTS.sub("", text)):
        return BOT
    return HUMAN


def classify_request(method: str, user_agent: str | None) -> str:
    """HEAD requests are never clicks, whoever sends them; otherwise by User-Agent."""
    if method.upper() == "HEAD":
        return HEAD
    return classify_user_agent(user_agent)
