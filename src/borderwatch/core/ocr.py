"""Offline OCR shared by the stages that read images: the RapidOCR engine and image loading.

The models (PP-OCRv4 detection and recognition, ONNX) ship inside the ``rapidocr-onnxruntime`` wheel,
Apache-2.0; nothing is downloaded at run time. The engine is built once per process.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from borderwatch.core.errors import BorderwatchError


class ImageReadError(BorderwatchError):
    """An image that cannot be opened or decoded."""


@cache
def ocr_engine() -> Any:
    """The RapidOCR engine (PP-OCRv4 ONNX models from the wheel), built once."""
    from rapidocr_onnxruntime import RapidOCR

    # Downscale large pages for detection (the default upscales to a 736-pixel short side); one inference
    # thread per core.
    return RapidOCR(det_limit_side_len=960, det_limit_type="max", intra_op_num_threads=2)


def load_image(path: Path) -> Any:
    """An image file as a BGR array (what the engine reads); ``ImageReadError`` naming the file otherwise."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise ImageReadError(f"{path}: cannot open the image ({error})") from error
    return np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
