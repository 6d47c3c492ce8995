"""The page checks themselves can fail: a page with every defect they look for."""

from __future__ import annotations

from typing import Any

from tests.browser.audit import ConsoleWatch, axe_problems, layout_problems, structure_problems

BROKEN_PAGE = """<!doctype html><html><head><title> </title></head><body>
<h1>One</h1><h1>Two</h1>
<form><input type="text" name="nameless"><label for="ghost">Ghost</label>
<select aria-describedby="nowhere"><option>x</option></select></form>
<p style="color: red">inline style, refused by the CSP</p>
<div id="wide" class="wide">a box wider than a phone</div>
<div class="table-wrap"><div class="wide">scrolls in its wrapper: fine</div></div>
<div class="card clipped"><div class="wide">inside a card</div></div>
<p class="cut">a value cut short with no tooltip to read it whole</p>
<p class="cut truncate" title="cut short with its tooltip">cut short with its tooltip</p>
<img src="/x.png">
<script>document.title = "inline script, refused";</script>
</body></html>"""
BROKEN_CSS = """.wide { width: 900px; } .table-wrap { overflow-x: auto; }
.clipped { overflow: hidden; width: 200px; }
.cut { width: 80px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }"""


def test_the_checks_catch_what_they_look_for(page: Any) -> None:
    """Served with the app's kind of CSP, at a phone's width."""
    headers = {"Content-Security-Policy": "default-src 'self'", "Content-Type": "text/html"}

    def serve(route: Any) -> None:
        if route.request.url.endswith(".css"):
            route.fulfill(body=BROKEN_CSS, headers={"Content-Type": "text/css"})
        elif route.request.url.endswith(".png"):
            route.fulfill(status=404, body="")
        else:
            body = BROKEN_PAGE.replace("</head>", '<link rel="stylesheet" href="/a.css"></head>')
            route.fulfill(body=body, headers=headers)

    page.route("http://audit.invalid/**", serve)
    watch = ConsoleWatch(page)
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto("http://audit.invalid/")

    structure = "\n".join(structure_problems(page))
    assert "<title> is empty" in structure
    assert "2 <h1> elements" in structure
    assert "0 main landmarks" in structure
    assert "input[name=nameless][type=text] has no label" in structure
    assert 'label for="ghost" has no field' in structure
    assert "points at missing #nowhere" in structure

    layout = "\n".join(layout_problems(page))
    assert "scrolls sideways" in layout, layout
    assert "div#wide.wide" in layout, layout
    assert "scrolls in its wrapper" not in layout, layout
    assert "div.card.clipped is 900 px wide inside 200 px" in layout, layout
    assert '"a value cut short with no tooltip' in layout, layout
    assert "with its tooltip" not in layout, layout

    axe = "\n".join(axe_problems(page))
    assert "image-alt (critical)" in axe, axe
    assert "label (critical)" in axe, axe

    console = "\n".join(watch.problems())
    assert "CSP violation: style-src-attr" in console, console
    assert "CSP violation: script-src-elem" in console, console
