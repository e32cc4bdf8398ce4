"""WSGI entry point for gunicorn and ``flask --app wsgi``."""

import sys

from app import create_app
from config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    print(f"Passerelle: {error}", file=sys.stderr)
    sys.exit(1)
