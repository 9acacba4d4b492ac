"""Bar charts as PNG files, drawn with Pillow so that Khmer is shaped correctly.

matplotlib 3.5 (pinned by Rasa) lays text out glyph by glyph: Khmer subscript consonants and
vowels come out broken. Pillow's wheels bundle libraqm (HarfBuzz shaping), and Noto Sans Khmer
(from the fontpkg-noto-sans-khmer package) covers Khmer and Latin, so every string is drawn with
that font and `Layout.RAQM`.

The chart knows no language: callers pass the strings (already translated, Khmer digits and all)
in a `ChartSpec`. `layout` places them, `render` draws, `chart_file` caches the PNG under the
data directory, named by a digest of what it shows: an unchanged chart is drawn once, and a
change in the figures or wording makes a new file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

CHART_VERSION = 2  # bump when the drawing changes, so cached files are redrawn
FONT_FAMILY = "Noto Sans Khmer"
STALE_AFTER_SECONDS = 3600
WIDTH = 1080
MARGIN = 56
BACKGROUND = "#ffffff"
INK = "#1f2933"
MUTED = "#52606d"
TRACK = "#e4e7eb"
BANNER_FILL = "#fff3c4"
BANNER_INK = "#8d2b0b"
# FreeType faces are not safe to use from two threads at once, and the fonts are shared (cached
# below): update workers draw one chart at a time. Charts are cached, so this rarely waits.
DRAWING = threading.Lock()
PALETTE = ("#0b7285", "#e8590c", "#5f3dc4", "#2b8a3e", "#c2255c", "#1864ab", "#846358",
           "#495057")


@dataclass(frozen=True)
class Bar:
    label: str
    share: float  # 0..1 of the whole
    value: str  # what is written at the end of the label line, e.g. "48% · 449 million riel"


@dataclass(frozen=True)
class ChartSpec:
    title: str
    subtitle: str
    bars: tuple[Bar, ...]
    banner: str | None = None  # "SAMPLE FIGURES ..." when the figures are samples
    footer: tuple[str, ...] = ()  # source lines

    def texts(self) -> list[str]:
        """Every string the chart shows, in order."""
        items = [*([self.banner] if self.banner else []), self.title, self.subtitle]
        for bar in self.bars:
            items += [bar.label, bar.value]
        return [*items, *self.footer]

    def digest(self) -> str:
        data = json.dumps([CHART_VERSION, asdict(self)], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TextItem:
    text: str
    x: int
    y: int
    size: int
    bold: bool = False
    fill: str = INK
    anchor: str = "la"  # Pillow anchors: left/right, ascender


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int
    y1: int
    fill: str
    radius: int = 0


@dataclass
class ChartLayout:
    width: int
    height: int
    texts: list[TextItem] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """Noto Sans Khmer at a size and weight, shaping with raqm (fonts are immutable: cached)."""
    import fontpkg.pil

    return fontpkg.pil.truetype(FONT_FAMILY, size, weight=700 if bold else 400,
                                layout_engine=ImageFont.Layout.RAQM)


def line_height(size: int) -> int:
    """Khmer stacks vowels above and subscripts below: lines need more room than Latin."""
    return int(size * 1.75)


def text_width(text: str, size: int, bold: bool = False) -> float:
    return float(font(size, bold).getlength(text))


def wrap(text: str, size: int, width: int, bold: bool = False) -> list[str]:
    """Greedy wrap at spaces (Khmer puts spaces between phrases, not words)."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and text_width(candidate, size, bold) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines or [""]


def fit(text: str, size: int, width: int, bold: bool = False) -> int:
    """The largest size (down to 60%) at which one unbreakable line fits the width."""
    smallest = max(10, int(size * 0.6))
    while size > smallest and text_width(text, size, bold) > width:
        size -= 1
    return size


def _paragraph(out: ChartLayout, text: str, y: int, size: int, *, bold: bool = False,
               fill: str = INK, x: int = MARGIN, width: int = WIDTH - 2 * MARGIN) -> int:
    for line in wrap(text, size, width, bold):
        line_size = fit(line, size, width, bold)
        out.texts.append(TextItem(line, x, y, line_size, bold, fill))
        y += line_height(size)
    return y


def layout(spec: ChartSpec) -> ChartLayout:
    """Where every string and box goes; heights follow the content."""
    out = ChartLayout(WIDTH, 0)
    inner = WIDTH - 2 * MARGIN
    y = MARGIN
    if spec.banner:  # first: "sample figures" is read before any figure
        lines = wrap(spec.banner, 28, inner - 48, bold=True)
        height = len(lines) * line_height(28) + 24
        out.boxes.append(Box(MARGIN, y, WIDTH - MARGIN, y + height, BANNER_FILL, radius=14))
        _paragraph(out, spec.banner, y + 12, 28, bold=True, fill=BANNER_INK, x=MARGIN + 24,
                   width=inner - 48)
        y += height + 28
    y = _paragraph(out, spec.title, y, 42, bold=True)
    y = _paragraph(out, spec.subtitle, y, 28, fill=MUTED) + 12
    for index, bar in enumerate(spec.bars):
        value_width = int(text_width(bar.value, 28, bold=True))
        label_size = fit(bar.label, 30, inner - value_width - 24)
        out.texts.append(TextItem(bar.label, MARGIN, y, label_size))
        out.texts.append(TextItem(bar.value, WIDTH - MARGIN, y + 2, 28, bold=True,
                                  anchor="ra"))
        y += line_height(30)
        out.boxes.append(Box(MARGIN, y, WIDTH - MARGIN, y + 30, TRACK, radius=8))
        filled = max(8, round(inner * max(0.0, min(1.0, bar.share))))
        out.boxes.append(Box(MARGIN, y, MARGIN + filled, y + 30,
                             PALETTE[index % len(PALETTE)], radius=8))
        y += 30 + 26
    y += 8
    for line in spec.footer:
        y = _paragraph(out, line, y, 22, fill=MUTED)
    out.height = y + MARGIN - 16
    return out


def render(chart: ChartLayout) -> Image.Image:
    image = Image.new("RGB", (chart.width, chart.height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for box in chart.boxes:
        draw.rounded_rectangle((box.x0, box.y0, box.x1, box.y1), radius=box.radius,
                               fill=box.fill)
    for item in chart.texts:
        draw.text((item.x, item.y), item.text, font=font(item.size, item.bold), fill=item.fill,
                  anchor=item.anchor)
    return image


def chart_file(spec: ChartSpec, directory: Path, key: str) -> Path:
    """The PNG for `spec`, drawn only if this exact chart is not cached yet.

    `key` names what the chart is about (scope, place, year, language); older files for the same
    key (figures since corrected) are removed once they are an hour old, so a photo still
    waiting in the outbox can be sent. Files are written whole and renamed, so a reader never
    sees half a PNG, even with several workers.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{key}-{spec.digest()}.png"
    if path.exists():
        return path
    with DRAWING:
        image = render(layout(spec))
    handle, temporary = tempfile.mkstemp(prefix=f".{key}-", suffix=".png", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            image.save(stream, format="PNG")  # optimize=True: 3x slower for 3% smaller
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    cutoff = time.time() - STALE_AFTER_SECONDS
    for stale in directory.glob(f"{key}-*.png"):
        if stale != path and len(stale.name) == len(path.name) and stale.stat().st_mtime < cutoff:
            stale.unlink(missing_ok=True)
    return path
