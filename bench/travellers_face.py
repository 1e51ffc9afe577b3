"""Face verification 1:1: distances of same-person and different-person pairs, and the threshold.

    python bench/travellers_face.py [--quick]

Faces shipped with the environment: ICAO's specimen holder (the TD3 and TD2 specimen pages, two renderings of
the same person), Grace Hopper (matplotlib's sample data, US Navy, public domain) and Eileen Collins
(scikit-image's ``astronaut``, NASA, public domain). Each is also generated under capture conditions: scaled,
rotated, darkened and brightened, blurred, JPEG-compressed. Same-person pairs: within an identity; different-
person pairs: across identities. dlib publishes 0.6 for the model (LFW); the table shows where these pairs
put it.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageEnhance, ImageFilter
from rich.console import Console
from rich.table import Table

from borderwatch.travellers.face import THRESHOLD, describe, load_image

DOCUMENTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "documents"
RESULTS = Path(__file__).resolve().parent / "results" / "travellers_face.json"


def sources() -> dict[str, list[tuple[str, npt.NDArray[np.uint8]]]]:
    import matplotlib
    import skimage.data

    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return {
        "icao_specimen": [
            ("td3 page", load_image(DOCUMENTS / "tests_data_passport-td3.png")),
            ("td2 page", load_image(DOCUMENTS / "tests_data_passport-td2.png")),
        ],
        "grace_hopper": [("sample", load_image(hopper))],
        "eileen_collins": [("astronaut", np.asarray(skimage.data.astronaut(), dtype=np.uint8))],  # type: ignore[no-untyped-call]
    }


def variants(image: npt.NDArray[np.uint8], *, quick: bool) -> list[tuple[str, npt.NDArray[np.uint8]]]:
    base = Image.fromarray(image)
    width, height = base.size
    out = {
        "scaled 0.6": base.resize((int(width * 0.6), int(height * 0.6))),
        "rotated 8": base.rotate(8, expand=False, fillcolor=(128, 128, 128)),
        "darker": ImageEnhance.Brightness(base).enhance(0.6),
        "brighter": ImageEnhance.Brightness(base).enhance(1.4),
        "blurred": base.filter(ImageFilter.GaussianBlur(2)),
    }
    buffer = io.BytesIO()
    base.save(buffer, format="JPEG", quality=25)
    out["jpeg 25"] = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    items = list(out.items())[:2] if quick else list(out.items())
    return [
        (name, np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))) for name, img in items
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    descriptors: list[tuple[str, str, npt.NDArray[np.float64]]] = []
    started = time.perf_counter()
    for identity, images in sources().items():
        for label, image in images:
            for name, variant in [("original", image), *variants(image, quick=args.quick)]:
                descriptor, _ = describe(variant)
                descriptors.append((identity, f"{label} {name}", descriptor))
    per_face = (time.perf_counter() - started) / len(descriptors)
    same: list[float] = []
    different: list[float] = []
    for (id_a, _, a), (id_b, _, b) in itertools.combinations(descriptors, 2):
        (same if id_a == id_b else different).append(float(np.linalg.norm(a - b)))
    same_arr, diff_arr = np.array(same), np.array(different)
    rows = []
    for threshold in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        rows.append(
            {
                "threshold": threshold,
                "false_rejects": float(np.mean(same_arr > threshold)),
                "false_accepts": float(np.mean(diff_arr <= threshold)),
            }
        )
    table = Table(title=f"{len(same)} same-person and {len(different)} different-person pairs")
    for column in ("threshold", "false rejects", "false accepts"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(f"{row['threshold']:.2f}", f"{row['false_rejects']:.1%}", f"{row['false_accepts']:.1%}")
    console = Console(width=120)
    console.print(table)
    quantiles = [0.0, 0.5, 0.95, 1.0]
    summary = {
        "same_person": {f"q{int(q * 100)}": round(float(np.quantile(same_arr, q)), 4) for q in quantiles},
        "different_person": {
            f"q{int(q * 100)}": round(float(np.quantile(diff_arr, q)), 4) for q in quantiles
        },
    }
    console.print(f"same-person distances {summary['same_person']}")
    console.print(f"different-person distances {summary['different_person']}")
    console.print(
        f"{per_face:.2f} s per face (detect, landmarks, descriptor; shared 2 cores); threshold {THRESHOLD}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "threshold": THRESHOLD,
                "pairs": {"same_person": len(same), "different_person": len(different)},
                "distances": summary,
                "rates": rows,
                "seconds_per_face": round(per_face, 3),
                "identities": sorted({d[0] for d in descriptors}),
            },
            indent=2,
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
