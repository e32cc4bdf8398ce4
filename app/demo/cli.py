"""``demo seed``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app.core.cli import run_service
from app.demo import seed as demo_seed

demo_cli = AppGroup("demo", help="Demo and synthetic data.")


@demo_cli.command("seed")
def seed():
    """Create the demo sites, structures and users once; print the logins."""
    if current_app.config["PASSERELLE_ENV"] == "production":
        raise click.ClickException("demo seed refuses to run in production")
    report = run_service(demo_seed.seed)
    click.echo(f"demo data: {report.created} records created")
    click.echo("Demo logins (role, e-mail, password):")
    for role, email, password in report.logins:
        click.echo(f"  {role:<18} {email:<40} {password}")
    from app.auth.mfa import required_roles

    roles = required_roles()
    if roles:
        click.echo(f"Roles {', '.join(sorted(roles))} enrol a second factor (an authenticator "
                   "app) at their first login.")


@demo_cli.command("generate")
@click.option("--persons", type=click.IntRange(1, 20_000_000), required=True)
@click.option("--visits-per-person", type=click.IntRange(1, 20), default=3, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes generating batches (PostgreSQL; default: one per core, up to 4).")
@click.option("--defer-indexes", is_flag=True,
              help="PostgreSQL: drop the loaded tables' plain indexes and build them at the end "
                   "(faster; for a database nobody uses meanwhile).")
def generate(persons: int, visits_per_person: int, seed: int, workers: int | None,
             defer_indexes: bool):
    """Synthetic persons, visits, orientations, parcours, appointments and documents,
    encrypted and indexed as the app does (run `demo seed` first)."""
    import sys
    import time

    from app.demo import generate as generator

    if current_app.config["PASSERELLE_ENV"] == "production":
        raise click.ClickException("demo generate refuses to run in production")
    demo_seed.seed(with_persons=False)
    from app.core.db import db

    db.session.commit()
    started = time.monotonic()
    try:
        with click.progressbar(length=persons, label="generating", file=sys.stderr) as bar:
            report = generator.generate(persons, visits_per_person, seed, on_batch=bar.update,
                                        workers=workers, defer_indexes=defer_indexes)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    elapsed = time.monotonic() - started
    click.echo(f"{report.persons} persons, {report.visits} visits, {report.orientations} "
               f"orientations, {report.parcours} parcours, {report.appointments} appointments, "
               f"{report.documents} documents in {elapsed:.1f} s")
    click.echo(report.persons)
