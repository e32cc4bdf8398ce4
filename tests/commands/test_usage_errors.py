"""Input that click itself refuses (a missing option or argument, a value of the wrong type, an
unknown command or option) fails with one line too, as API.md asks of every command."""

from __future__ import annotations

import pytest
import sqlalchemy as sa


@pytest.mark.parametrize("args, words", [
    (["users", "create", "u@cli.test", "--password-stdin"], ["Missing option", "--role"]),
    (["users", "create"], ["Missing argument", "EMAIL"]),
    (["users", "create", "u@cli.test", "--role", "admin", "--colour", "blue"],
     ["No such option", "--colour"]),
    (["users", "delete"], ["No such command", "delete"]),
    (["users", "--verbose", "create"], ["No such option", "--verbose"]),
    (["notifications", "send", "--batch", "many"], ["--batch", "many"]),
    (["keys", "rotate", "--batch-size", "0"], ["--batch-size"]),
    (["sites", "create", "CMS"], ["Missing option", "--kind"]),
    (["orientations", "remind", "--unknown"], ["No such option"]),
    (["retention", "purge", "--apply", "now"], ["unexpected extra argument"]),
])
def test_usage_errors_are_one_line(app, args, words):
    from app.auth.models import User
    from app.core.db import db

    result = app.test_cli_runner().invoke(args=args, input="a long enough password\n")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for word in words:
        assert word in lines[0]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_a_group_named_alone_still_shows_its_help(app):
    result = app.test_cli_runner().invoke(args=["users"])
    assert "create" in result.output


def test_an_app_created_twice_wraps_once(app, tmp_path):
    """The groups are module-level objects shared by every app of the process."""
    from app import create_app
    from app.auth.cli import users_cli
    from tests.conftest import make_settings

    before = users_cli.invoke
    create_app(make_settings(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path))
    assert users_cli.invoke is before
