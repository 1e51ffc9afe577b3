"""``borderwatch travellers read-document`` on the shared document images, with the real OCR model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borderwatch.cli.main import app
from borderwatch.travellers.ocr import read_document

TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
TD2 = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6"
EXPECTED = {
    "synthetic_td3_ocrb.png": TD3,
    "tests_data_passport-td3.png": TD3,
    "tests_data_passport-td2.png": TD2,
}


def test_read_document_writes_a_valid_mrz(shared_data: Path, tmp_path: Path) -> None:
    image = shared_data / "documents" / "synthetic_td3_ocrb.png"
    out = tmp_path / "out.json"
    result = CliRunner().invoke(app, ["travellers", "read-document", str(image), "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["valid"] is True
    assert "\n".join(data["mrz"]["lines"]) == TD3
    assert data["mrz"]["document_number"] == "L898902C3"


def test_an_image_without_an_mrz_exits_1(tmp_path: Path) -> None:
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), "white").save(blank)
    result = CliRunner().invoke(app, ["travellers", "read-document", str(blank)])
    assert result.exit_code == 1
    assert "no MRZ found" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_sample_image_reads_exactly(shared_data: Path, name: str) -> None:
    read = read_document(shared_data / "documents" / name)
    assert read.valid
    assert read.mrz is not None and read.mrz.text == EXPECTED[name]
