"""The SVG QR code, drawn by Chromium and decoded by zxing-cpp: what a printer or a slide
shows is the short URL."""

from __future__ import annotations

import base64
import io

import zxingcpp
from PIL import Image

from tests.support import factories
from webapp.links.qr import qr_svg


def test_the_svg_decodes_to_the_short_url(app, client, auth, admin, browser):
    with app.app_context():
        public = factories.make_public_link(admin.id)
        link = factories.make_tracked_link(public.id, "cand-svg", admin.id)
        link_id, slug = link.id, link.slug
    auth.login()
    svg = client.get(f"/links/{link_id}/qr.svg").data
    assert svg == qr_svg(
        f"http://localhost/l/{slug}", title=f"QR code of http://localhost/l/{slug}"
    )
    page = browser.new_page(viewport={"width": 400, "height": 400})
    try:
        source = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
        image = f'<img id="qr" src="{source}" width="300" height="300">'
        page.set_content(f'<body style="margin:0;background:#fff">{image}</body>')
        page.wait_for_function("document.getElementById('qr').complete")
        png = page.locator("#qr").screenshot()
    finally:
        page.close()
    image = Image.open(io.BytesIO(png)).convert("L")
    assert [result.text for result in zxingcpp.read_barcodes(image)] == [
        f"http://localhost/l/{slug}"
    ]
