"""The SMS adapter: one provider HTTP API, configured by settings, off by default.

``PASSERELLE_SMS_URL`` receives ``POST {"to", "from", "text"}`` (JSON) with
``Authorization: Bearer PASSERELLE_SMS_TOKEN``; any 2xx answer means accepted. Anything else
raises, and the outbox retries later: nothing is lost while the provider is down.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from flask import current_app

from app.notifications.models import OutboxMessage

TIMEOUT = 10


class SmsNotConfigured(RuntimeError):
    pass


class SmsRefused(RuntimeError):
    def __init__(self, status: int):
        super().__init__(f"provider answered {status}")
        self.status = status  # kept in the outbox's last_error (the text is not)


def send(message: OutboxMessage) -> None:
    config = current_app.config
    url = config.get("PASSERELLE_SMS_URL")
    if not url:
        raise SmsNotConfigured("PASSERELLE_SMS_URL is not set")
    if not url.startswith(("https://", "http://")):
        raise SmsNotConfigured("PASSERELLE_SMS_URL must be an http(s) address")
    payload = json.dumps({"to": message.recipient, "from": config.get("PASSERELLE_SMS_SENDER"),
                          "text": message.body}).encode("utf-8")
    request = urllib.request.Request(url, data=payload, method="POST", headers={  # noqa: S310
        "Content-Type": "application/json",
        "Authorization": f"Bearer {config.get('PASSERELLE_SMS_TOKEN') or ''}"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 - operator URL
            if not 200 <= answer.status < 300:
                raise SmsRefused(answer.status)
    except urllib.error.HTTPError as error:
        raise SmsRefused(error.code) from None

