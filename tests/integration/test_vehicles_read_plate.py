"""``borderwatch vehicles read-plate``: rendered plates of several countries read offline, a broken file."""

from __future__ import annotations

import json
import random
from pathlib import Path

from typer.testing import CliRunner

from borderwatch.cli.main import app
from borderwatch.synthetic.plate_images import random_spec, render_plate


def test_read_plate_reads_rendered_plates_and_reports_the_broken_file(tmp_path: Path) -> None:
    rng = random.Random(21)
    expected = {}
    for style in (0, 2, 4, 5, 6, 7):  # GB, DE, FR, ES, NL, PL: blur, noise, a few degrees of rotation
        spec = random_spec(rng, style)
        path = tmp_path / f"plate_{style}.png"
        render_plate(spec, rng, blur=1.2, noise=10, rotation=4).save(path)
        expected[path.name] = (spec.plate, spec.country)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image at all")
    out = tmp_path / "reads.json"
    files = [str(tmp_path / name) for name in expected] + [str(broken)]
    result = CliRunner().invoke(app, ["vehicles", "read-plate", *files, "--json", str(out)])
    assert result.exit_code == 1, result.output  # the broken file fails; the others are read
    assert "broken.png" in result.output and "cannot open the image" in result.output
    data = json.loads(out.read_text())
    reads = {r["file"]: r for r in data["reads"]}
    assert set(reads) == {*expected, "broken.png"}
    for name, (plate, country) in expected.items():
        assert (reads[name]["plate"], reads[name]["country"]) == (plate, country), name
        assert 0.5 < reads[name]["confidence"] <= 1.0
        assert " " not in reads[name]["plate"]
    assert reads["broken.png"]["plate"] == "" and reads["broken.png"]["confidence"] == 0.0
    assert [e["file"] for e in data["errors"]] == ["broken.png"]
