"""Face verification 1:1: the photo on a document against a live capture, offline.

dlib's ResNet face recognition model (128-dimensional descriptors) and its 5-point landmark model, both from
``face_recognition_models`` (CC0), run through ``dlib-bin`` (Boost licence); faces are found with dlib's
built-in HOG detector (no model file). The 68-point landmark model in the same package is trained on data
licensed for non-commercial use only and is never loaded.

Two faces are the same person when the Euclidean distance of their descriptors is at most ``THRESHOLD``
(0.5: stricter than dlib's published 0.6, because the different-person pairs measured here come as close
as 0.61; ``bench/travellers_face.py`` measures, ``docs/decisions/travellers-0001-face-threshold.md`` records
why). Nothing about a face outlives the call: descriptors are computed, compared and dropped; callers store
the decision and the distance only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from borderwatch.core.errors import BorderwatchError

THRESHOLD = 0.5  # see docs/decisions/travellers-0001-face-threshold.md
UPSAMPLE = 1  # detect faces down to about 40 pixels wide (document photos are small)


class FaceError(BorderwatchError):
    """An image that cannot be opened, or in which no face is found."""


@dataclass(frozen=True)
class FaceDecision:
    """Same person or not, with the distance it rests on and the threshold used."""

    same_person: bool
    distance: float
    threshold: float
    document_faces: int
    live_faces: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "same_person": self.same_person,
            "distance": round(self.distance, 4),
            "threshold": self.threshold,
            "document_faces": self.document_faces,
            "live_faces": self.live_faces,
        }


@cache
def _models() -> tuple[Any, Any, Any]:
    import importlib.util

    import dlib

    # The package's own __init__ imports pkg_resources, which current setuptools no longer ships: find its
    # model files without running it. Only the 5-point landmarks: the 68-point model is non-commercial.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise FaceError("face_recognition_models is not installed")
    model_dir = Path(spec.origin).parent / "models"
    detector = dlib.get_frontal_face_detector()
    landmarks = dlib.shape_predictor(str(model_dir / "shape_predictor_5_face_landmarks.dat"))
    encoder = dlib.face_recognition_model_v1(str(model_dir / "dlib_face_recognition_resnet_model_v1.dat"))
    return detector, landmarks, encoder


def load_image(path: Path) -> npt.NDArray[np.uint8]:
    """An image file as an RGB array; ``FaceError`` if it cannot be opened."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
    except (OSError, UnidentifiedImageError) as error:
        raise FaceError(f"{path}: cannot open the image ({error})") from error


def describe(image: npt.NDArray[np.uint8], *, what: str = "image") -> tuple[npt.NDArray[np.float64], int]:
    """The descriptor of the most confidently detected face, and how many faces were found."""
    detector, landmarks, encoder = _models()
    boxes, scores, _ = detector.run(image, UPSAMPLE, 0.0)
    if not boxes:
        raise FaceError(f"no face found in the {what}")
    best = max(range(len(boxes)), key=lambda i: (scores[i], boxes[i].area()))
    shape = landmarks(image, boxes[best])
    descriptor = np.asarray(encoder.compute_face_descriptor(image, shape, 1), dtype=np.float64)
    return descriptor, len(boxes)


def distance(left: npt.NDArray[np.uint8], right: npt.NDArray[np.uint8]) -> float:
    """Descriptor distance of the main faces of two images."""
    a, _ = describe(left)
    b, _ = describe(right)
    return float(np.linalg.norm(a - b))


def verify(
    document: npt.NDArray[np.uint8], live: npt.NDArray[np.uint8], *, threshold: float = THRESHOLD
) -> FaceDecision:
    """Whether the face on the document (a page or its photo) is the face in the live capture."""
    a, document_faces = describe(document, what="document image")
    b, live_faces = describe(live, what="live capture")
    gap = float(np.linalg.norm(a - b))
    return FaceDecision(
        same_person=gap <= threshold,
        distance=gap,
        threshold=threshold,
        document_faces=document_faces,
        live_faces=live_faces,
    )
