"""Face verification 1:1 with dlib's public-domain models, on the images shipped here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pytest
from PIL import Image
from typer.testing import CliRunner

from borderwatch.cli.main import app
from borderwatch.core.settings import get_settings
from borderwatch.travellers.face import THRESHOLD, FaceError, load_image, verify

HOPPER = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def test_the_same_specimen_holder_on_two_documents_is_the_same_person(shared_data: Path) -> None:
    td3 = load_image(shared_data / "documents" / "tests_data_passport-td3.png")
    td2 = load_image(shared_data / "documents" / "tests_data_passport-td2.png")
    decision = verify(td3, td2)
    assert decision.same_person
    assert decision.distance < THRESHOLD - 0.2
    other = verify(td3, load_image(HOPPER))
    assert not other.same_person
    assert other.distance > THRESHOLD + 0.1


def test_an_image_without_a_face_is_an_error(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 300), "white").save(blank)
    with pytest.raises(FaceError, match="no face found in the live capture"):
        verify(load_image(HOPPER), load_image(blank))


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_gives_the_decision_and_distance_only(cli: CliRunner, shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "face.json"
    page = shared_data / "documents" / "tests_data_passport-td3.png"
    result = cli.invoke(app, ["travellers", "verify-face", str(page), str(HOPPER), "--json", str(out)])
    assert result.exit_code == 1, result.output
    assert "different people" in result.output
    data = json.loads(out.read_text())
    assert set(data) == {"same_person", "distance", "threshold", "document_faces", "live_faces"}
    assert data["same_person"] is False
