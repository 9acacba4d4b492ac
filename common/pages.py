"""Printable A4 pages (posters, the JAAP for the meeting's wall) drawn with Pillow, so that
Khmer is shaped (raqm, Noto Sans Khmer: see common/charts.py), and saved as PNG and PDF.

A page is a picture: the PDF holds one image per page at `DPI`, which prints sharply on an
office printer and needs no PDF library that would have to shape Khmer itself. Like the charts,
a page knows no language: callers pass translated strings. `Sheet` lays them out top to bottom
(paragraphs wrapped at spaces, images, tables whose header repeats on each new page) and starts
a new page when one is full.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from common.charts import font, line_height, wrap

DPI = 150  # 1240 x 1754 pixels for A4: sharp enough for text and QR codes, small files
A4_MM = (210.0, 297.0)
INK = "#1f2933"
MUTED = "#52606d"
RULE = "#cbd2d9"
PAPER = "#ffffff"


def mm(value: float, dpi: int = DPI) -> int:
    """Millimetres on paper as pixels."""
    return round(value / 25.4 * dpi)


def pt(size: float, dpi: int = DPI) -> int:
    """A type size in points as pixels (what the font is asked for)."""
    return max(8, round(size * dpi / 72))


@dataclass(frozen=True)
class Column:
    header: str
    share: float  # of the table's width


class Sheet:
    """Pages filled from top to bottom; `y` is where the next thing goes."""

    def __init__(self, *, margin_mm: float = 14.0, dpi: int = DPI,
                 landscape: bool = False) -> None:
        self.dpi = dpi
        self.width, self.height = mm(A4_MM[0], dpi), mm(A4_MM[1], dpi)
        if landscape:
            self.width, self.height = self.height, self.width
        self.margin = mm(margin_mm, dpi)
        self.pages: list[Image.Image] = []
        self.draw: ImageDraw.ImageDraw
        self.y = 0
        self.new_page()

    @property
    def inner(self) -> int:
        return self.width - 2 * self.margin

    @property
    def bottom(self) -> int:
        return self.height - self.margin

    def new_page(self) -> None:
        page = Image.new("RGB", (self.width, self.height), PAPER)
        self.pages.append(page)
        self.draw = ImageDraw.Draw(page)
        self.y = self.margin

    def room(self, height: int) -> None:
        """Start a new page unless `height` pixels still fit on this one."""
        if self.y + height > self.bottom and self.y > self.margin:
            self.new_page()

    def gap(self, millimetres: float) -> None:
        self.y += mm(millimetres, self.dpi)

    def band(self, height_mm: float, fill: str) -> tuple[int, int]:
        """A coloured strip across the page from `y`; returns its top and bottom."""
        top, bottom = self.y, self.y + mm(height_mm, self.dpi)
        self.draw.rectangle((0, top, self.width, bottom), fill=fill)
        return top, bottom

    def paragraph(self, text: str, size: float, *, bold: bool = False, fill: str = INK,
                  align: str = "left", x: int | None = None, width: int | None = None) -> None:
        """`text` wrapped at spaces to `width` (default: between the margins)."""
        left = self.margin if x is None else x
        span = self.inner if width is None else width
        pixels = pt(size, self.dpi)
        for line in wrap(text, pixels, span, bold):
            self.room(line_height(pixels))
            face = font(pixels, bold)
            if align == "center":
                self.draw.text((left + span // 2, self.y), line, font=face, fill=fill,
                               anchor="ma")
            else:
                self.draw.text((left, self.y), line, font=face, fill=fill, anchor="la")
            self.y += line_height(pixels)

    def images(self, pictures: Sequence[tuple[Image.Image, Sequence[str]]], *,
               caption_size: float = 13) -> None:
        """Pictures side by side, centred, each with caption lines under it."""
        if not pictures:
            return
        slot = self.inner // len(pictures)
        tallest = max(picture.height for picture, _ in pictures)
        captions = max(len(lines) for _, lines in pictures)
        self.room(tallest + captions * line_height(pt(caption_size, self.dpi)) * 2)
        top = self.y
        bottom = top
        for index, (picture, lines) in enumerate(pictures):
            left = self.margin + index * slot
            self.pages[-1].paste(picture, (left + (slot - picture.width) // 2, top))
            self.y = top + picture.height + mm(2, self.dpi)
            for number, line in enumerate(lines):
                self.paragraph(line, caption_size if number == 0 else caption_size * 0.8,
                               bold=number == 0, fill=INK if number == 0 else MUTED,
                               align="center", x=left, width=slot)
            bottom = max(bottom, self.y)
        self.y = bottom

    def table(self, columns: Sequence[Column], rows: Sequence[Sequence[str]], *,
              size: float = 10) -> None:
        """Rows with wrapped cells and rules between them; the header is drawn again at the
        top of each new page."""
        pixels = pt(size, self.dpi)
        widths = [round(self.inner * c.share) for c in columns]
        header = [c.header for c in columns]
        self._row(header, widths, pixels, bold=True)
        for row in rows:
            if self.y + self._height(list(row), widths, pixels) > self.bottom:
                self.new_page()
                self._row(header, widths, pixels, bold=True)
            self._row(list(row), widths, pixels)

    def _cells(self, cells: list[str], widths: list[int], pixels: int,
               bold: bool = False) -> list[list[str]]:
        pad = mm(1.5, self.dpi)
        return [wrap(cell, pixels, width - 2 * pad, bold)
                for cell, width in zip(cells, widths, strict=True)]

    def _height(self, cells: list[str], widths: list[int], pixels: int,
                bold: bool = False) -> int:
        lines = max(len(cell) for cell in self._cells(cells, widths, pixels, bold))
        return lines * line_height(pixels) + 2 * mm(1.5, self.dpi)

    def _row(self, cells: list[str], widths: list[int], pixels: int, *,
             bold: bool = False) -> None:
        pad = mm(1.5, self.dpi)
        height = self._height(cells, widths, pixels, bold)
        self.room(height)
        x = self.margin
        for lines, width in zip(self._cells(cells, widths, pixels, bold), widths, strict=True):
            for number, line in enumerate(lines):
                self.draw.text((x + pad, self.y + pad + number * line_height(pixels)), line,
                               font=font(pixels, bold), fill=INK, anchor="la")
            x += width
        self.y += height
        self.draw.line((self.margin, self.y, self.margin + sum(widths), self.y), fill=RULE,
                       width=max(1, mm(0.3, self.dpi)))


def _atomic(path: Path, write: object) -> None:
    """Write through a temporary file in the same folder, then rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix,
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)  # type: ignore[operator]
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_png(page: Image.Image, path: Path, dpi: int = DPI) -> None:
    _atomic(path, lambda stream: page.save(stream, format="PNG", dpi=(dpi, dpi)))


def save_pdf(pages: Sequence[Image.Image], path: Path, dpi: int = DPI) -> None:
    """All pages in one PDF, A4 at `dpi` (Pillow's PDF writer: one image per page)."""
    first, *rest = pages
    _atomic(path, lambda stream: first.save(stream, format="PDF", resolution=float(dpi),
                                            save_all=True, append_images=rest))
