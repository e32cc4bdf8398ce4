"""The load generator: a mixed workload of the three roles for a fixed duration, from its own
process, against one base URL. Prints nothing; writes a JSON list of (operation, ms, status).

    python bench/load.py CONFIG.json OUT.json
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time

import requests

WEIGHTS = {"search": 25, "open_file": 20, "record_visit": 10, "send_orientation": 5,
           "partner_inbox": 15, "orientation_detail": 10, "acknowledge": 5, "stalled": 5,
           "indicators": 1}


def main(config_path: str, out_path: str) -> None:
    config = json.load(open(config_path, encoding="utf-8"))
    base, duration, threads = config["base"], config["duration"], config["threads"]
    sent = list(config["sent_orientations"])
    lock = threading.Lock()
    results: list[tuple[str, float, int]] = []
    tokens = config.get("tokens") or {}

    def headers(role: str) -> dict:
        return {"Authorization": f"Bearer {tokens[role]}"} if role in tokens else {}

    def run(op: str, session: requests.Session, rng: random.Random) -> tuple[int, str]:
        if op == "search":
            q = rng.choice(config["queries"])
            return session.get(f"{base}/api/v1/persons", params={"q": q, "per_page": 20},
                               headers=headers("accueil")).status_code, op
        if op == "open_file":
            pid = rng.choice(config["persons"])
            return session.get(f"{base}/api/v1/persons/{pid}", headers=headers("accueil")).status_code, op
        if op == "record_visit":
            pid = rng.choice(config["persons"])
            body = {"channel": "phone", "outcome": "pending", "summary": "Appel de suivi",
                    "needs": [{"domain": "logement", "urgency": "standard"}]}
            return session.post(f"{base}/api/v1/persons/{pid}/visits", json=body,
                                headers=headers("accueil")).status_code, op
        if op == "send_orientation":
            pid = rng.choice(config["persons"])
            body = {"person_id": pid, "structure_id": config["structure"], "domain": "logement",
                    "motive": "Orientation de test de charge", "coverage_override": "bench",
                    "consent": {"given": True, "shared_fields": ["first_name", "last_name"]}}
            return session.post(f"{base}/api/v1/orientations", json=body,
                                headers=headers("accueil")).status_code, op
        if op == "partner_inbox":
            return session.get(f"{base}/api/v1/orientations",
                               params={"status": "sent", "per_page": 20},
                               headers=headers("partenaire")).status_code, op
        if op == "orientation_detail":
            oid = rng.choice(config["orientations"])
            return session.get(f"{base}/api/v1/orientations/{oid}",
                               headers=headers("partenaire")).status_code, op
        if op == "acknowledge":
            with lock:
                oid = sent.pop() if sent else rng.choice(config["orientations"])
            return session.post(f"{base}/api/v1/orientations/{oid}/acknowledge",
                                headers=headers("partenaire")).status_code, op
        if op == "stalled":
            return session.get(f"{base}/api/v1/orientations/stalled", params={"per_page": 50},
                               headers=headers("coordinateur")).status_code, op
        if op == "indicators":
            return session.get(f"{base}/api/v1/indicators",
                               params={"from": config["year_from"], "to": config["year_to"]},
                               headers=headers("coordinateur")).status_code, op
        raise ValueError(op)

    deadline = time.monotonic() + duration

    def worker(index: int) -> None:
        rng = random.Random(index)
        session = requests.Session()
        ops, weights = zip(*(config.get("weights") or WEIGHTS).items(), strict=True)
        local = []
        while time.monotonic() < deadline:
            op = rng.choices(ops, weights)[0]
            started = time.perf_counter()
            try:
                status, _ = run(op, session, rng)
            except requests.RequestException:
                status = 0
            local.append((op, (time.perf_counter() - started) * 1000, status))
        with lock:
            results.extend(local)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    json.dump(results, open(out_path, "w", encoding="utf-8"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
