"""Reading the MRZ of a document image offline: RapidOCR's PP-OCR ONNX models, then field-by-field repair.

The OCR model ships inside the ``rapidocr-onnxruntime`` wheel (PP-OCRv4 detection and recognition, Apache-2.0;
nothing is downloaded at run time). Text lines are detected on the whole page, the wide ones (an MRZ line is
30-44 characters of fixed pitch) are recognised bottom first, and the lines that form an MRZ layout are
repaired field by field: letters where the layout wants letters (``UT0`` → ``UTO``), digits where it wants
digits (dates and check digits), fillers restored where a run of ``<`` came out a character short or long,
and, in alphanumeric fields a check digit covers, the ``0/O``, ``1/I``, ``5/S``, ``8/B``, ``2/Z``, ``6/G``
ambiguities resolved by the check digit. The check digits are the gate: a read is ``valid`` only if they
all hold after repair.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from borderwatch.core.errors import BorderwatchError
from borderwatch.core.ocr import ImageReadError, load_image, ocr_engine
from borderwatch.travellers.mrz import FILLER, MrzError, MrzResult, check_digit, read_mrz

_TO_DIGIT = str.maketrans({"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "J": "1", "Z": "2",
                           "S": "5", "G": "6", "B": "8"})  # fmt: skip
_TO_ALPHA = str.maketrans({"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"})
_AMBIGUOUS = {"0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "S": "5", "8": "B", "B": "8", "2": "Z",
              "Z": "2", "6": "G", "G": "6"}  # fmt: skip
_FILLER_LOOKALIKES = str.maketrans({"«": "<", "‹": "<", "〈": "<", "く": "<", "(": "<", "{": "<", "[": "<"})

# Position kinds per layout line: a = letters (or filler), n = digits (or filler), c = check digit,
# s = sex, x = letters or digits (left to the check digits).
_TWO_LINE_TOP_44 = "aa" + "aaa" + "a" * 39
_TWO_LINE_TOP_36 = "aa" + "aaa" + "a" * 31
_DATES = "aaa" + "n" * 6 + "c" + "s" + "n" * 6 + "c"  # nationality, birth, sex, expiry
_KINDS: dict[str, tuple[str, ...]] = {
    "TD3": (_TWO_LINE_TOP_44, "x" * 9 + "c" + _DATES + "x" * 14 + "cc"),
    "MRVA": (_TWO_LINE_TOP_44, "x" * 9 + "c" + _DATES + "x" * 16),
    "TD2": (_TWO_LINE_TOP_36, "x" * 9 + "x" + _DATES + "x" * 7 + "c"),  # a long number puts < at column 10
    "MRVB": (_TWO_LINE_TOP_36, "x" * 9 + "c" + _DATES + "x" * 8),
    "TD1": ("aa" + "aaa" + "x" * 25, "n" * 6 + "c" + "s" + "n" * 6 + "c" + "aaa" + "x" * 11 + "c", "a" * 30),
}  # fmt: skip
_LAYOUTS = ((44, 2, ("TD3", "MRVA")), (36, 2, ("TD2", "MRVB")), (30, 3, ("TD1",)))


class DocumentReadError(BorderwatchError):
    """An image that cannot be opened or read."""


@dataclass
class DocumentRead:
    """What was read from an image: the MRZ (``None`` if no layout was found), the OCR lines, the repairs."""

    source: str
    mrz: MrzResult | None
    ocr_lines: list[str]
    repairs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's CPU time: steadier than the wall clock on a shared machine

    @property
    def valid(self) -> bool:
        return self.mrz is not None and self.mrz.valid

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "valid": self.valid,
            "mrz": self.mrz.as_dict() if self.mrz else None,
            "ocr_lines": self.ocr_lines,
            "repairs": self.repairs,
            "seconds": round(self.seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
        }


def normalise_ocr_line(text: str) -> str:
    """Upper case, filler look-alikes as ``<``, spaces and anything else outside A-Z 0-9 < dropped."""
    text = text.translate(_FILLER_LOOKALIKES).upper()
    return re.sub(r"[^A-Z0-9<]", "", text)


def _fit(line: str, width: int) -> str:
    """A line brought to ``width`` by growing or shrinking its longest run of fillers (OCR miscounts runs)."""
    while len(line) != width:
        runs = [(m.end() - m.start(), m.start()) for m in re.finditer(r"<+", line)]
        if not runs:
            return line
        length, start = max(runs)
        if len(line) < width:
            line = line[: start + length] + FILLER + line[start + length :]
        elif length > 0:
            line = line[:start] + line[start + 1 :]
    return line


def _by_kind(lines: list[str], fmt: str, repairs: list[str]) -> list[str]:
    fixed = []
    for number, (line, kinds) in enumerate(zip(lines, _KINDS[fmt], strict=True), start=1):
        chars = list(line)
        for index, (char, kind) in enumerate(zip(line, kinds, strict=True)):
            if char == FILLER:
                continue
            new = char
            if kind in ("n", "c"):
                new = char.translate(_TO_DIGIT)
            elif kind == "a":
                new = char.translate(_TO_ALPHA)
            elif kind == "s" and char not in "MFX":
                new = {"H": "M", "N": "M", "E": "F", "P": "F"}.get(char, char)
            if new != char:
                repairs.append(f"line {number} position {index + 1}: {char} -> {new}")
                chars[index] = new
        fixed.append("".join(chars))
    return fixed


def _resolve_ambiguous(lines: list[str], fmt: str, repairs: list[str]) -> list[str]:
    """Swap 0/O, 1/I, ... in the document number (and TD3 personal number) until its check digit holds."""
    fields: list[tuple[int, int, int, int]] = []  # line, start, end, check digit column
    if fmt == "TD1":
        fields.append((0, 5, 14, 14))
    else:
        fields.append((1, 0, 9, 9))
        if fmt == "TD3":
            fields.append((1, 28, 42, 42))
    for line_no, start, end, digit_at in fields:
        line = lines[line_no]
        digit = line[digit_at]
        text = line[start:end]
        if not digit.isdigit() or check_digit(text) == digit:
            continue
        positions = [i for i, c in enumerate(text) if c in _AMBIGUOUS]
        for count in range(1, min(len(positions), 3) + 1):
            found = None
            for chosen in itertools.combinations(positions, count):
                candidate = list(text)
                for i in chosen:
                    candidate[i] = _AMBIGUOUS[candidate[i]]
                if check_digit("".join(candidate)) == digit:
                    found = "".join(candidate)
                    break
            if found is not None:
                repairs.append(
                    f"line {line_no + 1} positions {start + 1}-{end}: {text} -> {found} (check digit)"
                )
                lines[line_no] = line[:start] + found + line[end:]
                break
    return lines


def repair_mrz(ocr_lines: list[str]) -> tuple[MrzResult | None, list[str]]:
    """The MRZ among OCR'd text lines, repaired field by field; ``(None, [])`` if no layout is found.

    Lines are tried as TD3/MRV-A (2 x 44), TD2/MRV-B (2 x 36) and TD1 (3 x 30), consecutive and within a few
    characters of the width; the first candidate whose check digits all hold wins, else the first that reads.
    """
    lines = [normalise_ocr_line(text) for text in ocr_lines]
    lines = [line for line in lines if len(line) >= 26]
    fallback: tuple[MrzResult | None, list[str]] = (None, [])
    for width, count, formats in _LAYOUTS:
        for first in range(len(lines) - count + 1):
            group = lines[first : first + count]
            if any(abs(len(line) - width) > 4 for line in group):
                continue
            fitted = [_fit(line, width) for line in group]
            if any(len(line) != width for line in fitted):
                continue
            fmt = formats[1] if len(formats) > 1 and fitted[0].startswith("V") else formats[0]
            repairs: list[str] = [
                f"line {i + 1}: {len(line)} characters fitted to {width}"
                for i, line in enumerate(group)
                if len(line) != width
            ]
            fixed = _resolve_ambiguous(_by_kind(fitted, fmt, repairs), fmt, repairs)
            try:
                result = read_mrz("\n".join(fixed))
            except MrzError:
                continue
            if result.valid:
                return result, repairs
            if fallback[0] is None:
                fallback = (result, repairs)
    return fallback


def _engine() -> Any:
    return ocr_engine()


def _load(path: Path) -> Any:
    try:
        return load_image(path)
    except ImageReadError as error:
        raise DocumentReadError(str(error)) from error


def ocr_lines(image: Any, *, wide_only: bool) -> list[str]:
    """Text lines of an image (BGR array), top to bottom; ``wide_only`` keeps lines shaped like MRZ lines."""
    import numpy as np

    engine = _engine()
    boxes, _ = engine(image, use_det=True, use_cls=False, use_rec=False)
    spans = []
    for box in boxes if boxes is not None else []:
        points = np.asarray(box)
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
        if not wide_only or (x1 - x0) >= 10 * max(y1 - y0, 1):
            spans.append((float(y0), float(x0), float(x1), float(y1)))
    spans.sort()
    if wide_only:
        spans = spans[-4:]  # an MRZ sits at the bottom of the page: its lines are the lowest wide ones
    height, width = image.shape[:2]
    crops = [
        image[max(int(y0) - 4, 0) : min(int(y1) + 4, height), max(int(x0) - 4, 0) : min(int(x1) + 4, width)]
        for y0, x0, x1, y1 in spans
    ]
    if not crops:
        return []
    recognised, _ = engine.text_rec(crops)
    return [str(text) for text, _score in recognised]


def read_document(path: Path) -> DocumentRead:
    """The MRZ of a document image (PNG, JPEG...), read offline; the check digits decide ``valid``."""
    started, cpu = time.perf_counter(), time.process_time()
    image = _load(path)
    lines = ocr_lines(image, wide_only=True)
    mrz, repairs = repair_mrz(lines)
    if mrz is None or not mrz.valid:  # the wide-line shortcut missed: read every line
        all_lines = ocr_lines(image, wide_only=False)
        retry, retry_repairs = repair_mrz(all_lines)
        if retry is not None and (mrz is None or retry.valid):
            mrz, repairs, lines = retry, retry_repairs, all_lines
    return DocumentRead(
        source=path.name,
        mrz=mrz,
        ocr_lines=lines,
        repairs=repairs,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu,
    )
