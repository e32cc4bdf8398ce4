"""Required fields say "obligatoire" (issue 24, item 15), and a date not understood keeps its
own message rather than "obligatoire"."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict


def test_required_says_obligatoire_and_a_bad_date_says_why(app):
    from flask_babel import force_locale
    from flask_wtf import FlaskForm
    from wtforms import StringField

    from app.core.forms import DataRequired, FrenchDateField

    class Form(FlaskForm):
        class Meta:
            csrf = False

        name = StringField("Nom", validators=[DataRequired()])
        on = FrenchDateField("Date", validators=[DataRequired()])

    with app.test_request_context(), force_locale("fr"):
        form = Form(formdata=MultiDict({"name": "", "on": ""}))
        assert not form.validate()
        assert form.name.errors == ["Ce champ est obligatoire."]
        assert form.on.errors == ["Ce champ est obligatoire."]
        form = Form(formdata=MultiDict({"name": "x", "on": "31/02/2026"}))
        assert not form.validate()
        assert form.on.errors == ["Date non reconnue : écrivez-la au format JJ/MM/AAAA."]
        form = Form(formdata=MultiDict({"name": "x", "on": "05032026"}))
        assert form.validate() and form.on.data.isoformat() == "2026-03-05"
