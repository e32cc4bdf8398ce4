"""gunicorn settings used by `make run` (and production, with `-c gunicorn.conf.py`).

The access log holds the path only (``%(U)s``), never the query string: search terms, names and
reception numbers typed in a search box must not end up in a log file. Paths that carry a secret
(a contact link's token, the token of the link that stops follow-up messages) are written with
the token replaced (``app.core.http.redact_path``), in every atom that holds the path.
"""

import os

from gunicorn.glogging import Logger

from app.core.http import redact_path


class RedactingLogger(Logger):
    """gunicorn's logger, with the secrets of paths replaced in the access log's atoms."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact_path(atoms.get("U"))
        method, _sep, rest = (atoms.get("r") or "").partition(" ")
        uri, _sep2, protocol = rest.rpartition(" ")
        atoms["r"] = f"{method} {redact_path(uri.split('?', 1)[0])} {protocol}"
        for key in ("{raw_uri}e", "{path_info}e", "{request_uri}e", "{script_name}e"):
            if key in atoms:
                atoms[key] = redact_path(str(atoms[key]).split("?", 1)[0])
        atoms["f"] = "-"  # a referrer may be a secret path too (we send no-referrer anyway)
        atoms["{referer}i"] = "-"
        return atoms

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
logger_class = RedactingLogger
errorlog = "-"
loglevel = "info"
