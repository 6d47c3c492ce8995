"""Bulk CSV: every row validated first, nothing created on any error, all in one go otherwise."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from tests.support import factories
from tests.test_public_links import sign_in_session
from webapp.extensions import db
from webapp.links.csv_io import CsvFileError, csv_text, neutralise, read_bulk_csv
from webapp.models import TrackedLink

HEADER = "correlation_id,label,utm_source,utm_medium,utm_campaign,utm_term,utm_content"


@pytest.fixture
def staff_session(app, client, staff):
    return sign_in_session(app, client, staff.id)


@pytest.fixture
def public_link(app, staff):
    with app.app_context():
        return factories.make_public_link(owner_id=staff.id).id


def upload(client, public_link_id, content, filename="links.csv"):
    raw = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(
        "/links/bulk",
        data={"public_link_id": str(public_link_id), "file": (io.BytesIO(raw), filename)},
        content_type="multipart/form-data",
    )


def count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(TrackedLink)).scalar_one()


def test_page_explains_the_format(staff_session, public_link):
    page = staff_session.get("/links/bulk").get_data(as_text=True)
    assert HEADER in page and 'enctype="multipart/form-data"' in page and "Interviews" in page


def test_good_file_creates_all_and_returns_the_csv_with_urls(
    app, staff_session, public_link, staff
):
    content = (
        "\ufeff" + HEADER + "\r\n"
        "cand-1,Ada Lovelace,newsletter,email,spring,,\r\n"
        ",Blank gets generated,,,,,\r\n"
        "\r\n"
        '"cand 3, quoted",Grace,,,,,\r\n'
    )
    response = upload(staff_session, public_link, content)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["label"] for row in rows] == ["Ada Lovelace", "Blank gets generated", "Grace"]
    assert rows[0]["correlation_id"] == "cand-1" and rows[2]["correlation_id"] == "cand 3, quoted"
    assert rows[1]["correlation_id"]  # generated and returned
    assert rows[0]["utm_source"] == "newsletter"
    with app.app_context():
        links = {
            link.correlation_id: link for link in db.session.execute(select(TrackedLink)).scalars()
        }
        assert set(links) == {row["correlation_id"] for row in rows}
        for row in rows:
            link = links[row["correlation_id"]]
            assert row["url"] == f"http://localhost/l/{link.slug}"
            assert link.public_link_id == public_link and link.created_by_id == staff.id
        assert links["cand-1"].utm_campaign == "spring" and links["cand-1"].utm_term is None


def test_only_correlation_id_column_is_required(app, staff_session, public_link):
    response = upload(staff_session, public_link, "correlation_id\na\nb\n")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["correlation_id", "url"] and len(rows) == 3
    assert count(app) == 2


def test_bad_rows_create_nothing_and_each_is_explained(app, staff_session, public_link):
    with app.app_context():
        factories.make_tracked_link(public_link, "already-there")
    content = (
        HEADER + "\n"
        "ok-1,Fine,,,,,\n"
        "already-there,In the database,,,,,\n"
        "twice,First,,,,,\n"
        "twice,Second,,,,,\n" + "x" * 129 + ",Too long,,,,,\n"
        "ok-2,Bad utm," + "u" * 129 + ",,,,\n"
        "ok-3,Too,few\n"
        '"tab\there",Control,,,,,\n'
        "<b>html</b>,<script>alert(1)</script>,,,,,x\n"
    )
    response = upload(staff_session, public_link, content)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Nothing was created" in text
    body = text.split("Rows to fix")[1]
    rows = {
        int(chunk.split("<td>")[1].split("</td>")[0]): chunk
        for chunk in body.split("<tr>")[2:]  # skip the header row
    }
    assert set(rows) == {3, 5, 6, 7, 8, 9}
    assert "already uses it" in rows[3]
    assert "repeats line 4" in rows[5]
    assert "at most 128" in rows[6]
    assert "utm_source" in rows[7] and "at most 128" in rows[7]
    assert "has 3 cells but the header has 7" in rows[8]
    assert "control" in rows[9]
    assert "<script>alert(1)</script>" not in text and "<b>html</b>" not in text
    assert count(app) == 1  # only the pre-existing link


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ("correlation_id,label,colour\na,b,c\n", "Unknown column(s): &#39;colour&#39;"),
        ("label,utm_source\na,b\n", "no correlation_id column"),
        ("correlation_id,correlation_id\na,b\n", "more than once"),
        ("", "empty"),
        (HEADER + "\n", "no rows"),
        ("correlation_id\n" + "\n".join(f"id-{n}" for n in range(5001)) + "\n", "more than 5000"),
        ("correlation_id,label\ncafé,ok\n".encode("latin-1"), "not UTF-8"),
        (b"\x00\x01correlation_id\n", "NUL"),
    ],
)
def test_file_level_errors(app, staff_session, public_link, content, phrase):
    response = upload(staff_session, public_link, content)
    assert response.status_code == 422
    assert phrase in response.get_data(as_text=True)
    assert count(app) == 0


def test_form_errors(app, staff_session, public_link):
    response = staff_session.post(
        "/links/bulk", data={"public_link_id": ""}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "choose a Public Link" in text and "choose a CSV file" in text
    with app.app_context():
        inactive = factories.make_public_link(name="Old", active=False).id
    response = upload(staff_session, inactive, "correlation_id\na\n")
    assert response.status_code == 422 and "deactivated" in response.get_data(as_text=True)
    assert count(app) == 0


def test_5000_rows_are_accepted(app, staff_session, public_link):
    content = "correlation_id\n" + "\n".join(f"id-{n}" for n in range(5000)) + "\n"
    response = upload(staff_session, public_link, content)
    assert response.status_code == 200
    assert count(app) == 5000


def test_reader_and_writer_units():
    header, rows = read_bulk_csv(b"\xef\xbb\xbfCorrelation_ID , Label\r\n a , b \r\n")
    assert header == ["correlation_id", "label"]
    assert rows[0].values == {"correlation_id": " a ", "label": " b "} and rows[0].line == 2
    with pytest.raises(CsvFileError):
        read_bulk_csv(b"url\nx\n")
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(cell) == "'" + cell
    assert neutralise("plain") == "plain" and neutralise(None) == "" and neutralise(5) == "5"
    assert csv_text(["a", "b"], [["=x", 'q"uote']]) == 'a,b\r\n\'=x,"q""uote"\r\n'
