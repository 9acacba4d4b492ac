"""Checking that a chart's Khmer was shaped: shared by the budget and the reports' charts."""

from __future__ import annotations

from PIL import Image, ImageChops, ImageDraw, ImageFont

from common import charts


def assert_shaped_by_raqm(image: Image.Image, spec: charts.ChartSpec, text: str) -> None:
    """Crop `text` (one of the chart's lines) out of the drawn `image` and compare it with the
    same text drawn alone, once with raqm (identical) and once with the basic layout
    (different: that is the broken rendering matplotlib 3.5 would give)."""
    item = next(i for i in charts.layout(spec).texts if i.text == text)
    shaped = charts.font(item.size, item.bold)
    box = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((item.x, item.y), text,
                                                            font=shaped, anchor=item.anchor)
    drawn = image.convert("RGB").crop(box)

    def alone(font: ImageFont.FreeTypeFont) -> Image.Image:
        canvas = Image.new("RGB", (charts.WIDTH, box[3] + 10), charts.BACKGROUND)
        ImageDraw.Draw(canvas).text((item.x, item.y), text, font=font, fill=item.fill,
                                    anchor=item.anchor)
        return canvas.crop(box)

    basic = ImageFont.truetype(shaped.path, item.size, layout_engine=ImageFont.Layout.BASIC)
    assert ImageChops.difference(drawn, alone(shaped)).getbbox() is None
    assert ImageChops.difference(drawn, alone(basic)).getbbox() is not None
    # raqm stacks the subscripts under their base: the shaped line is narrower than basic's
    assert shaped.getlength(text) < basic.getlength(text)
