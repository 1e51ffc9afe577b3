"""The training pages: a trainee plays an exercise and reads the debrief; only they and the instructors of
their agency see it; the cohort dashboard is the instructors'; every access is audited."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from borderwatch.access import service as access
from borderwatch.access.models import AuditRow
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.training import service
from tests.integration.api_support import build_world, client_for


def test_a_trainee_plays_an_exercise_and_only_they_and_instructors_see_the_result(settings: Settings) -> None:
    world = build_world(settings)
    engine = make_engine(settings.database_url)
    with session_scope(session_factory(engine)) as session:
        access.add_user(db_session=session, username="lee", role="trainee", agency="a", password=None)
        _row, world.tokens["lee"] = access.create_token(db_session=session, username="lee", name="t")
    trainee = world.auth("trainee_a")
    with client_for(settings) as client:
        listing = client.get("/training", headers=trainee)
        assert listing.status_code == 200, listing.text
        assert len(re.findall(r'<tr data-scenario="', listing.text)) == 9  # eight scenarios and closed cases
        assert client.get("/worklist", headers=trainee).status_code == 403  # no live records for trainees
        started = client.post(
            "/training/attempts",
            data={"scenario_id": "front-company", "seed": "2", "aids": "on"},
            headers=trainee,
            follow_redirects=False,
        )
        assert started.status_code == 303, started.text
        location = started.headers["location"]
        attempt_id = int(location.rsplit("/", 1)[1])
        page = client.get(location, headers=trainee)
        assert page.status_code == 200
        shown = re.findall(r'data-lrn="([^"]+)"', page.text)
        with session_factory(engine)() as session:
            exercise = service.exercise_of(service.get_attempt(session=session, attempt_id=attempt_id))
        assert shown == [view["lrn"] for view in exercise.declarations]
        assert "seller address" in page.text  # the front company's address hit is on the page
        frauds = [t["lrn"] for t in exercise.truth if t["fraud"]][: exercise.budget]
        form = {f"lane-{lrn}": "red" for lrn in frauds} | {f"confidence-{lrn}": "0.9" for lrn in frauds}
        assert client.post(location, data=form, headers=world.auth("instructor_a")).status_code == 404
        over = {f"lane-{view['lrn']}": "red" for view in exercise.declarations}
        assert client.post(location, data=over, headers=trainee).status_code == 422  # over the budget
        submitted = client.post(location, data=form, headers=trainee, follow_redirects=False)
        assert submitted.status_code == 303 and submitted.headers["location"].endswith("/debrief")
        assert client.post(location, data=form, headers=trainee).status_code == 409  # once only
        debrief = client.get(f"{location}/debrief", headers=trainee)
        assert debrief.status_code == 200
        assert re.search(r'data-who="you"><th>You</th><td class="hit-rate">100.0 %', debrief.text)
        assert 'data-who="model"' in debrief.text and 'data-who="random"' in debrief.text
        # whose result: the trainee's own, the instructors' of the agency, nobody else's
        assert client.get(f"{location}/debrief", headers=world.auth("lee")).status_code == 404
        assert client.get(f"{location}/debrief", headers=world.auth("trainee_b")).status_code == 404
        assert client.get(f"{location}/debrief", headers=world.auth("instructor_b")).status_code == 404
        assert client.get(f"{location}/debrief", headers=world.auth("instructor_a")).status_code == 200
        assert client.get("/training/cohort", headers=trainee).status_code == 403
        cohort = client.get("/training/cohort", headers=world.auth("instructor_a"))
        assert cohort.status_code == 200
        assert (
            'data-scenario="front-company"' in cohort.text and f'data-attempt="{attempt_id}"' in cohort.text
        )
        assert "front-company" not in client.get("/training/cohort", headers=world.auth("instructor_b")).text
    with session_factory(engine)() as session:
        audited = session.execute(
            select(AuditRow.actor, AuditRow.allowed).where(
                AuditRow.resource == "training_result", AuditRow.resource_id == f"attempt {attempt_id}"
            )
        ).all()
    engine.dispose()
    assert ("trainee_a", True) in audited and ("instructor_a", True) in audited
    assert ("lee", False) in audited and ("instructor_a", False) in audited


def test_an_instructors_own_scenario_is_offered_to_their_agency_only(settings: Settings) -> None:
    import yaml

    from borderwatch.training.scenarios import SHIPPED_DIR, agency_dir

    world = build_world(settings)
    folder = agency_dir(settings.data_dir, "a")
    folder.mkdir(parents=True)
    drill = yaml.safe_load((SHIPPED_DIR / "misclassification.yaml").read_text(encoding="utf-8"))
    (folder / "drill.yaml").write_text(yaml.safe_dump({**drill, "id": "port-drill", "title": "Port drill"}))
    with client_for(settings) as client:
        own = client.get("/training", headers=world.auth("trainee_a"))
        other = client.get("/training", headers=world.auth("trainee_b"))
        assert 'data-scenario="port-drill"' in own.text and "Port drill" in own.text
        assert 'data-scenario="port-drill"' not in other.text
        refused = client.post(
            "/training/attempts", data={"scenario_id": "port-drill"}, headers=world.auth("trainee_b")
        )
        assert refused.status_code == 404


def test_an_exercise_from_the_agencys_closed_cases_is_pseudonymised(
    settings: Settings, tmp_path: Path
) -> None:
    from borderwatch.ingest.service import ingest_file
    from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic

    world = build_world(settings)
    traffic = generate_traffic(GeneratorConfig(declarations=900, seed=6, days=28))
    path = tmp_path / "cases.csv"
    write_traffic(traffic, path)
    engine = make_engine(settings.database_url)
    ingest_file(engine=engine, path=path, agency="a")
    trainee = world.auth("trainee_a")
    with client_for(settings) as client:
        started = client.post(
            "/training/attempts", data={"scenario_id": "closed-cases", "seed": "3"}, headers=trainee
        )
        assert started.status_code == 200, started.text
        shown = re.findall(r'data-lrn="([^"]+)"', started.text)
        assert len(shown) == 40 and all(lrn.startswith("D-") for lrn in shown)
        real = set(traffic.frame["Declaration ID"].to_list()) | set(traffic.frame["Importer ID"].to_list())
        assert not any(value in started.text for value in real)
        # agency b has no closed case: a clear refusal, not an empty exercise
        refused = client.post(
            "/training/attempts", data={"scenario_id": "closed-cases"}, headers=world.auth("trainee_b")
        )
        assert refused.status_code == 422 and "no closed case" in refused.text
    engine.dispose()
