"""Bulk CSV: every row validated first, nothing created on any error, all in one go otherwise."""

from __future__ import annotations

import csv
import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.support import factories
from tests.support.signin import sign_in
from webapp.extensions import db
from webapp.links import bulk
from webapp.links.bulk import REPEAT_WINDOW, BulkRejected, RowError, in_words
from webapp.links.csv_io import (
    CsvFileError,
    csv_text,
    neutralise,
    read_bulk_csv,
    sniff_delimiter,
)
from webapp.models import LinkBatch, TrackedLink

HEADER = "correlation_id,label,utm_source,utm_medium,utm_campaign,utm_term,utm_content"


def upload(client, public_link_id, content, filename="links.csv", key=None):
    raw = content.encode("utf-8") if isinstance(content, str) else content
    data = {"public_link_id": str(public_link_id), "file": (io.BytesIO(raw), filename)}
    if key is not None:
        data["idempotency_key"] = key
    return client.post("/links/bulk", data=data, content_type="multipart/form-data")


def count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(TrackedLink)).scalar_one()


def batches(app) -> list[LinkBatch]:
    with app.app_context():
        return list(db.session.execute(select(LinkBatch)).scalars())


def download(client, response) -> list[dict[str, str]]:
    """Follow an upload to its result page and download the CSV it offers."""
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    result = client.get(response.headers["Location"])
    assert result.status_code == 200
    csv_url = re.search(r'href="([^"]+/links\.csv)"', result.get_data(as_text=True)).group(1)
    answer = client.get(csv_url)
    assert answer.mimetype == "text/csv" and "attachment" in answer.headers["Content-Disposition"]
    text = answer.get_data(as_text=True)
    assert text.startswith("\ufeff")  # Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_page_explains_the_format(staff_client, public_link):
    page = staff_client.get("/links/bulk").get_data(as_text=True)
    assert HEADER in page and 'enctype="multipart/form-data"' in page and "Interviews" in page
    assert 'href="/links/bulk/template.csv"' in page
    assert re.search(r'name="idempotency_key" value="[A-Za-z0-9_-]{32}"', page)


def test_good_file_creates_all_and_offers_the_csv_with_urls(app, staff_client, public_link, staff):
    content = (
        "\ufeff" + HEADER + "\r\n"
        "cand-1,Ada Lovelace,newsletter,email,spring,,\r\n"
        ",Blank gets generated,,,,,\r\n"
        "\r\n"
        '"cand 3, quoted",Grace,,,,,\r\n'
    )
    response = upload(staff_client, public_link, content)
    result = staff_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<h1>3 tracked links created</h1>" in result
    [batch] = batches(app)
    assert f'href="/links?batch={batch.id}&amp;owner=all"' in result
    rows = download(staff_client, response)
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
            assert link.batch_id == batch.id
        assert links["cand-1"].utm_campaign == "spring" and links["cand-1"].utm_term is None
    assert (batch.link_count, batch.filename, batch.created_by_id) == (3, "links.csv", staff.id)
    # The batch's own list: its links and nothing else.
    with app.app_context():
        factories.make_tracked_link(public_link, "not-in-the-batch", staff.id)
    listed = staff_client.get(f"/links?batch={batch.id}&owner=all").get_data(as_text=True)
    assert "cand-1" in listed and "not-in-the-batch" not in listed
    assert "3 tracked links created by one upload" in listed


def test_one_created_link_is_one_link_in_words(app, staff_client, public_link):
    response = upload(staff_client, public_link, "correlation_id\nsolo\n")
    result = staff_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<h1>1 tracked link created</h1>" in result and "View this link" in result


def test_the_same_upload_twice_creates_nothing_the_second_time(app, staff_client, public_link):
    key = "k" * 32
    first = upload(staff_client, public_link, "correlation_id\na\nb\n", key=key)
    again = upload(staff_client, public_link, "correlation_id\na\nb\n", key=key)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert count(app) == 2 and len(batches(app)) == 1
    page = staff_client.get(again.headers["Location"]).get_data(as_text=True)
    assert "This upload was already done: nothing new was created." in page
    # Even a different file sent with the same form's key is that same upload.
    other = upload(staff_client, public_link, "correlation_id\nc\n", key=key)
    assert other.headers["Location"] == first.headers["Location"] and count(app) == 2
    # A fresh form (a fresh key) is a new upload.
    fresh = upload(staff_client, public_link, "correlation_id\nc\n", key="f" * 32)
    assert fresh.headers["Location"] != first.headers["Location"] and count(app) == 3


def test_the_same_file_from_a_reloaded_form_is_the_same_upload(app, staff_client, public_link):
    """The back button may load the form anew (a new key): the same file for the same Public
    Link from the same person, soon after, is still the same upload."""
    content = "correlation_id,label\n,Ada (a generated ID)\n"
    first = upload(staff_client, public_link, content, key="a" * 32)
    again = upload(staff_client, public_link, content, key="b" * 32)
    assert again.headers["Location"] == first.headers["Location"]
    assert count(app) == 1 and len(batches(app)) == 1
    # Long after, the same file is a new upload (its blank ID is generated afresh).
    with app.app_context():
        batch = db.session.execute(select(LinkBatch)).scalar_one()
        batch.created_at = batch.created_at - REPEAT_WINDOW - timedelta(seconds=1)
        db.session.commit()
    later = upload(staff_client, public_link, content, key="c" * 32)
    assert later.headers["Location"] != first.headers["Location"] and count(app) == 2


def test_a_rejected_upload_keeps_its_key_for_the_corrected_file(app, staff_client, public_link):
    key = "r" * 32
    bad = upload(staff_client, public_link, "correlation_id,colour\na,b\n", key=key)
    assert bad.status_code == 422 and f'value="{key}"' in bad.get_data(as_text=True)
    good = upload(staff_client, public_link, "correlation_id\na\n", key=key)
    assert good.status_code == 303 and count(app) == 1


def test_concurrent_submissions_of_one_form_make_one_batch(app, public_link, staff):
    """A double click sends two requests at once: one creates, the other finds its batch."""

    clients = [sign_in(app.test_client(), staff.id) for _ in range(4)]
    content = "correlation_id\n" + "\n".join(f"race-{n}" for n in range(50)) + "\n"
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda client: upload(client, public_link, content, key="d" * 32), clients)
        )
    assert {answer.status_code for answer in answers} == {303}
    assert len({answer.headers["Location"] for answer in answers}) == 1
    assert len(batches(app)) == 1 and count(app) == 50


def test_a_twin_submission_that_commits_during_validation_is_the_answer(
    app, public_link, staff, monkeypatch
):
    """The race of the test above, made certain: the twin commits between this request's key
    check and its duplicate check. On PostgreSQL every row then reads as taken; on SQLite the
    request's snapshot hides the twin until its insert meets the key. Either way the twin's
    batch is the answer."""
    content = "correlation_id\nrace-a\nrace-b\n"
    real_in_use = bulk.correlation_ids_in_use
    twin: list = []

    def twin_commits_first(correlation_ids):
        if not twin:  # only in the first request; the twin itself runs the real check
            twin.append(None)
            with ThreadPoolExecutor(1) as pool:
                client = sign_in(app.test_client(), staff.id)
                twin[0] = pool.submit(upload, client, public_link, content, key="t" * 32).result()
        return real_in_use(correlation_ids)

    monkeypatch.setattr(bulk, "correlation_ids_in_use", twin_commits_first)
    answer = upload(sign_in(app.test_client(), staff.id), public_link, content, key="t" * 32)
    assert twin[0].status_code == 303, twin[0].get_data(as_text=True)[:500]
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    assert answer.headers["Location"] == twin[0].headers["Location"]
    assert len(batches(app)) == 1 and count(app) == 2


def test_excel_files_work(app, staff_client, public_link):
    """Excel where the decimal mark is a comma: a BOM, ";" between cells, CRLF line ends."""
    content = (
        "\ufeffcorrelation_id;label;utm_campaign\r\n"
        'xl-1;"Brontë; Charlotte";spring\r\n'
        "xl-2;Émilie du Châtelet;\r\n"
    )
    response = upload(staff_client, public_link, content.encode("utf-8"))
    rows = download(staff_client, response)
    assert [row["correlation_id"] for row in rows] == ["xl-1", "xl-2"]
    assert rows[0]["label"] == "Brontë; Charlotte" and rows[1]["label"] == "Émilie du Châtelet"
    assert rows[0]["utm_campaign"] == "spring"


def test_template_csv_is_a_file_the_upload_accepts(app, staff_client, public_link):
    response = staff_client.get("/links/bulk/template.csv")
    assert (
        response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    )
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf" + HEADER.encode())
    created = upload(staff_client, public_link, raw)
    assert created.status_code == 303 and count(app) == 2


def test_only_correlation_id_column_is_required(app, staff_client, public_link):
    rows = download(staff_client, upload(staff_client, public_link, "correlation_id\na\nb\n"))
    assert list(rows[0]) == ["correlation_id", "url"] and len(rows) == 2
    assert count(app) == 2


def test_bad_rows_create_nothing_and_each_is_explained(app, staff_client, public_link):
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
    response = upload(staff_client, public_link, content)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Nothing was created" in text and "6 of 9 rows need fixing" in text
    body = text.split("Rows to fix, by line of the file")[1]
    rows = {
        int(re.search(r">Line (\d+)<", chunk).group(1)): chunk
        for chunk in body.split("<tr>")[2:]  # skip the header row
    }
    assert set(rows) == {3, 5, 6, 7, 8, 9}
    # In the user's words: what is wrong, named as the form names it.
    assert "Correlation ID is already used by another tracked link." in rows[3]
    assert "Correlation ID repeats line 4 of this file." in rows[5]
    assert "Correlation ID is longer than 128 characters (it has 129)." in rows[6]
    assert "UTM source is longer than 128 characters (it has 129)." in rows[7]
    assert "This row has 3 cells but the header has 7 columns." in rows[8]
    assert "Correlation ID must not contain control" in rows[9]
    assert "utm." not in body and "correlation_id:" not in body
    assert "<script>alert(1)</script>" not in text and "<b>html</b>" not in text
    assert count(app) == 1  # only the pre-existing link


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ("correlation_id,label,colour\na,b,c\n", "Unknown column: &#39;colour&#39;"),
        (
            "correlation_id,size,colour\na,b,c\n",
            "Unknown columns: &#39;size&#39;, &#39;colour&#39;",
        ),
        ("label,utm_source\na,b\n", "no correlation_id column"),
        ("correlation_id,correlation_id\na,b\n", "This column appears more than once"),
        ("", "empty"),
        (HEADER + "\n", "no rows"),
        (
            "correlation_id\n" + "\n".join(f"id-{n}" for n in range(5001)) + "\n",
            "more than 5,000 rows",
        ),
        ("correlation_id,label\ncafé,ok\n".encode("latin-1"), "not UTF-8"),
        (b"\x00\x01correlation_id\n", "NUL"),
    ],
)
def test_file_level_errors(app, staff_client, public_link, content, phrase):
    response = upload(staff_client, public_link, content)
    assert response.status_code == 422
    assert phrase in response.get_data(as_text=True)
    assert count(app) == 0


def test_form_errors(app, staff_client, public_link):
    response = staff_client.post(
        "/links/bulk", data={"public_link_id": ""}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Choose a Public Link." in text and "Choose a CSV file to upload." in text
    with app.app_context():
        inactive = factories.make_public_link(name="Old", active=False).id
    response = upload(staff_client, inactive, "correlation_id\na\n")
    assert response.status_code == 422 and "deactivated" in response.get_data(as_text=True)
    assert count(app) == 0


def test_5000_rows_are_accepted(app, staff_client, public_link):
    content = "correlation_id\n" + "\n".join(f"id-{n}" for n in range(5000)) + "\n"
    response = upload(staff_client, public_link, content)
    assert response.status_code == 303
    assert count(app) == 5000
    page = staff_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<h1>5,000 tracked links created</h1>" in page


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


def test_separators_are_read_from_the_header():
    assert sniff_delimiter("correlation_id;label\r\na;b") == ";"
    assert sniff_delimiter("correlation_id\tlabel\na\tb") == "\t"
    assert sniff_delimiter("correlation_id,label\na;b,c") == ","
    assert sniff_delimiter("correlation_id\na;b") == ","  # one column: either reads it
    header, rows = read_bulk_csv('\ufeffcorrelation_id;label\r\n"a;1";b\r\n'.encode())
    assert header == ["correlation_id", "label"] and rows[0].values["correlation_id"] == "a;1"


def test_errors_in_the_users_words():
    assert (
        in_words("utm.utm_campaign", "must be at most 128 characters (this one has 130)")
        == "UTM campaign is longer than 128 characters (it has 130)."
    )
    assert in_words("label", "must be text") == "Label must be text."
    assert in_words("correlation_id", "must not contain control characters") == (
        "Correlation ID must not contain control characters."
    )
    _, rows = read_bulk_csv(b"correlation_id,label\na\n")
    assert rows[0].error == "This row has 1 cell but the header has 2 columns."


def test_row_counts_are_said_with_the_right_plural():
    one = BulkRejected(row_errors=[RowError(2, "a", ["x"])], row_count=1)
    assert one.summary.startswith("1 of 1 row needs fixing")
    many = BulkRejected(
        row_errors=[RowError(2, "a", ["x"]), RowError(3, "b", ["y"])], row_count=1200
    )
    assert many.summary.startswith("2 of 1,200 rows need fixing")
