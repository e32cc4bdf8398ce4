"""Appointment forms: a new appointment, its attendance (with the new date of a rescheduled
one), and what follows two missed appointments."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.appointments.presenters import ATTENDANCE_LABELS
from app.core.forms import DataRequired, FrenchDateField

PLACE_CHOICES = [SelectChoice("address", _l("À l'adresse de la structure")),
                 SelectChoice("phone", _l("Par téléphone")),
                 SelectChoice("other", _l("Autre lieu (à préciser)"))]


def place_choices(addresses: list[str]) -> list[SelectChoice]:
    """The structure's addresses (each its own choice, its text as value), by phone, other."""
    return ([SelectChoice(f"address:{a}", a) for a in addresses]
            + [SelectChoice("phone", _l("Par téléphone")),
               SelectChoice("other", _l("Autre lieu (à préciser ci-dessous)"))])


def split_place(value: str | None) -> tuple[str | None, str | None]:
    """A place choice: ``address:<text>`` → ("address", text); "phone"/"other" → (kind, None)."""
    if not value:
        return None, None
    if value.startswith("address:"):
        return "address", value[len("address:"):]
    return value, None


class AppointmentForm(FlaskForm):
    scheduled_on = FrenchDateField(_l("Date du rendez-vous"), validators=[DataRequired()],
                                   id="appointment-date", description=_l("Au format JJ/MM/AAAA."))
    scheduled_time = TimeField(_l("Heure (facultatif)"), validators=[Optional()],
                               id="appointment-time")
    place_choice = RadioField(_l("Lieu"), choices=[], validate_choice=False,
                              validators=[DataRequired()], id="appointment-place")
    place_other = StringField(_l("Autre lieu : adresse ou précision"),
                              validators=[Optional(), Length(max=300)],
                              id="appointment-place-other")
    with_whom = StringField(_l("Avec qui (facultatif)"), validators=[Optional(), Length(max=200)],
                            id="appointment-with-whom")
    attendance = SelectField(_l("Si le rendez-vous a déjà eu lieu"), choices=[
        SelectChoice("", _l("— pas encore —"))] + [
        SelectChoice(k, v) for k, v in ATTENDANCE_LABELS.items() if k != "rescheduled"],
        validators=[Optional()], id="appointment-attendance")

    def data_for_service(self) -> dict:
        kind, address = split_place(self.place_choice.data)
        return {"scheduled_on": self.scheduled_on.data, "scheduled_time": self.scheduled_time.data,
                "place_kind": kind,
                "place": address if kind == "address" else self.place_other.data,
                "with_whom": self.with_whom.data, "attendance": self.attendance.data or None}


class AttendanceForm(FlaskForm):
    """Rendered by hand on the page (one per appointment, ids made unique there)."""
    attendance = RadioField(_l("Ce qui s'est passé"), validate_choice=False,
                            validators=[DataRequired()],
                            choices=[SelectChoice(k, v) for k, v in ATTENDANCE_LABELS.items()])
    new_scheduled_on = FrenchDateField(validators=[Optional()])
    new_scheduled_time = TimeField(validators=[Optional()])
    new_place_choice = StringField(validators=[Optional(), Length(max=320)])
    new_place_other = StringField(validators=[Optional(), Length(max=300)])
    new_with_whom = StringField(validators=[Optional(), Length(max=200)])

    def new_appointment(self) -> dict | None:
        if self.attendance.data != "rescheduled":
            return None
        kind, address = split_place(self.new_place_choice.data)
        return {"scheduled_on": self.new_scheduled_on.data,
                "scheduled_time": self.new_scheduled_time.data, "place_kind": kind,
                "place": address if kind == "address" else self.new_place_other.data,
                "with_whom": self.new_with_whom.data}


END_LABELS = {"close": _l("Clôturer l'orientation : la personne n'est pas venue"),
              "hand_back": _l("Rendre l'orientation à l'émetteur, qui en est prévenu")}


class EndAfterMissedForm(FlaskForm):
    decision = RadioField(_l("Après deux rendez-vous manqués"), validators=[DataRequired()],
                          choices=[SelectChoice(k, v) for k, v in END_LABELS.items()],
                          id="end-decision")
    comment = TextAreaField(_l("Précision (facultatif)"), validators=[Optional(), Length(max=2000)],
                            id="end-comment", render_kw={"rows": 2})


class CannotComeForm(FlaskForm):
    """The person's button "Je ne peux pas venir" (nothing but its CSRF token)."""
