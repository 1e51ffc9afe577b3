"""Helpers for the API tests: two agencies with one user of each role, their tokens, and a client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from borderwatch.access import service as access
from borderwatch.access.policy import Role
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.web.app import create_app

PASSWORD = "a long enough password"


@dataclass
class World:
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)
    """username -> API token; usernames are ``<role>_<agency>`` e.g. ``analyst_a``."""

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def build_world(
    settings: Settings, agencies: tuple[str, ...] = ("a", "b"), with_password: tuple[str, ...] = ()
) -> World:
    """Users of every role in each agency, each with an API token.

    Only the usernames in ``with_password`` get a password (argon2 is deliberately slow).
    """
    world = World(settings=settings)
    engine = make_engine(settings.database_url)
    with session_scope(session_factory(engine)) as session:
        for agency in agencies:
            for role in Role:
                username = f"{role.value}_{agency}"
                access.add_user(
                    db_session=session,
                    username=username,
                    role=role,
                    agency=agency,
                    password=PASSWORD if username in with_password else None,
                )
                _row, secret = access.create_token(db_session=session, username=username, name="tests")
                world.tokens[username] = secret
    engine.dispose()
    return world


@contextmanager
def client_for(settings: Settings) -> Iterator[TestClient]:
    """A client over HTTPS (so Secure cookies are sent back), raising nothing on server errors."""
    with TestClient(create_app(settings), base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c


def assert_error(response: object, status: int, code: str | None = None) -> dict[str, object]:
    """The response has ``status`` and the one error body; returns its ``error`` object."""
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "field"}, error
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return dict(error)
