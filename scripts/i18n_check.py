"""Keep the catalogues complete.

    python scripts/i18n_check.py                 # fail when fr or en has an untranslated entry
    python scripts/i18n_check.py --fill-french   # French is the source: msgstr = msgid
    python scripts/i18n_check.py --missing       # print the English entries still to translate
    python scripts/i18n_check.py --apply F.json  # merge {"French": "English"} into en
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "translations"


def _load(lang: str):
    path = ROOT / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return path, read_po(handle, locale=lang)


def _save(path: Path, catalog) -> None:
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, sort_output=True,
                 ignore_obsolete=True, include_previous=False)


def _untranslated(catalog) -> list[str]:
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if message.fuzzy or not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def fill_french() -> None:
    path, catalog = _load("fr")
    for message in catalog:
        if not message.id:
            continue
        message.string = tuple(message.id) if isinstance(message.id, (list, tuple)) else message.id
        message.flags.discard("fuzzy")
    _save(path, catalog)


def apply(mapping_file: str) -> None:
    mapping = json.loads(Path(mapping_file).read_text("utf-8"))
    path, catalog = _load("en")
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in mapping:
            value = mapping[key]
            message.string = tuple(value) if isinstance(value, list) else value
            message.flags.discard("fuzzy")
    _save(path, catalog)


def main(argv: list[str]) -> int:
    if "--fill-french" in argv:
        fill_french()
        return 0
    if "--apply" in argv:
        apply(argv[argv.index("--apply") + 1])
        return 0
    if "--missing" in argv:
        _path, catalog = _load("en")
        print(json.dumps({m: "" for m in _untranslated(catalog)}, ensure_ascii=False, indent=1))
        return 0
    status = 0
    for lang in ("fr", "en"):
        _path, catalog = _load(lang)
        missing = _untranslated(catalog)
        if missing:
            status = 1
            print(f"translations/{lang}: {len(missing)} untranslated entries, for example:",
                  *missing[:5], sep="\n  ", file=sys.stderr)
    if status:
        print("run `make translations`, translate, then `make test` again", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
