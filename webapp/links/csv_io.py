"""Reading the bulk-upload CSV and writing CSV downloads. Pure: no Flask, no database.

Spreadsheets save CSV their own way: Excel adds a UTF-8 byte-order mark, ends lines with
CRLF and, where the decimal mark is a comma, separates cells with ";". All are read.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from webapp.display import plural
from webapp.models.links import UTM_KEYS

BULK_COLUMNS = ("correlation_id", "label", *UTM_KEYS)
MAX_BULK_ROWS = 5000
# A spreadsheet runs a cell starting with these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DELIMITERS = (",", ";", "\t")
BOM = "\ufeff"


class CsvFileError(ValueError):
    """The file as a whole cannot be read; str(error) says why and what to do."""


@dataclass(frozen=True)
class CsvRow:
    line: int  # line number in the file, the header being line 1
    values: dict[str, str]
    error: str | None = None  # a structural problem (wrong number of cells)


def read_bulk_csv(raw: bytes) -> tuple[list[str], list[CsvRow]]:
    """The header and every non-blank row of an uploaded bulk CSV.

    A UTF-8 byte-order mark is tolerated and the separator (",", ";" or tab) is taken from
    the header line; other encodings, unknown or repeated columns, a missing
    `correlation_id` column, no rows, or more than MAX_BULK_ROWS rows raise CsvFileError.
    Rows with the wrong number of cells come back with an `error`.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFileError(
            "The file is not UTF-8 text. In a spreadsheet, save it as 'CSV UTF-8' and try again."
        ) from exc
    if "\x00" in text:
        raise CsvFileError("The file is not a CSV text file (it contains NUL bytes).")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    try:
        header_cells = next(reader, None)
        if header_cells is None or not any(cell.strip() for cell in header_cells):
            raise CsvFileError(
                "The file is empty. Its first line must be the header, "
                f"e.g. {','.join(BULK_COLUMNS)}"
            )
        header = [cell.strip().lower() for cell in header_cells]
        _check_header(header)
        rows: list[CsvRow] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are not rows
            if len(rows) >= MAX_BULK_ROWS:
                raise CsvFileError(
                    f"The file has more than {MAX_BULK_ROWS:,} rows; split it into smaller files."
                )
            error = None
            if len(cells) != len(header):
                error = (
                    f"This row has {plural(len(cells), 'cell')} "
                    f"but the header has {plural(len(header), 'column')}."
                )
            padded = list(cells[: len(header)]) + [""] * (len(header) - len(cells))
            rows.append(CsvRow(reader.line_num, dict(zip(header, padded, strict=True)), error))
    except csv.Error as exc:
        raise CsvFileError(f"The file is not valid CSV near line {reader.line_num}: {exc}") from exc
    if not rows:
        raise CsvFileError("The file has a header but no rows.")
    return header, rows


def sniff_delimiter(text: str) -> str:
    """The separator that splits the header line into the most known column names.

    A header is a short list of known names, so this is more certain than guessing from
    character counts (csv.Sniffer): "correlation_id;label" is one unknown name when read
    with commas and two known ones with semicolons. Ties go to the comma.
    """
    first_line = text.split("\n", 1)[0].rstrip("\r")
    best, best_known = ",", -1
    for delimiter in DELIMITERS:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        known = sum(1 for cell in cells if cell.strip().lower() in BULK_COLUMNS)
        if known > best_known:
            best, best_known = delimiter, known
    return best


def _check_header(header: list[str]) -> None:
    unknown = [name for name in header if name not in BULK_COLUMNS]
    if unknown:
        raise CsvFileError(
            f"Unknown {'column' if len(unknown) == 1 else 'columns'}: "
            f"{', '.join(repr(name) for name in unknown)}. "
            f"Allowed columns: {', '.join(BULK_COLUMNS)} (only correlation_id is required)."
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        subject = "This column appears" if len(repeated) == 1 else "These columns appear"
        raise CsvFileError(f"{subject} more than once: {', '.join(repeated)}.")
    if "correlation_id" not in header:
        raise CsvFileError(
            "The header has no correlation_id column. It is required (its cells may be "
            "blank: a correlation ID is then generated)."
        )


def neutralise(value: object) -> str:
    """The cell as text, with a leading quote if a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """A CSV document line by line (for streaming), every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in itertools.chain([header], rows):
        writer.writerow([neutralise(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def csv_text(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, excel: bool = False
) -> str:
    """A whole CSV document (header + rows), every cell neutralised.

    `excel`: start with a byte-order mark, so that Excel reads the file as UTF-8.
    """
    return (BOM if excel else "") + "".join(csv_lines(header, rows))


def template_csv() -> str:
    """The file to download and fill in: the header and two example rows."""
    examples = [
        ["cand-1042", "Ada Lovelace", "careers-site", "email", "spring-hiring", "", ""],
        ["", "A correlation ID is generated for a blank cell", "", "", "", "", ""],
    ]
    return csv_text(BULK_COLUMNS, examples, excel=True)
