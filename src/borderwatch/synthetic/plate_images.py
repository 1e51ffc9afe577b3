"""Rendered number-plate images for the plate reader's tests and bench: several countries and styles, with
blur, noise and a few degrees of rotation, each with the plate it shows.

Styles: EU plates with the blue band and the country's distinguishing sign (GB, D, F, E, NL, PL, I, B),
British yellow rear plates, plates without a band (US-like, white). Fonts: the DejaVu faces the system holds
(none of them is a plate typeface: FE-Schrift and Charles Wright are not free), so the reader is also judged
on images it does not hold.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = ("DejaVuSans-Bold.ttf", "DejaVuSansCondensed-Bold.ttf", "DejaVuSansMono-Bold.ttf")
_L = "ABCDEFGHJKLMNPRSTUVWXYZ"
_D = "0123456789"


@dataclass(frozen=True)
class PlateSpec:
    plate: str  # as the reader must return it: no spaces
    shown: str  # as printed, with its spaces or dashes
    country: str | None
    band: str | None
    background: tuple[int, int, int]


def _pick(rng: random.Random, pattern: str) -> str:
    return "".join(rng.choice(_L if c == "A" else _D) if c in "A9" else c for c in pattern)


# country, distinguishing sign on the band, printed pattern, background
STYLES: tuple[tuple[str | None, str | None, str, tuple[int, int, int]], ...] = (
    ("GB", "GB", "AA99 AAA", (255, 255, 255)),
    ("GB", "GB", "AA99 AAA", (255, 204, 0)),
    ("DE", "D", "A AA 9999", (255, 255, 255)),
    ("DE", "D", "AA A 999", (255, 255, 255)),
    ("FR", "F", "AA-999-AA", (255, 255, 255)),
    ("ES", "E", "9999 AAA", (255, 255, 255)),
    ("NL", "NL", "99-AAA-9", (255, 204, 0)),
    ("PL", "PL", "AA 99999", (255, 255, 255)),
    ("IT", "I", "AA 999AA", (255, 255, 255)),
    ("BE", "B", "9-AAA-999", (255, 255, 255)),
    (None, None, "9AAA999", (250, 250, 250)),
)


def random_spec(rng: random.Random, style: int | None = None) -> PlateSpec:
    country, band, pattern, background = STYLES[rng.randrange(len(STYLES)) if style is None else style]
    shown = _pick(rng, pattern)
    plate = "".join(c for c in shown if c.isalnum())
    return PlateSpec(plate=plate, shown=shown, country=country, band=band, background=background)


def _font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / name
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def render_plate(
    spec: PlateSpec, rng: random.Random, *, blur: float = 1.0, noise: float = 8.0, rotation: float = 3.0
) -> Image.Image:
    """The plate on a grey surround, rotated up to ``rotation`` degrees, blurred, with Gaussian noise."""
    width, height = 520, 112
    plate = Image.new("RGB", (width, height), spec.background)
    draw = ImageDraw.Draw(plate)
    left = 18
    if spec.band:
        draw.rectangle((0, 0, 52, height), fill=(0, 51, 153))
        draw.text((26, 80), spec.band, font=_font(FONTS[0], 24), fill=(255, 255, 255), anchor="mm")
        left = 66
    font = _font(rng.choice(FONTS), rng.randint(56, 66))
    draw.text(
        (left + (width - left) // 2 - 8, height // 2), spec.shown, font=font, fill=(10, 10, 10), anchor="mm"
    )
    draw.rectangle((0, 0, width - 1, height - 1), outline=(20, 20, 20), width=3)
    canvas = Image.new("RGB", (width + 120, height + 100), tuple(rng.randint(60, 140) for _ in range(3)))
    canvas.paste(plate, (60, 50))
    canvas = canvas.rotate(
        rng.uniform(-rotation, rotation), resample=Image.Resampling.BICUBIC, fillcolor=(90, 90, 90)
    )
    canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, blur)))
    if noise:
        import numpy as np

        pixels = np.asarray(canvas).astype(np.float32)
        pixels += np.random.default_rng(rng.randrange(2**32)).normal(0, noise, pixels.shape)
        canvas = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return canvas


def write_plates(
    folder: Path, count: int, *, seed: int = 5, blur: float = 1.0, noise: float = 8.0, rotation: float = 3.0
) -> list[tuple[Path, PlateSpec]]:
    """``count`` plates as PNG files cycling through the styles; each file with what it shows."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for n in range(count):
        spec = random_spec(rng, n % len(STYLES))
        path = folder / f"plate_{n:03d}.png"
        render_plate(spec, rng, blur=blur, noise=noise, rotation=rotation).save(path)
        written.append((path, spec))
    return written
