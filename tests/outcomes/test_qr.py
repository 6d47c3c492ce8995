"""QR codes of tracked links: decoded by an independent decoder (zxing-cpp), compared with
the short URL; the SVG is decoded after Chromium draws it (tests/browser/test_qr_svg.py)."""

from __future__ import annotations

import io
import zipfile

import pytest
import zxingcpp
from PIL import Image

from tests.support import factories
from webapp.links.qr import file_stem, png_zip, qr_png


def decode(png: bytes) -> list[str]:
    image = Image.open(io.BytesIO(png)).convert("L")
    return [result.text for result in zxingcpp.read_barcodes(image)]


@pytest.fixture
def link(app, admin):
    with app.app_context():
        public = factories.make_public_link(admin.id)
        made = factories.make_tracked_link(public.id, "cand-qr/ünïcode", admin.id)
        return {"id": made.id, "slug": made.slug}


def test_the_png_decodes_to_the_short_url(client, auth, link):
    auth.login()
    answer = client.get(f"/links/{link['id']}/qr.png")
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    assert answer.headers["Content-Disposition"].startswith("inline;")
    assert decode(answer.data) == [f"http://localhost/l/{link['slug']}"]


def test_the_png_scale_is_pixels_per_module(client, auth, link):
    auth.login()

    def size(scale: str) -> tuple[int, int]:
        answer = client.get(f"/links/{link['id']}/qr.png?scale={scale}")
        return Image.open(io.BytesIO(answer.data)).size

    one = size("1")
    assert one[0] == one[1] and 25 <= one[0] <= 45  # a small symbol and its quiet zone
    assert size("3") == (3 * one[0], 3 * one[0])
    assert size("40") == (40 * one[0], 40 * one[0])
    assert size("") == (8 * one[0], 8 * one[0])  # the default


@pytest.mark.parametrize("scale", ["0", "41", "-1", "x", "1e3", "²"])
def test_the_scale_is_bounded(client, auth, link, scale):
    auth.login()
    assert client.get(f"/links/{link['id']}/qr.png?scale={scale}").status_code == 400


def test_downloads_are_attachments_named_after_the_link(client, auth, link):
    auth.login()
    png = client.get(f"/links/{link['id']}/qr.png?download=1")
    svg = client.get(f"/links/{link['id']}/qr.svg?download=1")
    assert png.headers["Content-Disposition"] == 'attachment; filename="cand-qr_n_code-qr.png"'
    assert svg.headers["Content-Disposition"] == 'attachment; filename="cand-qr_n_code-qr.svg"'
    assert svg.mimetype == "image/svg+xml" and svg.data.startswith(b"<?xml")


def test_the_page_shows_the_code_with_download_buttons(client, auth, link):
    auth.login()
    html = client.get(f"/links/{link['id']}").get_data(as_text=True)
    assert f'<img src="/links/{link["id"]}/qr.svg" alt="QR code of http://localhost/l/' in html
    assert f'href="/links/{link["id"]}/qr.png?download=1"' in html
    assert f'href="/links/{link["id"]}/qr.svg?download=1"' in html


def test_signed_out_visitors_get_no_code(client, link):
    assert client.get(f"/links/{link['id']}/qr.png").status_code == 302
    assert client.get("/links/999999/qr.svg").status_code == 302


def test_an_unknown_link_has_no_code(client, auth, link):
    auth.login()
    assert client.get("/links/999999/qr.png").status_code == 404


def test_the_zip_has_one_decodable_png_per_link():
    codes = [
        ("cand-1", "https://x.example/l/a"),
        ("cand/1", "https://x.example/l/b"),
        ("cand-1", "https://x.example/l/c"),
    ]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(png_zip(codes))))
    assert archive.namelist() == ["cand-1.png", "cand_1.png", "cand-1-2.png"]
    assert [decode(archive.read(name)) for name in archive.namelist()] == [
        ["https://x.example/l/a"],
        ["https://x.example/l/b"],
        ["https://x.example/l/c"],
    ]


def test_a_bulk_upload_offers_the_zip(app, client, auth, admin):
    with app.app_context():
        public = factories.make_public_link(admin.id)
    auth.login()
    content = "correlation_id,label\r\nbulk-1,One\r\nbulk-2,Two\r\n"
    answer = client.post(
        "/links/bulk",
        data={
            "public_link_id": str(public.id),
            "file": (io.BytesIO(content.encode()), "links.csv"),
        },
        content_type="multipart/form-data",
    )
    result = client.get(answer.headers["Location"]).get_data(as_text=True)
    batch = answer.headers["Location"].rsplit("/", 1)[-1]
    assert f'href="/links/bulk/{batch}/qr.zip"' in result and "QR codes (ZIP of PNGs)" in result
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/links/bulk/{batch}/qr.zip").data))
    assert sorted(archive.namelist()) == ["bulk-1.png", "bulk-2.png"]
    assert decode(archive.read("bulk-1.png"))[0].startswith("http://localhost/l/")


def test_file_names_are_safe():
    assert file_stem("../../etc/passwd") == "etc_passwd"
    assert file_stem("..") == "link"
    assert decode(qr_png("https://x.example/l/zz", 2)) == ["https://x.example/l/zz"]
