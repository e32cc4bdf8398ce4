"""``sites create`` and ``structures create``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.cli import run_service
from app.directory import services

sites_cli = AppGroup("sites", help="Reception sites.")
structures_cli = AppGroup("structures", help="Partner structures.")


@sites_cli.command("create")
@click.argument("name")
@click.option("--kind", required=True, help="cms, mds, permanence, mobile or ccas")
@click.option("--territory", required=True)
@click.option("--address")
@click.option("--phone")
def create_site(name, kind, territory, address, phone):
    """Create a reception site; prints its id."""
    site = run_service(services.create_site, {"name": name, "kind": kind, "territory": territory,
                                              "address": address, "phone": phone})
    click.echo(site.id)


@structures_cli.command("create")
@click.argument("name")
@click.option("--kind", required=True)
@click.option("--domains", required=True, help="comma-separated domain codes")
@click.option("--territories", required=True, help="comma-separated territories")
@click.option("--contact-email")
@click.option("--ack-delay", type=int)
@click.option("--take-charge-delay", type=int)
def create_structure(name, kind, domains, territories, contact_email, ack_delay,
                     take_charge_delay):
    """Create a partner structure; prints its id."""
    structure = run_service(services.create_structure, {
        "name": name, "kind": kind, "domains": domains, "territories": territories,
        "contact_email": contact_email, "ack_delay": ack_delay,
        "take_charge_delay": take_charge_delay,
    })
    click.echo(structure.id)


directory_cli = AppGroup("directory", help="The partner directory.")


@directory_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--territory", help="territory given to every imported structure "
              "(default: the structure's commune)")
def import_directory(file, territory):
    """Import structures and services from a data·inclusion export (JSON, schema v1)."""
    from app.core.db import analyze, db
    from app.directory import importer

    try:
        report = importer.import_file(file, territory=territory)
        db.session.commit()
        analyze(importer.TABLES)
    except importer.ImportFileError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    for line in importer.describe(report):
        click.echo(line)
