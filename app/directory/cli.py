"""``sites create`` and ``structures create``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.commands import run_service
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
