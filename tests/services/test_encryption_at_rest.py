"""What lands on disk: no marker from an encrypted field in the SQLite file or a pg_dump;
ciphertexts bound to their row; key rotation that can be interrupted and resumed."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import sqlalchemy as sa

from app import create_app
from app.core.crypto import DecryptionError, new_key
from app.core.db import db, encrypted_models
from tests.conftest import ENCRYPTION_KEYS, INDEX_KEY, make_settings
from tests.encrypted_rows import FACTORIES, fill_every_encrypted_table

MARKER = "ZQXMARKER"


def test_every_encrypted_table_has_a_builder(app):
    with app.app_context():
        tables = {model.__tablename__ for model in encrypted_models()}
    assert tables == set(FACTORIES)


def _raw_dump(app) -> bytes:
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() == "sqlite":
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        data = open(url.database, "rb").read()
        for suffix in ("-wal", "-journal"):
            try:
                data += open(url.database + suffix, "rb").read()
            except FileNotFoundError:
                pass
        return data
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.fail("pg_dump is needed for the PostgreSQL leak test")
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run([pg_dump, "--data-only", plain], check=True, capture_output=True).stdout


def test_no_plaintext_on_disk(app, build):
    fill_every_encrypted_table(build, MARKER)
    with app.app_context():
        # The application reads its plaintext back...
        from app.auth.models import User

        assert any(MARKER in (u.totp_secret or "") for u in db.session.scalars(sa.select(User)))
    dump = _raw_dump(app)
    # ...but nothing readable lands on disk, in any case or encoding we could think of.
    for needle in (MARKER, MARKER.lower(), MARKER.encode().hex(), MARKER.encode("utf-16-le").hex()):
        assert needle.encode() not in dump
    assert MARKER.encode("utf-16-le") not in dump


def test_swapped_ciphertexts_do_not_decrypt(app, build):
    from app.auth.models import User

    first, second = build.user("accueil"), build.user("accueil")
    with app.app_context():
        a, b = db.session.get(User, first.id), db.session.get(User, second.id)
        a.totp_secret, b.totp_secret = "secret of a", "secret of b"
        db.session.commit()
        a_token, b_token = a.totp_secret_ct, b.totp_secret_ct
        db.session.execute(sa.update(User).where(User.id == first.id).values(totp_secret_ct=b_token))
        db.session.execute(sa.update(User).where(User.id == second.id).values(totp_secret_ct=a_token))
        db.session.commit()
        db.session.expire_all()
        with pytest.raises(DecryptionError, match=f"users:totp_secret:{first.id}"):
            _ = db.session.get(User, first.id).totp_secret


def _rotated_app(app, tmp_path):
    """The same database, with a new active key and the old one kept for reading."""
    settings = make_settings(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path,
                             PASSERELLE_ENCRYPTION_KEYS=f"t2:{new_key()},{ENCRYPTION_KEYS}",
                             PASSERELLE_INDEX_KEY=INDEX_KEY)
    return create_app(settings)


def _key_ids(application) -> list[str]:
    ids = []
    with application.app_context():
        for model in encrypted_models():
            for field in model.__encrypted__.values():
                column = getattr(model, field.storage)
                ids += [t.split(":")[1] for t in db.session.scalars(
                    sa.select(column).where(column.is_not(None)))]
    return ids


def _plaintexts(application) -> list[str]:
    """Every encrypted value of the database, decrypted, sorted."""
    values = []
    with application.app_context():
        for model in encrypted_models():
            for row in db.session.scalars(sa.select(model)):
                values += [str(getattr(row, name)) for name in model.__encrypted__
                           if getattr(row, model.__encrypted__[name].storage) is not None]
    return sorted(values)


def test_rotation_can_be_interrupted_and_resumed(app, build, tmp_path):
    for i in range(3):
        fill_every_encrypted_table(build, f"{MARKER}{i}")
    before = _plaintexts(app)
    assert set(_key_ids(app)) == {"t1"}
    rotated = _rotated_app(app, tmp_path)
    runner = rotated.test_cli_runner()
    half = runner.invoke(args=["keys", "rotate", "--batch-size", "2", "--max-batches", "2"])
    assert half.exit_code == 0, half.output
    ids = _key_ids(rotated)
    assert 0 < ids.count("t2") < len(ids) and ids.count("t1") > 0
    assert _plaintexts(rotated) == before  # mixed keys: everything still reads
    rest = runner.invoke(args=["keys", "rotate", "--batch-size", "3"])
    assert rest.exit_code == 0 and "0 rows left" in rest.output
    assert set(_key_ids(rotated)) == {"t2"}
    assert _plaintexts(rotated) == before
    again = runner.invoke(args=["keys", "rotate"])
    assert "re-encrypted 0 rows" in again.output
    with rotated.app_context():
        from app.core.audit import verify_chain

        verify_chain(db.session)


def test_missing_old_key_is_a_clear_error(app, build, tmp_path):
    from app.auth.models import User

    fill_every_encrypted_table(build, MARKER)
    settings = make_settings(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path,
                             PASSERELLE_ENCRYPTION_KEYS=f"t9:{new_key()}")
    stranger = create_app(settings)
    with stranger.app_context():
        user = db.session.scalars(sa.select(User).where(User.totp_secret_ct.is_not(None))).first()
        with pytest.raises(DecryptionError, match="key 't1' is not in the key ring"):
            _ = user.totp_secret


def test_rotation_with_a_key_missing_from_the_ring_fails_in_one_line_and_changes_nothing(
        app, build, tmp_path):
    from app.auth.models import User
    from tests.conftest import OLD_KEYS_ONLY

    fill_every_encrypted_table(build, MARKER)
    # One row written by an older installation, under a key this ring no longer holds.
    older = create_app(make_settings(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "old",
                                     PASSERELLE_ENCRYPTION_KEYS=OLD_KEYS_ONLY))
    lost = build.user("accueil")
    with older.app_context():
        db.session.get(User, lost.id).totp_secret = "written under t0"
        db.session.commit()
    before = sorted(_key_ids(app))
    assert "t0" in before
    rotated = create_app(make_settings(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "new",
                                       PASSERELLE_ENCRYPTION_KEYS=f"t9:{new_key()},{ENCRYPTION_KEYS}"))
    result = rotated.test_cli_runner().invoke(args=["keys", "rotate", "--batch-size", "2"])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "key 't0'" in lines[0] and "users.totp_secret" in lines[0]
    assert "not in the key ring" in lines[0] and "Traceback" not in result.output
    assert sorted(_key_ids(rotated)) == before  # nothing re-encrypted
    with rotated.app_context():
        from app.core.audit import AuditEntry

        assert not db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "keys.rotate_batch"))


def test_a_tampered_row_stops_the_rotation_in_one_line(app, build, tmp_path):
    from app.auth.models import User

    first, second = build.user("accueil"), build.user("accueil")
    with app.app_context():
        a, b = db.session.get(User, first.id), db.session.get(User, second.id)
        a.totp_secret, b.totp_secret = "secret of a", "secret of b"
        db.session.commit()
        db.session.execute(sa.update(User).where(User.id == first.id)
                           .values(totp_secret_ct=b.totp_secret_ct))
        db.session.commit()
    rotated = _rotated_app(app, tmp_path)
    result = rotated.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: keys rotate: "), result.stderr
    assert f"users:totp_secret:{first.id}" in lines[0] and "does not decrypt" in lines[0]
