"""Pilotage pages: the coordinator's stalled work, the indicators with charts and CSV."""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from app.accueil import search
from app.accueil.models import Person
from app.appointments import services as appointments
from app.core.csv import csv_response, write_rows
from app.core.db import load_many, utcnow
from app.core.enums import CHANNEL_LABELS, DOMAIN_LABELS
from app.core.errors import ServiceError, ValidationFailed
from app.core.forms import ConfirmForm, parse_date
from app.core.pagination import ListPage
from app.core.permissions import access
from app.core.routing import replica_reads
from app.core.spine import get_visible_or_404, refuse
from app.directory.models import Structure
from app.orientation import reminders, services
from app.orientation.deadlines import local_date
from app.orientation.forms import REFUSAL_LABELS, ReasonForm
from app.orientation.models import Orientation
from app.orientation.scopes import visible_orientations
from app.orientation.status import STALL_LABELS
from app.pilotage import charts, indicators
from app.pilotage import services as pilotage
from app.pilotage.presenters import month_label, over_target
from app.referents import services as referent_services
from app.referents.forms import OUTCOME_LABELS
from app.referents.models import Parcours

bp = Blueprint("pilotage", __name__, url_prefix="/pilotage", template_folder="templates")
PER_PAGE = 50


# -- stalled work -------------------------------------------------------------------------------
@bp.route("/stalled")
@access("orientation.stalled")
def stalled():
    page_number = max(1, request.args.get("page", 1, type=int))
    found, total = reminders.stalls_page(visible_orientations(current_user), limit=PER_PAGE,
                                         offset=(page_number - 1) * PER_PAGE)
    views = reminders.stall_views(found)
    page = ListPage([None] * total, page_number, PER_PAGE)
    silent_number = max(1, request.args.get("silent_page", 1, type=int))
    silent, silent_total = pilotage.silent_parcours_page(
        current_user.territory, limit=PER_PAGE, offset=(silent_number - 1) * PER_PAGE)
    silent_page = ListPage([None] * silent_total, silent_number, PER_PAGE)
    persons = {p.id: p for p in load_many(
        Person, {p.person_id for p in silent} | {s.orientation.person_id for s in found})}
    return render_template("pilotage/stalled.html", views=views, stalls=found, silent=silent,
                           page=page, silent_page=silent_page,
                           bursts=search.bursts(current_user.territory),
                           burst_days=search.BURST_DAYS,
                           persons=persons, confirm=ConfirmForm(), comment_form=ReasonForm(),
                           **_without_outcome(),
                           STALL_LABELS=STALL_LABELS)


def _without_outcome() -> dict[str, Any]:
    """The territory's appointments passed without an outcome (issue 20), a page of them."""
    number = max(1, request.args.get("appointments_page", 1, type=int))
    rows, total = appointments.without_outcome_page(visible_orientations(current_user),
                                                    limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
    structures = {s.id: s for s in load_many(Structure, {w.orientation.structure_id for w in rows})}
    people = {p.id: p for p in load_many(Person, {w.orientation.person_id for w in rows})}
    return {"without_outcome": rows, "without_outcome_total": total,
            "without_outcome_page": ListPage([None] * total, number, PER_PAGE),
            "without_outcome_after": appointments.WITHOUT_OUTCOME_AFTER,
            "without_outcome_structures": structures, "without_outcome_persons": people}


def _orientation_for_coordinator(orientation_id: uuid.UUID, permission: str) -> Orientation:
    return get_visible_or_404(Orientation, orientation_id, permission, read="orientation.read")


@bp.route("/orientations/<uuid:orientation_id>/escalate", methods=["POST"])
@access("orientation.escalate")
def escalate(orientation_id: uuid.UUID):
    orientation = _orientation_for_coordinator(orientation_id, "orientation.remind")
    if ConfirmForm().validate_on_submit():
        try:
            reminders.escalate_now(orientation, current_user)
        except ServiceError as error:
            refuse(error)
        else:
            flash(_("Signalement envoyé à la direction de la structure."), "success")
    return redirect(url_for("pilotage.stalled"))


@bp.route("/orientations/<uuid:orientation_id>/comment", methods=["POST"])
@access("orientation.coordination_comment")
def comment(orientation_id: uuid.UUID):
    orientation = _orientation_for_coordinator(orientation_id, "orientation.remind")
    form = ReasonForm()
    if form.validate_on_submit():
        services.comment(orientation, current_user, form.reason.data)
        flash(_("Commentaire de coordination ajouté à l'orientation."), "success")
    else:
        flash(_("Écrivez un commentaire."), "error")
    return redirect(url_for("pilotage.stalled"))


# -- silent parcours: the same actions as the stalled orientations (issue 24, item 13) ----------
def _silent_parcours(parcours_id: uuid.UUID, permission: str) -> Parcours:
    return get_visible_or_404(Parcours, parcours_id, permission, read="parcours.read")


@bp.route("/parcours/<uuid:parcours_id>/remind", methods=["POST"])
@access("parcours.remind")
def remind_parcours(parcours_id: uuid.UUID):
    parcours = _silent_parcours(parcours_id, "parcours.remind")
    if ConfirmForm().validate_on_submit():
        try:
            referent_services.remind_referent(parcours, current_user)
        except ServiceError as error:
            refuse(error)
        else:
            flash(_("Relance envoyée au référent du parcours."), "success")
    return redirect(url_for("pilotage.stalled", _anchor="silent-title"))


@bp.route("/parcours/<uuid:parcours_id>/comment", methods=["POST"])
@access("parcours.coordination_comment")
def comment_parcours(parcours_id: uuid.UUID):
    parcours = _silent_parcours(parcours_id, "parcours.coordination_comment")
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            referent_services.coordination_comment(parcours, current_user, form.reason.data)
        except ServiceError as error:
            refuse(error)
        else:
            flash(_("Commentaire ajouté au journal du parcours, visible de son référent."),
                  "success")
    else:
        flash(_("Écrivez un commentaire."), "error")
    return redirect(url_for("pilotage.stalled", _anchor="silent-title"))


# -- indicators ---------------------------------------------------------------------------------
def _delays(report: indicators.Report) -> list[tuple[str, float | None, int]]:
    """The medians against their targets: (label, median or None, target)."""
    totals = report.totals
    return [(_("Accusé de réception (jours ouvrés)"), totals["median_ack_working_days"],
             report.targets["ack_working_days"]),
            (_("Prise en charge (jours ouvrés)"), totals["median_take_charge_working_days"],
             report.targets["take_charge_working_days"]),
            (_("Désignation d'un référent (jours)"), totals["median_referent_designation_days"],
             report.targets["referent_designation_days"]),
            (_("Premier rendez-vous honoré (jours)"),
             totals["median_days_to_first_kept_appointment"],
             report.targets["first_kept_appointment_days"])]


def _plotted(value: Any) -> float | None:
    """A figure as a chart draws it: a masked one is not drawn (no bar, "—"), as if unknown."""
    return None if isinstance(value, indicators.Masked) else value


def _charts(report: indicators.Report) -> dict[str, str]:
    months = [month_label(m["month"]) for m in report.months]
    out = {
        "months": charts.bars(months, [
            charts.Series(_("Passages"), [_plotted(m["visits"]) for m in report.months]),
            charts.Series(_("Orientations"),
                          [_plotted(m["orientations"]) for m in report.months])],
            _("Évolution par mois"), chart_id="months-chart"),
        "domains": charts.hbars([(str(DOMAIN_LABELS.get(d["domain"], d["domain"])),
                                  _plotted(d["needs"])) for d in report.domains],
                                _("Besoins par domaine")),
    }
    delays = _delays(report)
    out["delays"] = charts.bars(
        [label for label, _v, _t in delays],
        [charts.Series(_("Médiane"), [_plotted(v) for _l, v, _t in delays]),
         charts.Series(_("Cible"), [t for _l, _v, t in delays])],
        _("Délais médians et cibles"),
        target=report.targets["referent_designation_days"],
        target_label=_("objectif : un mois"), chart_id="delays-chart")
    return out


def group_label(by: str | None, group: dict[str, Any]) -> str:
    """A group row's label, with domain and channel codes in words."""
    labels = {"domain": DOMAIN_LABELS, "channel": CHANNEL_LABELS}.get(by or "")
    if labels is not None and group["key"] is not None:
        return str(labels.get(group["key"], group["label"]))
    return group["label"]


def _query_args(query: indicators.Query) -> dict[str, str]:
    """The address arguments of the period shown (not of a wrong one asked for)."""
    args = {"from": query.date_from.isoformat(), "to": query.date_to.isoformat(),
            "by": query.by, "territory": query.territory}
    return {name: value for name, value in args.items() if value}


def _typed_period() -> tuple[dict[str, str], dict[str, list[str]]]:
    """The page's dates as typed, JJ/MM/AAAA (FrenchDateField's parsing; AAAA-MM-JJ still
    accepted), turned into the ISO dates ``indicator_query`` reads, as the API sends them."""
    args, errors = request.args.to_dict(), {}
    for name in ("from", "to"):
        typed = (args.get(name) or "").strip()
        if typed:
            parsed = parse_date(typed)
            if parsed is None:
                errors[name] = [_("Date non reconnue : écrivez-la au format JJ/MM/AAAA.")]
                args.pop(name)
            else:
                args[name] = parsed.isoformat()
    return args, errors


@bp.route("/indicators")
@access("indicators.read")
def indicators_page():
    args, errors = _typed_period()
    try:
        query = pilotage.indicator_query(args, current_user)
    except ValidationFailed as error:
        errors = {**error.fields, **errors}  # shown with their fields; the default period meanwhile
        query = pilotage.indicator_query({}, current_user)
    if errors:  # a date not understood: the default period too, as the summary says
        query = pilotage.indicator_query({}, current_user)
    with replica_reads() as route:  # the route says how recent the replica's figures are
        report = indicators.publish(query)   # small counts masked, as in the CSV and the API
    territories = pilotage.territory_choices(current_user)
    return render_template("pilotage/indicators.html", report=report, charts=_charts(report),
                           figures_as_of=route.as_of,
                           is_masked=indicators.is_masked, small=indicators.SMALL,
                           delays=_delays(report), errors=errors, group_label=group_label,
                           month_label=month_label, over_target=over_target,
                           earliest=indicators.EARLIEST,
                           latest=indicators.latest(local_date(utcnow())),
                           csv_args=_query_args(query),
                           territories=territories,
                           REFUSAL_LABELS=REFUSAL_LABELS, OUTCOME_LABELS=OUTCOME_LABELS,
                           CHANNEL_LABELS=CHANNEL_LABELS)


METRIC_LABELS = {
    "persons_welcomed": "Personnes accueillies", "persons_new": "Nouvelles personnes",
    "persons_returning": "Personnes déjà connues", "anonymous_share": "Part d'anonymes (%)",
    "visits": "Passages", "answered_share": "Réponses sur place (%)",
    "orientations_sent": "Orientations envoyées",
    "acknowledged_within_delay": "Accusées dans le délai (%)",
    "median_ack_working_days": "Médiane accusé de réception (jours ouvrés)",
    "median_take_charge_working_days": "Médiane prise en charge (jours ouvrés)",
    "refusal_rate": "Taux de refus (%)", "refusals": "Refus", "redirections": "Réorientations",
    "parcours_opened": "Parcours ouverts", "parcours_closed": "Parcours clos",
    "median_referent_designation_days": "Médiane désignation d'un référent (jours)",
    "meetings": "Réunions", "meetings_person_present": "Réunions avec la personne présente (%)",
    "updates_requested_share": "Personnes souhaitant être informées (%)",
    "updates_sent": "Messages envoyés aux personnes", "updates_failed": "Messages en échec",
    "appointments_kept": "Rendez-vous honorés", "appointments_missed": "Rendez-vous manqués",
    "orientations_with_kept_appointment": "Orientations avec un rendez-vous honoré",
    "median_days_to_first_kept_appointment":
        "Médiane de l'envoi au premier rendez-vous honoré (jours)",
}
def _cell(value: Any) -> str:
    """A published figure as a CSV cell: a masked one reads as on the page (``< 5``), None
    (nothing measured, or a figure that does not apply to the grouping) is an empty cell."""
    if value is None:
        return ""
    return str(value).replace(".", ",") if isinstance(value, float) else str(value)


def _table(report: indicators.Report, table: str) -> tuple[list[str], list[list[str]]]:
    metrics = list(indicators.METRICS)
    if table == "totals":
        return ["indicateur", "valeur"], [[METRIC_LABELS[m], _cell(report.totals[m])]
                                          for m in metrics]
    if table == "groups":
        return (["groupe"] + [METRIC_LABELS[m] for m in metrics],
                [[group_label(report.query.by, g)] + [_cell(g.get(m)) for m in metrics]
                 for g in report.groups])
    if table == "months":
        return ["mois", "passages", "orientations"], [
            [month_label(m["month"]), _cell(m["visits"]), _cell(m["orientations"])]
            for m in report.months]
    if table == "domains":
        return ["domaine", "besoins", "orientations"], [
            [str(DOMAIN_LABELS.get(d["domain"], d["domain"])), _cell(d["needs"]),
             _cell(d["orientations"])] for d in report.domains]
    if table == "channels":
        return ["canal", "passages"], [[str(CHANNEL_LABELS.get(c["channel"], c["channel"])),
                                        _cell(c["count"])] for c in report.channels]
    if table == "refusals":
        return ["motif", "refus"], [[str(REFUSAL_LABELS.get(r["code"], r["code"] or "—")),
                                     _cell(r["count"])] for r in report.refusal_reasons]
    if table == "outcomes":
        return ["issue", "parcours"], [[str(OUTCOME_LABELS.get(o["outcome"], o["outcome"] or "—")),
                                        _cell(o["count"])]
                                       for o in report.parcours_outcomes]
    abort(404)


@bp.route("/indicators.csv")
@access("indicators.read")
def indicators_csv():
    query = pilotage.indicator_query(request.args, current_user)
    table = request.args.get("table", "totals")
    with replica_reads():
        header, rows = _table(indicators.publish(query), table)
    indicators.record_export(query, table, current_user)
    return csv_response(header, rows, f"indicateurs-{table}-{query.date_from}-{query.date_to}.csv")


EXPORT_ALL = ("totals", "months", "domains", "channels", "refusals", "outcomes", "groups")


@bp.route("/indicators.zip")
@access("indicators.read")
def indicators_zip():
    """"Tout exporter" (issue 24, item 12): every table of the page in one zip, one CSV each,
    the same files as the page's CSV links (the detail only when a grouping is asked)."""
    query = pilotage.indicator_query(request.args, current_user)
    with replica_reads():
        report = indicators.publish(query)
    period = f"{query.date_from}-{query.date_to}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in EXPORT_ALL:
            if table == "groups" and not report.groups:
                continue
            header, rows = _table(report, table)
            archive.writestr(f"indicateurs-{table}-{period}.csv",
                             ("\ufeff" + write_rows([header, *rows])).encode("utf-8"))
    indicators.record_export(query, "all", current_user)
    return Response(buffer.getvalue(), mimetype="application/zip", headers={
        "Content-Disposition": f"attachment; filename=indicateurs-{period}.zip"})
