"""Budget charts: a real PNG is drawn, its labels are in the user's language, Khmer is shaped by
raqm (the pixels of a label in the file are those of a raqm rendering, not of the basic layout
that breaks subscript consonants), and files are cached per place, year and language."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from PIL import Image, ImageFont

from bot.features import FEATURES
from common import charts
from common.khmer import is_khmer_char
from common.messages import Incoming
from content.budgets.section import Budgets
from content.loader import load_content
from content.places import gazetteer
from dialogues.budgets import charting as budget
from dialogues.core.context import DialogueContext
from dialogues.core.models import User
from dialogues.core.router import Turn
from tests.chart_helpers import assert_shaped_by_raqm

CONTENT = load_content(sections=FEATURES.sections)
BUDGETS: Budgets = CONTENT.sections[Budgets]
KOUK_KHLEANG = gazetteer().get("120809")
YEAR_2023 = BUDGETS.communes["120809"].years[2023]
KHMER_DIGITS = set("០១២៣៤៥៦៧៨៩")


def _turn(lang: str, data_dir: Path) -> Turn:
    """A turn as the engine builds it, for a user writing in `lang` (no message needed)."""
    user = User(channel="console", channel_user_id="chart-test", language=lang)
    return Turn(incoming=Incoming("console", "chart-test"), understanding=None, user=user,
                state={}, session=None,  # type: ignore[arg-type]
                ctx=DialogueContext(content=CONTENT, data_dir=data_dir),
                now=datetime.now(timezone.utc), dialogues=None)  # type: ignore[arg-type]


def _spec(lang: str, tmp_path: Path) -> charts.ChartSpec:
    assert KOUK_KHLEANG is not None
    return budget.chart_spec(_turn(lang, tmp_path), KOUK_KHLEANG, "commune", None, YEAR_2023)


def _expected_labels(lang: str) -> list[str]:
    categories = BUDGETS.categories["commune"]["spending"]
    return [categories[f.category].name(lang) for f, _ in YEAR_2023.spending_by_share()]


@pytest.mark.parametrize("lang", ["km", "en"])
def test_chart_is_a_png_with_labels_in_the_users_language(tmp_path: Path, lang: str) -> None:
    assert KOUK_KHLEANG is not None
    path = budget.chart(_turn(lang, tmp_path), KOUK_KHLEANG, "commune", None, YEAR_2023)
    assert path.parent == tmp_path / "charts" and path.suffix == ".png"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width == charts.WIDTH and image.height > 600
    spec = _spec(lang, tmp_path)
    assert [bar.label for bar in spec.bars] == _expected_labels(lang)
    drawn = [item.text for item in charts.layout(spec).texts]
    assert set(_expected_labels(lang)) <= set(drawn)  # every label is drawn, unwrapped
    assert spec.banner is not None and spec.banner in " ".join(drawn)  # wrapped at spaces
    values = " ".join(bar.value for bar in spec.bars)
    if lang == "km":
        assert all(any(map(is_khmer_char, label)) for label in _expected_labels("km"))
        assert KHMER_DIGITS & set(values) and not any(c.isascii() and c.isdigit()
                                                      for c in values)
        assert "តួលេខគំរូ" in spec.banner and "គោកឃ្លាង" in spec.title
        assert "លានរៀល" in values
    else:
        assert not any(is_khmer_char(c) for text in spec.texts() for c in text)
        assert "SAMPLE FIGURES" in spec.banner and "Kouk Khleang" in spec.title
        assert "million riel" in values


def test_every_font_the_chart_uses_shapes_with_raqm(tmp_path: Path) -> None:
    chart = charts.layout(_spec("km", tmp_path))
    for item in chart.texts:
        assert charts.font(item.size, item.bold).layout_engine == ImageFont.Layout.RAQM


def test_khmer_label_pixels_are_the_raqm_shaping(tmp_path: Path) -> None:
    """A Khmer label with subscript consonants, cropped out of the saved PNG, has the pixels
    of a raqm rendering (tests/chart_helpers.py)."""
    assert KOUK_KHLEANG is not None
    spec = _spec("km", tmp_path)
    path = charts.chart_file(spec, tmp_path / "charts", "shaping-test")
    label = BUDGETS.categories["commune"]["spending"]["roads"].name("km")
    assert "្" in label  # ផ្លូវ, ហេដ្ឋារចនាសម្ព័ន្ធ: coeng, subscript consonants
    with Image.open(path) as image:
        assert_shaped_by_raqm(image, spec, label)


def test_charts_are_cached_per_place_year_and_language(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert KOUK_KHLEANG is not None
    drawn: list[int] = []
    real_render = charts.render
    monkeypatch.setattr(charts, "render", lambda chart: drawn.append(1) or real_render(chart))
    english = budget.chart(_turn("en", tmp_path), KOUK_KHLEANG, "commune", None, YEAR_2023)
    again = budget.chart(_turn("en", tmp_path), KOUK_KHLEANG, "commune", None, YEAR_2023)
    assert again == english and len(drawn) == 1  # drawn once
    khmer = budget.chart(_turn("km", tmp_path), KOUK_KHLEANG, "commune", None, YEAR_2023)
    older = budget.chart(_turn("en", tmp_path), KOUK_KHLEANG, "commune", None,
                         BUDGETS.communes["120809"].years[2022])
    assert len({english, khmer, older}) == 3 and len(drawn) == 3
    assert "-en-" in english.name and "-km-" in khmer.name and "-2022-" in older.name
    files = sorted(p.name for p in (tmp_path / "charts").iterdir())
    assert files == sorted(p.name for p in (english, khmer, older))  # no temporary files left


def test_a_changed_chart_replaces_the_stale_file(tmp_path: Path) -> None:
    spec = charts.ChartSpec(title="Test", subtitle="a", bars=(charts.Bar("Roads", 0.5, "50%"),))
    first = charts.chart_file(spec, tmp_path, "k-en")
    corrected = charts.ChartSpec(title="Test", subtitle="a",
                                 bars=(charts.Bar("Roads", 0.6, "60%"),))
    second = charts.chart_file(corrected, tmp_path, "k-en")
    assert first != second and second.exists()
    assert first.exists()  # a message in the outbox may still point at it
    old = time.time() - charts.STALE_AFTER_SECONDS - 10
    os.utime(first, (old, old))
    assert charts.chart_file(spec, tmp_path, "k-en") == first  # asked for: kept, any age
    third = charts.chart_file(charts.ChartSpec(title="Test", subtitle="b", bars=()), tmp_path,
                              "k-en")
    assert third.exists() and second.exists()  # second is recent: kept
    assert not first.exists()  # stale for over an hour: removed when a new chart is drawn


def test_long_texts_wrap_inside_the_image(tmp_path: Path) -> None:
    long_source = "Source: " + "a very long source title " * 12
    spec = charts.ChartSpec(title="ថវិកា " * 20, subtitle="x", bars=(), footer=(long_source,))
    chart = charts.layout(spec)
    for item in chart.texts:
        width = charts.text_width(item.text, item.size, item.bold)
        assert item.x + width <= charts.WIDTH - charts.MARGIN + 1, item.text
    assert chart.texts[-1].y < chart.height
