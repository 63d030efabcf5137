"""The workbook writer (XlsxWriter underneath): text stays text, formatting as officials sign."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd

from yulin_gis.io import Book, Style, save_workbook
from yulin_gis.reports import write_workbook

HOSTILE = ['=HYPERLINK("http://x")', "+1", "@SUM(A1)", "-1+2", "\tcmd", "\r=1+1",
           "http://example.com", "1e5", "0123"]


def test_hostile_text_is_stored_as_text(tmp_path: Path) -> None:
    path = tmp_path / "h.xlsx"
    frame = pd.DataFrame({"小区名称": HOSTILE, "户数": range(1, len(HOSTILE) + 1)})
    write_workbook(path, {'=HYPERLINK("http://x")': frame}, {'=HYPERLINK("http://x")': "+1标题"},
                   total_rows=False)
    wb = openpyxl.load_workbook(path)
    ws = wb[wb.sheetnames[0]]
    assert ws["A1"].value == "+1标题" and ws["A1"].data_type == "s"
    col = [ws.cell(row=r, column=1) for r in range(3, 3 + len(HOSTILE))]
    stored = [h.replace("\r", "\n") for h in HOSTILE]  # XML keeps a line end as LF
    assert [c.value for c in col] == stored
    assert all(c.data_type == "s" for c in col)
    assert [ws.cell(row=r, column=2).value for r in range(3, 3 + len(HOSTILE))] == list(
        range(1, len(HOSTILE) + 1))
    with zipfile.ZipFile(path) as z:
        xml = b"".join(z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))
        assert b"<f>" not in xml and b"<f " not in xml  # no formula anywhere
        assert not [n for n in z.namelist() if "externalLink" in n or "hyperlink" in n.lower()]
    assert pd.read_excel(path, header=1)["小区名称"].tolist() == stored


def test_book_writes_every_value_type(tmp_path: Path) -> None:
    import numpy as np

    book = Book()
    sheet = book.add_sheet("'值'")  # Excel forbids an apostrophe at either end
    values = ["文本", "", None, 3, 2.5, float("nan"), True, date(2024, 3, 1),
              datetime(2024, 3, 1, 8, 30), np.int64(7), np.float64(1.25), pd.Timestamp("2024-05-06")]
    sheet.write_rows(0, [values], [None] * len(values))
    save_workbook(book, tmp_path / "v.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "v.xlsx")["值"]
    got = [c.value for c in ws[1]] + [None] * (len(values) - ws.max_column)
    assert got == ["文本", None, None, 3, 2.5, None, True, datetime(2024, 3, 1),
                   datetime(2024, 3, 1, 8, 30), 7, 1.25, datetime(2024, 5, 6)]
    assert ws["H1"].number_format == "yyyy-mm-dd"
    assert ws["I1"].number_format == "yyyy-mm-dd h:mm:ss"


def test_sheet_formatting_read_back(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    frame = pd.DataFrame({"县（市、区）": ["甲县", "乙县"], "户数": [10, 20],
                          "总投资(元)": [12345.0, 20000.0],
                          "计划开工": [date(2024, 3, 1), None]})
    write_workbook(path, {"计划": frame}, {"计划": "测试计划表"}, notes=["说明一", "=说明二"])
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["计划", "编制说明"]
    ws = wb["计划"]
    assert [str(r) for r in ws.merged_cells.ranges] == ["A1:C1"]
    assert ws["A1"].value == "测试计划表" and ws["A1"].font.b and ws["A1"].font.sz == 14
    assert ws["D1"].value == "单位：万元、户" and ws["D1"].alignment.horizontal == "right"
    assert ws["D1"].alignment.vertical in (None, "bottom")  # bottom: Excel's default
    head = ws[2]
    assert [c.value for c in head] == ["县（市、区）", "户数", "总投资(万元)", "计划开工"]
    assert all(c.font.b and c.alignment.horizontal == "center" and c.alignment.wrap_text
               and c.alignment.vertical == "center" for c in head)
    assert [c.value for c in ws[3]] == ["甲县", 10, 1.23, datetime(2024, 3, 1)]
    assert ws["C3"].number_format == "#,##0.00" and ws["D3"].number_format == "yyyy-mm-dd"
    assert ws["D4"].value is None and ws["D4"].number_format == "yyyy-mm-dd"
    total = ws[5]
    assert [c.value for c in total] == ["合计", 30, 3.23, None]
    assert total[0].font.b and total[2].number_format == "#,##0.00"
    assert ws.max_row == 5
    assert {k: d.width for k, d in ws.column_dimensions.items()} == {
        "A": 14, "B": 8, "C": 16, "D": 12}
    assert ws.freeze_panes == "A3"
    ps = ws.page_setup
    assert (str(ps.paperSize), ps.orientation, ps.fitToWidth or 1, ps.fitToHeight) == (  # 1: default
        "9", "landscape", 1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$2"
    assert ws.print_area == "'计划'!$A$1:$D$5"
    notes = wb["编制说明"]
    col = [c.value for c in notes["A"]]
    assert col == ["编制说明", "1. 说明一", "2. =说明二", None, "填报单位：", "填报人：",
                   "联系电话：", "填报日期："]
    assert notes["A3"].data_type == "s" and notes["A2"].alignment.wrap_text
    assert notes["A1"].font.b and notes["A1"].font.sz == 14
    assert notes.column_dimensions["A"].width == 100
    assert notes.print_area == "'编制说明'!$A$1:$A$9"


def test_styles_are_shared_per_book(tmp_path: Path) -> None:
    book = Book()
    sheet = book.add_sheet("a")
    bold = Style(bold=True)
    sheet.write_rows(0, [["x", "y"]] * 50, [bold, bold.with_format("0.00")])
    assert book.fmt(bold) is book.fmt(Style(bold=True))
    assert book.fmt(None) is None
    save_workbook(book, tmp_path / "s.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "s.xlsx")["a"]
    assert ws["A50"].font.b and ws["B50"].number_format == "0.00"
