"""A stateful property test: random sequences of actions by random users on an orientation never
reach a state the machine does not allow, never let an outsider see or change anything."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.helpers import api_token, bearer

ROLE = {"partner": "partenaire", "partner_other": "partenaire", "agent": "accueil",
        "agent_other": "accueil", "coordinator": "coordinateur", "admin": "admin"}
OUTSIDERS = {"partner_other", "agent_other"}
ACTIONS = {
    # action: (roles holding the permission, statuses it starts from, status it leads to)
    "acknowledge": ({"partenaire"}, {"sent"}, "acknowledged"),
    "take-charge": ({"partenaire"}, {"acknowledged"}, "in_charge"),
    "refuse": ({"partenaire"}, {"sent", "acknowledged"}, "refused"),
    "redirect": ({"partenaire", "coordinateur"}, {"sent", "acknowledged"}, "redirected"),
    "cancel": ({"accueil"}, {"sent"}, "cancelled"),
    "close": ({"partenaire"}, {"in_charge"}, "closed"),
}
ALLOWED_ACTORS = {"acknowledge": {"partner"}, "take-charge": {"partner"}, "refuse": {"partner"},
                  "close": {"partner"}, "redirect": {"partner", "coordinator"},
                  "cancel": {"agent"}}


def expected(actor: str, action: str, status: str) -> int:
    roles, starts, _target = ACTIONS[action]
    if ROLE[actor] not in roles:
        return 403
    if actor in OUTSIDERS:
        return 404
    if actor not in ALLOWED_ACTORS[action]:
        return 403
    if status not in starts:
        return 409
    return 201 if action == "redirect" else 200


@pytest.fixture
def actors(client, build):
    agent = build.user("accueil")
    structure = build.structure()
    other = build.structure()
    users = {
        "partner": build.user("partenaire", structure=str(structure.id)),
        "partner_other": build.user("partenaire", structure=str(build.structure().id)),
        "agent": agent,
        "agent_other": build.user("accueil"),
        "coordinator": build.user("coordinateur", territory="Valence"),
        "admin": build.user("admin"),
    }
    person = build.person(agent)
    tokens = {name: bearer(api_token(client, user)) for name, user in users.items()}
    return type("Actors", (), {"tokens": tokens, "structure": structure, "other": other,
                               "person": person})


def test_random_sequences_respect_the_state_machine(app, client, actors):
    bodies = {"refuse": {"reason": "Hors compétence"}, "cancel": {"reason": "Erreur"},
              "close": {"outcome": "Terminé"}, "take-charge": {},
              "redirect": {"structure_id": str(actors.other.id), "reason": "Mieux placé"}}

    class Orientations(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            answer = client.post("/api/v1/orientations", headers=actors.tokens["agent"], json={
                "person_id": str(actors.person.id), "structure_id": str(actors.structure.id),
                "domain": "logement", "motive": "Motif",
                "consent": {"given": True, "shared_fields": ["first_name"]}})
            assert answer.status_code == 201
            self.oid = answer.get_json()["id"]
            self.status = "sent"

        @rule(actor=st.sampled_from(sorted(ROLE)), action=st.sampled_from(sorted(ACTIONS)))
        def act(self, actor, action):
            answer = client.post(f"/api/v1/orientations/{self.oid}/{action}",
                                 headers=actors.tokens[actor], json=bodies.get(action))
            want = expected(actor, action, self.status)
            assert answer.status_code == want, (actor, action, self.status, answer.get_json())
            if want in (200, 201):
                self.status = ACTIONS[action][2]

        @invariant()
        def the_state_is_what_the_model_says(self):
            seen = client.get(f"/api/v1/orientations/{self.oid}", headers=actors.tokens["agent"])
            assert seen.get_json()["status"] == self.status

        @invariant()
        def outsiders_see_nothing(self):
            for outsider in OUTSIDERS:
                answer = client.get(f"/api/v1/orientations/{self.oid}",
                                    headers=actors.tokens[outsider])
                assert answer.status_code == 404
                assert "Motif" not in answer.get_data(as_text=True)

    run_state_machine_as_test(Orientations, settings=settings(
        max_examples=12, stateful_step_count=8, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
