"""A small, fast workbook writer (XlsxWriter underneath) for every workbook we write.

The toolkit writes hundreds of workbooks per run (millions of cells). openpyxl builds
a cell object per value and serialises them one by one; XlsxWriter keeps light cell
records and writes the file in memory (or row by row, ``constant_memory``, for very
large workbooks), so writing costs a fraction. Reading stays openpyxl.

:class:`Book` and :class:`Sheet` expose only what our sheets use: typed cell writes
(text is ALWAYS text: ``= + - @``, tab and CR are never turned into formulas, URLs or
numbers), cached cell styles (:class:`Style`), merged title cells, column widths in
openpyxl's units, frozen panes and the print set-up. Rows are written top to bottom
(required in ``constant_memory`` mode). :func:`yulin_gis.io._spreadsheet.save_workbook` saves a :class:`Book` atomically.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from typing import Any, NamedTuple

__all__ = ["Book", "Sheet", "Style"]

PAPER_A4 = 9
"""Excel's paper-size code of A4."""

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd h:mm:ss"
TIME_FORMAT = "h:mm:ss"
_PX_PER_CHAR = 7  # Calibri 11: one character of column width is 7 pixels


class Style(NamedTuple):
    """One cell style (hashable; each :class:`Book` makes one XlsxWriter format per style)."""

    bold: bool = False
    size: float | None = None
    num_format: str | None = None
    align: str | None = None
    valign: str | None = None
    wrap: bool = False

    def with_format(self, num_format: str | None) -> Style:
        """The same style with another number format."""
        return self._replace(num_format=num_format)


PLAIN = Style()
DATE = Style(num_format=DATE_FORMAT)
_DEFAULT_FORMATS = {datetime: DATETIME_FORMAT, date: DATE_FORMAT, time: TIME_FORMAT}


class Book:
    """A workbook being written; save it with :func:`~yulin_gis.io.save_workbook`.

    Parameters
    ----------
    constant_memory
        Write every row to a temporary file as soon as the next one starts (rows top to
        bottom only), for very large workbooks. The default (False) keeps the cells in
        memory and builds the file there, without temporary files: about 30 % less CPU.
    """

    def __init__(self, *, constant_memory: bool = False) -> None:
        import xlsxwriter

        mode = {"constant_memory": True} if constant_memory else {"in_memory": True}
        self._wb = xlsxwriter.Workbook("", {
            **mode, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False})
        self._formats: dict[Style, Any] = {}
        self._names: set[str] = set()
        self.sheets: list[Sheet] = []

    def fmt(self, style: Style | None) -> Any:
        """The XlsxWriter format of ``style`` (None for the default style)."""
        if style is None or style == PLAIN:
            return None
        found = self._formats.get(style)
        if found is None:
            props: dict[str, Any] = {}
            if style.bold:
                props["bold"] = True
            if style.size is not None:
                props["font_size"] = style.size
            if style.num_format is not None:
                props["num_format"] = style.num_format
            if style.align is not None:
                props["align"] = style.align
            if style.valign is not None:
                props["valign"] = {"center": "vcenter"}.get(style.valign, style.valign)
            if style.wrap:
                props["text_wrap"] = True
            found = self._formats[style] = self._wb.add_format(props)
        return found

    def add_sheet(self, name: str) -> Sheet:
        """A new sheet; Excel's naming rules are met (no edge apostrophe, unique, ≤ 31)."""
        title = name.strip("'")[:31] or "Sheet"
        base, k = title, 2
        while title.lower() in self._names or title.lower() == "history":
            title = f"{base[:28]}_{k}"
            k += 1
        self._names.add(title.lower())
        sheet = Sheet(self, self._wb.add_worksheet(title))
        self.sheets.append(sheet)
        return sheet

    def save(self, path: str) -> None:
        """Write the file to ``path`` (use :func:`~yulin_gis.io.save_workbook`: atomic)."""
        from xlsxwriter.exceptions import FileCreateError

        if not self.sheets:
            self.add_sheet("Sheet")
        self._wb.filename = path
        try:
            self._wb.close()
        except FileCreateError as exc:
            raise OSError(str(exc)) from exc


class Sheet:
    """One worksheet of a :class:`Book`: 0-based rows and columns, written top to bottom."""

    def __init__(self, book: Book, ws: Any) -> None:
        self.book = book
        self.ws = ws
        self.name: str = ws.name

    def write(self, row: int, col: int, value: Any, style: Style | None = None) -> None:
        """Write one value: text as text, numbers, booleans, dates; None and "" → blank."""
        self.write_rows(row, ((value,),), (style,), col)

    def write_rows(self, first_row: int, rows: Any, styles: Any, first_col: int = 0) -> int:
        """Write the rows of ``rows`` from ``first_row`` down; returns the next free row.

        ``styles`` gives each column's style (or None). Text is written as text, even
        when it starts like a formula (a CR becomes a line break, as XML keeps it);
        None, "" and non-finite numbers are blank cells
        (written only when styled); dates and times without a number format get
        openpyxl's default one (``yyyy-mm-dd``, ``yyyy-mm-dd h:mm:ss``, ``h:mm:ss``);
        numpy scalars are unwrapped; anything else is written as its text.
        """
        fmts = [self.book.fmt(s) for s in styles]
        ws = self.ws
        put_str, put_num, blank = ws.write_string, ws.write_number, ws.write_blank
        row = first_row
        for values in rows:
            col = first_col
            for value, fmt in zip(values, fmts, strict=True):
                kind = type(value)
                if kind is str:
                    if value:
                        if "\r" in value:  # XML keeps line ends as LF (what openpyxl stored)
                            value = value.replace("\r\n", "\n").replace("\r", "\n")
                        put_str(row, col, value, fmt)
                    elif fmt is not None:
                        blank(row, col, None, fmt)
                elif kind is float or kind is int:
                    if kind is int or math.isfinite(value):
                        put_num(row, col, value, fmt)
                    elif fmt is not None:
                        blank(row, col, None, fmt)
                elif value is None:
                    if fmt is not None:
                        blank(row, col, None, fmt)
                else:
                    self._other(row, col, value, styles[col - first_col])
                col += 1
            row += 1
        return row

    def _other(self, row: int, col: int, value: Any, style: Style | None) -> None:
        ws = self.ws
        if isinstance(value, bool):
            ws.write_boolean(row, col, bool(value), self.book.fmt(style))
        elif isinstance(value, date | time):
            if style is None or style.num_format is None:
                kind = datetime if isinstance(value, datetime) else type(value)
                style = (style or PLAIN).with_format(_DEFAULT_FORMATS.get(kind, DATE_FORMAT))
            ws.write_datetime(row, col, value, self.book.fmt(style))
        elif isinstance(value, str | int | float):
            self.write(row, col, str(value) if isinstance(value, str) else
                       int(value) if isinstance(value, int) else float(value), style)
        elif hasattr(value, "item") and not isinstance(value, list | tuple | dict):
            self.write(row, col, value.item(), style)  # numpy scalar
        else:
            self.write(row, col, str(value), style)

    def merge(self, row: int, first_col: int, last_col: int, value: Any,
              style: Style | None = None) -> None:
        """Merge ``first_col..last_col`` of ``row`` and write ``value`` (text) there."""
        self.ws.merge_range(row, first_col, row, last_col, "", self.book.fmt(style))
        self.write(row, first_col, value, style)

    def width(self, col: int, width: float) -> None:
        """Column width in openpyxl's units (what ``column_dimensions[..].width`` reads back)."""
        self.ws.set_column_pixels(col, col, round(width * _PX_PER_CHAR))

    def freeze(self, row: int, col: int = 0) -> None:
        """Freeze the rows above ``row`` and the columns left of ``col``."""
        self.ws.freeze_panes(row, col)

    def print_setup(self, ncol: int, last_row: int, title_rows: int,
                    landscape: bool = True) -> None:
        """A4, fit to one page wide, rows ``1..title_rows`` repeated, print area ``A1:…``.

        ``ncol`` and ``last_row`` are 1-based (the last column and row printed).
        """
        ws = self.ws
        ws.set_paper(PAPER_A4)
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0, title_rows - 1)
        ws.print_area(0, 0, max(last_row, 1) - 1, max(ncol, 1) - 1)
