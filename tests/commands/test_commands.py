"""Every command of API.md: success prints the id last; bad input exits non-zero with one line
and writes nothing."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner(mix_stderr=False) if _mix_supported(app) else app.test_cli_runner()

    def invoke(*args, input=None):
        return runner.invoke(args=list(args), input=input)

    return invoke


def _mix_supported(app) -> bool:
    import inspect

    from click.testing import CliRunner

    return "mix_stderr" in inspect.signature(CliRunner.__init__).parameters


def _count(app, model) -> int:
    from app.core.db import db

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _last_line_uuid(result) -> uuid.UUID:
    return uuid.UUID(result.stdout.strip().splitlines()[-1])


def _one_line_error(result):
    assert result.exit_code != 0
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert len(lines) == 1, result.stderr
    return lines[0]


# -- sites ------------------------------------------------------------------------------------
def test_sites_create(app, cli):
    from app.directory.models import Site

    result = cli("sites", "create", "CMS Test", "--kind", "cms", "--territory", "Valence")
    assert result.exit_code == 0, result.stderr
    site_id = _last_line_uuid(result)
    from app.core.db import db

    with app.app_context():
        site = db.session.get(Site, site_id)
        assert (site.name, site.kind, site.territory) == ("CMS Test", "cms", "Valence")


@pytest.mark.parametrize("args, word", [
    (["sites", "create", "X", "--kind", "castle", "--territory", "T"], "kind"),
    (["sites", "create", "", "--kind", "cms", "--territory", "T"], "name"),
    (["sites", "create", "X", "--kind", "cms", "--territory", " "], "territory"),
    (["sites", "create", "X\x07", "--kind", "cms", "--territory", "T"], "name"),
])
def test_sites_create_bad_input(app, cli, args, word):
    from app.directory.models import Site

    line = _one_line_error(cli(*args))
    assert word in line
    assert _count(app, Site) == 0


def test_sites_create_duplicate(app, cli):
    from app.directory.models import Site

    cli("sites", "create", "CMS Test", "--kind", "cms", "--territory", "Valence")
    line = _one_line_error(cli("sites", "create", "cms test", "--kind", "mds", "--territory", "V"))
    assert "name" in line
    assert _count(app, Site) == 1


# -- structures -------------------------------------------------------------------------------
def test_structures_create(app, cli):
    from app.core.db import db
    from app.directory.models import Structure

    result = cli("structures", "create", "CCAS Test", "--kind", "ccas", "--domains",
                 "logement,budget", "--territories", "Valence,Diois")
    assert result.exit_code == 0, result.stderr
    with app.app_context():
        structure = db.session.get(Structure, _last_line_uuid(result))
        assert sorted(structure.domains) == ["budget", "logement"]
        assert sorted(structure.territories) == ["Diois", "Valence"]


@pytest.mark.parametrize("args, word", [
    (["--kind", "ccas", "--domains", "logement,astrologie", "--territories", "V"], "domains"),
    (["--kind", "ccas", "--domains", "", "--territories", "V"], "domains"),
    (["--kind", "nope", "--domains", "logement", "--territories", "V"], "kind"),
    (["--kind", "ccas", "--domains", "logement", "--territories", ","], "territories"),
    (["--kind", "ccas", "--domains", "logement", "--territories", "V", "--ack-delay", "0"],
     "ack_delay"),
])
def test_structures_create_bad_input(app, cli, args, word):
    from app.directory.models import Structure, StructureDomain

    line = _one_line_error(cli("structures", "create", "S", *args))
    assert word in line
    assert _count(app, Structure) == 0 and _count(app, StructureDomain) == 0


# -- users ------------------------------------------------------------------------------------
def test_users_create_for_each_role(app, cli, build):
    from app.auth.models import User
    from app.core.db import db

    site, structure = build.site(), build.structure()
    cases = {
        "accueil": ["--site", site.name],
        "partenaire": ["--structure", str(structure.id)],
        "referent_parcours": ["--structure", structure.name],
        "coordinateur": ["--territory", "Valence"],
        "admin": [],
    }
    for role, extra in cases.items():
        email = f"{role}@cli.test"
        result = cli("users", "create", email, "--role", role, "--password-stdin",
                     "--name", f"Nom {role}", *extra, input="a long enough password\n")
        assert result.exit_code == 0, result.stderr
        with app.app_context():
            user = db.session.get(User, _last_line_uuid(result))
            assert user.email == email and user.role == role
    from app.auth.services import authenticate

    with app.app_context():
        assert authenticate("admin@cli.test", "a long enough password", None).role == "admin"


@pytest.mark.parametrize("args, stdin, word", [
    (["u@cli.test", "--role", "wizard", "--password-stdin"], "a long enough password\n", "role"),
    (["u@cli.test", "--role", "accueil", "--password-stdin"], "a long enough password\n", "site"),
    (["u@cli.test", "--role", "accueil", "--password-stdin", "--site", "Nowhere"],
     "a long enough password\n", "site"),
    (["u@cli.test", "--role", "partenaire", "--password-stdin"], "a long enough password\n",
     "structure"),
    (["u@cli.test", "--role", "coordinateur", "--password-stdin"], "a long enough password\n",
     "territory"),
    (["u@cli.test", "--role", "admin", "--password-stdin"], "\n", "password"),
    (["u@cli.test", "--role", "admin", "--password-stdin"], "", "password"),
    (["u@cli.test", "--role", "admin", "--password-stdin"], "short\n", "password"),
    (["not-an-email", "--role", "admin", "--password-stdin"], "a long enough password\n", "email"),
    (["u@cli.test", "--role", "admin"], "a long enough password\n", "password-stdin"),
])
def test_users_create_bad_input(app, cli, args, stdin, word):
    from app.auth.models import User

    line = _one_line_error(cli("users", "create", *args, input=stdin))
    assert word in line
    assert _count(app, User) == 0


def test_users_create_duplicate_email(app, cli):
    from app.auth.models import User

    ok = cli("users", "create", "dup@cli.test", "--role", "admin", "--password-stdin",
             input="a long enough password\n")
    assert ok.exit_code == 0
    line = _one_line_error(cli("users", "create", "DUP@cli.test", "--role", "admin",
                               "--password-stdin", input="a long enough password\n"))
    assert "email" in line
    assert _count(app, User) == 1


# -- demo seed --------------------------------------------------------------------------------
def test_demo_seed_is_idempotent_and_prints_logins(app, cli):
    from app.auth.models import User
    from app.directory.models import Site, Structure

    first = cli("demo", "seed")
    assert first.exit_code == 0, first.stderr
    counts = (_count(app, Site), _count(app, Structure), _count(app, User))
    assert counts[2] >= 5
    for role in ("accueil", "partenaire", "referent_parcours", "coordinateur", "admin"):
        assert role in first.stdout
    second = cli("demo", "seed")
    assert second.exit_code == 0
    assert (_count(app, Site), _count(app, Structure), _count(app, User)) == counts
    assert "@demo.passerelle.local" in second.stdout


def test_demo_seed_tells_a_story_every_screen_can_show(app, cli):
    """A few persons once, an orientation past its acknowledgement date for the coordinator's
    stalled list, a silent parcours, designated referents, a head contact to escalate to."""
    from app.accueil.models import Person
    from app.core.audit import verify_chain
    from app.core.db import db
    from app.directory.models import Structure
    from app.orientation import reminders
    from app.orientation.models import Orientation, StructureReferent
    from app.referents.models import Parcours
    from app.referents.services import silent_filter

    assert cli("demo", "seed").exit_code == 0
    with app.app_context():
        named = db.session.scalars(sa.select(Person).where(Person.anonymous.is_(False))).all()
        assert len(named) >= 4 and {p.last_name for p in named} >= {"Lefèvre", "Benali"}
        statuses = set(db.session.scalars(sa.select(Orientation.status)))
        assert {"sent", "acknowledged", "in_charge"} <= statuses
        stalled = [s for s in reminders.stalls() if s.orientation.territory == "Valence"]
        assert len(stalled) >= 2
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Parcours).where(
            silent_filter())) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StructureReferent)) >= 2
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Structure).where(
            Structure.head_contact_email.is_not(None))) >= 1
        verify_chain(db.session)
        persons = _count(app, Person)
    assert cli("demo", "seed").exit_code == 0
    assert _count(app, Person) == persons


# -- charter publish --------------------------------------------------------------------------
def test_charter_publish(app, cli, tmp_path):
    from app.charter.models import CharterVersion

    text = tmp_path / "charter.md"
    text.write_text("# Charte v2\n\nNouveau texte.", encoding="utf-8")
    result = cli("charter", "publish", str(text))
    assert result.exit_code == 0, result.stderr
    _last_line_uuid(result)
    assert _count(app, CharterVersion) == 2


@pytest.mark.parametrize("content", [b"", b"   \n", b"\xff\xfe\x00bad"])
def test_charter_publish_bad_file(app, cli, tmp_path, content):
    from app.charter.models import CharterVersion

    path = tmp_path / "bad.md"
    path.write_bytes(content)
    _one_line_error(cli("charter", "publish", str(path)))
    _one_line_error(cli("charter", "publish", str(tmp_path / "missing.md")))
    assert _count(app, CharterVersion) == 1
