"""Reading number plates from images offline: RapidOCR's PP-OCR models, then the country templates.

The engine and the image loading are the ones the travellers stage uses for documents (``core.ocr``).
Every text box is a candidate, and so are neighbouring boxes on the same line joined (a plate's groups may
come out as separate boxes), and each candidate without a leading distinguishing sign (``D``, ``GB``,
``NL``...) when one was read into it. The country is the sign on the blue EU band when one is read (the band
is found by colour and read inverted and enlarged), else a sign read as a box of its own or at the start of
the plate's box, else the one country whose format the text fits with the fewest look-alike repairs, or none
when several fit equally. A candidate's confidence is the OCR score times the repair penalty
(``plates.REPAIR_PENALTY`` per repair), halved when it fits no format; the best candidate is the read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from borderwatch.core.ocr import ImageReadError, load_image, ocr_engine
from borderwatch.vehicles.plates import TEMPLATES, PlateError, guess_country, normalise

# EU and Vienna-convention distinguishing signs on plates, and the ISO 3166 code each stands for.
SIGNS = {
    "GB": "GB",
    "UK": "GB",
    "D": "DE",
    "F": "FR",
    "E": "ES",
    "I": "IT",
    "B": "BE",
    "NL": "NL",
    "PL": "PL",
    "A": "AT",
    "CZ": "CZ",
    "RO": "RO",
    "BG": "BG",
    "UA": "UA",
    "TR": "TR",
    "SRB": "RS",
    "P": "PT",
    "CDN": "CA",
    "MEX": "MX",
    "USA": "US",
}
UNFIT_FACTOR = 0.5


@dataclass
class PlateImageRead:
    """What an image showed: the plate (no spaces; empty if none was found), its country, a confidence."""

    file: str
    plate: str
    country: str | None
    confidence: float
    text: list[str] = field(default_factory=list)
    repairs: tuple[str, ...] = ()
    error: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "plate": self.plate,
            "country": self.country,
            "confidence": round(self.confidence, 4),
        }


@dataclass(frozen=True)
class _Box:
    text: str
    score: float
    left: float
    right: float
    middle: float
    height: float


def _boxes(result: Any) -> list[_Box]:
    boxes = []
    for points, text, score in result or []:
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        boxes.append(
            _Box(str(text), float(score), min(xs), max(xs), (min(ys) + max(ys)) / 2, max(ys) - min(ys))
        )
    return sorted(boxes, key=lambda b: (round(b.middle / max(b.height, 1)), b.left))


def _sign(text: str) -> str | None:
    cleaned = "".join(c for c in text.upper() if c.isalnum())
    return SIGNS.get(cleaned)


def _candidates(boxes: list[_Box]) -> list[tuple[str, float, str | None]]:
    """(text, OCR score, the country of a sign read beside it) for single boxes and runs on one line."""
    band = next(
        (SIGNS[s] for b in boxes if (s := "".join(c for c in b.text.upper() if c.isalnum())) in SIGNS), None
    )
    found: list[tuple[str, float, str | None]] = []
    for i, box in enumerate(boxes):
        if _sign(box.text):
            continue
        text, score = box.text, box.score
        found.append((text, score, band))
        for other in boxes[i + 1 : i + 4]:
            if _sign(other.text) or abs(other.middle - box.middle) > max(box.height, other.height) / 2:
                break
            text, score = f"{text} {other.text}", min(score, other.score)
            found.append((text, score, band))
    # A sign read into the plate's own box: "D M AB 1234", "GBAB12CDE".
    extra = []
    for text, score, _ in found:
        words = text.split()
        if len(words) > 1 and words[0].upper() in SIGNS:
            extra.append((" ".join(words[1:]), score, SIGNS[words[0].upper()]))
        compact = "".join(c for c in text.upper() if c.isalnum())
        for sign, code in SIGNS.items():
            rest = compact[len(sign) :]
            if compact.startswith(sign) and len(rest) >= 4 and TEMPLATES.get(code):
                extra.append((rest, score * 0.9, code))
    return found + extra


def _judge(
    text: str, score: float, country: str | None
) -> tuple[float, str, str | None, tuple[str, ...]] | None:
    if country is None:
        fits = guess_country("".join(c for c in text.upper() if c.isalnum()))
        best = [c for c, repairs in fits if repairs == fits[0][1]] if fits else []
        country = best[0] if len(best) == 1 else None
    try:
        plate = normalise(text, country, confidence=score)
    except PlateError:
        return None
    if len(plate.plate) < 4:
        return None
    confidence = (
        plate.confidence
        if plate.fits or not TEMPLATES.get(country or "")
        else plate.confidence * UNFIT_FACTOR
    )
    if country is None and not plate.repairs:
        confidence *= 0.95 if guess_country(plate.plate) else UNFIT_FACTOR
    return confidence, plate.plate, country, plate.repairs


def band_sign(image: Any) -> str | None:
    """The country of the distinguishing sign on a blue EU band, if the image has one (white letters on blue,
    read inverted and enlarged: at plate scale the engine does not see them)."""
    import numpy as np
    from PIL import Image

    blue_, green_, red_ = (image[:, :, i].astype(np.int16) for i in range(3))
    ys, xs = np.nonzero((blue_ > 110) & (red_ < 90) & (blue_ - red_ > 60) & (blue_ - green_ > 30))
    if xs.size < 50:
        return None
    x0, x1 = (int(v) for v in np.percentile(xs, [2, 98]))
    y0, y1 = (int(v) for v in np.percentile(ys, [2, 98]))
    if x1 - x0 < 8 or y1 - y0 < 2 * (x1 - x0) * 0.8:  # a band is a tall strip, not a blue car
        return None
    crop = 255 - image[y0 : y1 + 1, x0 : x1 + 1]
    enlarged = np.asarray(
        Image.fromarray(crop).resize(((x1 - x0 + 1) * 3, (y1 - y0 + 1) * 3), Image.Resampling.BICUBIC)
    )
    engine = ocr_engine()
    found, _ = engine(np.ascontiguousarray(enlarged), use_det=True, use_cls=False, use_rec=True)
    texts = [str(text) for _, text, _ in found or []]
    if not texts:
        recognised, _ = engine.text_rec([np.ascontiguousarray(enlarged[enlarged.shape[0] // 2 :])])
        texts = [str(text) for text, _ in recognised]
    for text in texts:
        sign = _sign(text)
        if sign:
            return sign
    return None


def read_plate(path: Path) -> PlateImageRead:
    """The plate an image shows, read offline; ``ImageReadError`` if the file is not an image."""
    started = time.perf_counter()
    image = load_image(path)
    result, _ = ocr_engine()(image)
    boxes = _boxes(result)
    sign = band_sign(image)
    best: tuple[float, str, str | None, tuple[str, ...]] | None = None
    for text, score, boxed in _candidates(boxes):
        judged = _judge(text, score, sign or boxed)
        if judged is not None and (best is None or judged[0] > best[0]):
            best = judged
    read = PlateImageRead(
        file=path.name, plate="", country=None, confidence=0.0, text=[b.text for b in boxes]
    )
    if best is None:
        read.error = "no plate text found"
    else:
        read.confidence, read.plate, read.country, read.repairs = best
    read.seconds = time.perf_counter() - started
    return read


def read_plates(paths: list[Path]) -> list[PlateImageRead]:
    """Each image read; an unreadable one gives an empty plate with its error, the rest are still read."""
    reads = []
    for path in paths:
        try:
            reads.append(read_plate(path))
        except ImageReadError as error:
            reads.append(
                PlateImageRead(file=path.name, plate="", country=None, confidence=0.0, error=str(error))
            )
    return reads
