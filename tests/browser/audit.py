"""In-page checks for structure, labels and layout, run in Chromium on the rendered page.

Each check returns a list of problems (empty when the page is fine), written so that a
failing assertion says what is wrong and where.
"""

from __future__ import annotations

from typing import Any

# Structure: a title, exactly one h1, one main landmark; every form field labelled; every
# id that aria-labelledby / aria-describedby / label[for] points at exists and ids are unique.
STRUCTURE_JS = r"""
() => {
  const problems = [];
  const describe = (el) => el.tagName.toLowerCase()
    + (el.id ? "#" + el.id : "") + (el.name ? `[name=${el.name}]` : "")
    + (el.type ? `[type=${el.type}]` : "");
  const textOf = (el) => {
    const copy = el.cloneNode(true);
    copy.querySelectorAll("input, select, textarea, [aria-hidden=true]").forEach((n) => n.remove());
    return copy.textContent.replace(/\s+/g, " ").trim();
  };
  if (!document.title.trim()) problems.push("the <title> is empty");
  const h1s = document.querySelectorAll("h1");
  if (h1s.length !== 1) problems.push(`${h1s.length} <h1> elements, expected exactly one`);
  else if (!textOf(h1s[0])) problems.push("the <h1> is empty");
  const mains = document.querySelectorAll("main, [role=main]");
  if (mains.length !== 1) problems.push(`${mains.length} main landmarks, expected exactly one`);
  if (!document.documentElement.lang) problems.push("<html> has no lang");

  const ids = new Map();
  for (const el of document.querySelectorAll("[id]")) ids.set(el.id, (ids.get(el.id) || 0) + 1);
  for (const [id, count] of ids) if (count > 1) problems.push(`id "${id}" is used ${count} times`);
  for (const el of document.querySelectorAll("[aria-labelledby], [aria-describedby]")) {
    for (const attr of ["aria-labelledby", "aria-describedby"]) {
      for (const ref of (el.getAttribute(attr) || "").split(/\s+/).filter(Boolean)) {
        if (!document.getElementById(ref)) {
          problems.push(`${describe(el)} ${attr} points at missing #${ref}`);
        }
      }
    }
  }
  for (const label of document.querySelectorAll("label[for]")) {
    if (!document.getElementById(label.htmlFor)) {
      problems.push(`label for="${label.htmlFor}" has no field`);
    }
  }

  const skip = new Set(["hidden", "submit", "button", "reset", "image"]);
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.tagName === "INPUT" && skip.has(el.type)) continue;
    const aria = (el.getAttribute("aria-label") || "").trim();
    const labelledby = (el.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean)
      .map((id) => document.getElementById(id)).filter(Boolean).map(textOf).join(" ").trim();
    const labels = [...(el.labels || [])].map(textOf).filter(Boolean);
    if (!aria && !labelledby && labels.length === 0) problems.push(`${describe(el)} has no label`);
  }
  return problems;
}
"""

# Layout at the current viewport: the page body never scrolls sideways and nothing sticks
# out of the viewport or is clipped by an ancestor. Content inside a scroll container (a
# table in .table-wrap, a raw payload) may be wider: it scrolls there, on purpose.
LAYOUT_JS = r"""
() => {
  const problems = [];
  const width = window.innerWidth;
  const root = document.documentElement;
  if (root.scrollWidth > width + 1) {
    problems.push(`the page scrolls sideways: scrollWidth ${root.scrollWidth} > viewport ${width}`);
  }
  const describe = (el) => {
    let text = el.tagName.toLowerCase();
    if (el.id) text += "#" + el.id;
    if (el.classList.length) text += "." + [...el.classList].join(".");
    return text;
  };
  const path = (el) => {
    const parts = [];
    for (let n = el; n && n !== document.body && parts.length < 4; n = n.parentElement) {
      parts.unshift(describe(n));
    }
    return parts.join(" > ");
  };
  // The nearest ancestor that scrolls (fine) or clips (not fine) horizontally.
  const container = (el) => {
    for (let n = el.parentElement; n && n !== document.body && n !== root; n = n.parentElement) {
      const overflow = getComputedStyle(n).overflowX;
      if (overflow !== "visible") {
        return { node: n, scrolls: overflow === "auto" || overflow === "scroll" };
      }
    }
    return null;
  };
  // Off screen on purpose, or cut short on purpose (a long value whose whole text is in its
  // tooltip: truncation_problems checks that it is).
  const onPurpose = ".visually-hidden, .skip-link, [hidden], .truncate[title]";
  // Hidden the visually-hidden way by a style rule (clipped to nothing), not by a class.
  const clipped = new Set([...document.body.querySelectorAll("*")].filter((n) => {
    const style = getComputedStyle(n);
    return style.clip === "rect(0px, 0px, 0px, 0px)" && style.position === "absolute";
  }));
  const offscreenOnPurpose = (el) => {
    if (el.closest(onPurpose)) return true;
    for (let n = el; n && n !== document.body; n = n.parentElement) if (clipped.has(n)) return true;
    return false;
  };
  const check = (rect, owner, what) => {
    if (rect.width < 1 || rect.height < 1) return;
    const box = container(owner);
    if (box && box.scrolls) return;
    const limit = box ? box.node.getBoundingClientRect() : { left: 0, right: width };
    if (rect.right > limit.right + 1 || rect.left < limit.left - 1) {
      problems.push(`${what} at ${Math.round(rect.left)}..${Math.round(rect.right)} px is cut off `
        + `(visible ${Math.round(limit.left)}..${Math.round(limit.right)}): ${path(owner)}`);
    }
  };
  for (const el of document.body.querySelectorAll("*")) {
    if (offscreenOnPurpose(el) || getComputedStyle(el).visibility === "hidden") continue;
    check(el.getBoundingClientRect(), el, "element");
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const owner = node.parentElement;
    if (!node.textContent.trim() || !owner || offscreenOnPurpose(owner)) continue;
    range.selectNodeContents(node);
    check(range.getBoundingClientRect(), owner, `text "${node.textContent.trim().slice(0, 40)}"`);
  }
  return problems.slice(0, 15);
}
"""

# Nothing is wider than its box: the main column, every list (a table or its cards), every
# card and every form fit inside themselves (scrollWidth <= clientWidth + 1) at this width.
FIT_JS = r"""
() => {
  const problems = [];
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.classList.length ? "." + [...el.classList].join(".") : "");
  const boxes = document.querySelectorAll("main, .table-wrap, table, form, .card, .invitee-card");
  for (const el of boxes) {
    if (el.closest("[hidden]") || el.clientWidth === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${describe(el)} is ${el.scrollWidth} px wide inside ${el.clientWidth} px`);
    }
  }
  return problems.slice(0, 15);
}
"""

# A value cut short with an ellipsis must carry its whole text in a tooltip (title).
TRUNCATION_JS = r"""
() => {
  const problems = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest("[hidden]") || el.clientWidth === 0) continue;
    const style = getComputedStyle(el);
    if (style.textOverflow !== "ellipsis" || el.scrollWidth <= el.clientWidth + 1) continue;
    const text = el.textContent.replace(/\s+/g, " ").trim();
    const title = (el.getAttribute("title") || "").replace(/\s+/g, " ").trim();
    if (title !== text) {
      problems.push(`"${text.slice(0, 40)}" is cut short without its text in a title`);
    }
  }
  return problems.slice(0, 15);
}
"""

# Set before any page script runs: CSP violations reported by the browser itself.
CSP_LISTENER_JS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || location.pathname}:${event.lineNumber}`);
});
"""


class ConsoleWatch:
    """Console errors and uncaught exceptions of a page, from the moment it is attached."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.add_init_script(CSP_LISTENER_JS)
        self.page = page

    def _console(self, message: Any) -> None:
        if message.type == "error":
            location = message.location.get("url", "") if message.location else ""
            self.errors.append(f"console error: {message.text} ({location})")

    def problems(self) -> list[str]:
        violations = self.page.evaluate("window.__cspViolations || []")
        return [*self.errors, *(f"CSP violation: {v}" for v in violations)]


def structure_problems(page: Any) -> list[str]:
    return page.evaluate(STRUCTURE_JS)


def layout_problems(page: Any) -> list[str]:
    """Sideways scroll, clipped elements or text, boxes wider than themselves, and values cut
    short without a tooltip, at the page's current width."""
    return page.evaluate(LAYOUT_JS) + page.evaluate(FIT_JS) + page.evaluate(TRUNCATION_JS)


def axe_problems(page: Any) -> list[str]:
    """axe-core's serious and critical violations (axe-playwright-python bundles axe-core)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page).response
    found = []
    for violation in results["violations"]:
        if violation.get("impact") not in ("serious", "critical"):
            continue
        targets = ["".join(map(str, node["target"])) for node in violation["nodes"][:3]]
        found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found
