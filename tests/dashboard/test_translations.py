"""The pages' message catalogues (saleor_crm_plugin/locale/): complete, and compiled as committed.

`make messages` writes them (Django's makemessages and compilemessages); these tests read the
.po as text and the .mo with the standard library, so they need no gettext.
"""

import gettext
import json
from pathlib import Path

import pytest

import saleor_crm_plugin
from saleor_crm_plugin.dashboard.text import LANGUAGES, MESSAGES, words

LOCALE = Path(saleor_crm_plugin.__file__).resolve().parent / "locale"
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]  # English is the msgid


def _po_entries(path: Path) -> list[dict]:
    """Each entry of a .po file: its flags, msgctxt (None without), msgid and msgstr."""
    entries, entry, part = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry is not None:
                entries.append(entry)
            entry, part = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "msgctxt": None, "msgid": "", "msgstr": ""}
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[part] += json.loads(line)
        else:
            part, _, text = line.partition(" ")
            assert part in ("msgctxt", "msgid", "msgstr"), f"{path}: cannot read {line!r}"
            entry[part] = json.loads(text)
    return [entry for entry in entries if entry["msgid"]]  # not the header


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_has_a_translation(lang):
    # given
    entries = _po_entries(LOCALE / lang / "LC_MESSAGES" / "django.po")

    # then: no message is untranslated or left fuzzy in the catalogue...
    untranslated = [e["msgid"] for e in entries if not e["msgstr"].strip()]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []
    # ...and the catalogue has every message the pages use (else: `make messages`)
    known = {e["msgid"] for e in entries}
    english = words("en")
    assert sorted(key for key in MESSAGES if english[key] not in known) == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_committed_compiled_catalogue_is_the_po_file(lang):
    # given
    folder = LOCALE / lang / "LC_MESSAGES"
    entries = _po_entries(folder / "django.po")

    # when
    with (folder / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog

    # then: msgfmt keys a message with a context as "context\x04msgid"
    expected = {
        (f"{e['msgctxt']}\x04" if e["msgctxt"] is not None else "") + e["msgid"]: e["msgstr"]
        for e in entries
    }
    assert {key: text for key, text in catalog.items() if key} == expected


def test_the_pages_words_come_from_the_catalogue():
    english, japanese = words("en"), words("ja")

    assert set(english) == set(japanese) == set(MESSAGES)
    assert (english["overview"], japanese["overview"]) == ("Overview", "概要")
    # one English word, two Japanese ones: the context tells them apart
    assert (english["customers"], english["customers_count"]) == ("Customers", "Customers")
    assert (japanese["customers"], japanese["customers_count"]) == ("顧客", "顧客数")
