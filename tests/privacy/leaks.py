"""Search every table of the CRM app for a person's data: the proof of erasure.

The tables and columns come from Django's registry (every model of the app label
`saleor_crm`, every text, char and JSON column), not from a hand list: a table added later is
searched too.
"""

from django.apps import apps
from django.db import models
from django.db.models import Q, TextField
from django.db.models.functions import Cast

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def searched_columns() -> list[tuple[type[models.Model], str]]:
    """(model, field name) of every text, char and JSON column of the CRM's tables."""
    return [
        (model, field.name)
        for model in apps.get_app_config("saleor_crm").get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, TEXT_FIELDS)
    ]


def find_personal_data(terms) -> list[tuple[str, str, object, str]]:
    """(table, column, row pk, term) of each CRM row whose column holds one of these texts
    (case-insensitive; JSON columns as their text)."""
    terms = [term for term in terms if term]
    found = []
    for model, name in searched_columns():
        column = f"crm_text_{name}"
        rows = model._base_manager.annotate(**{column: Cast(name, TextField())})
        condition = Q()
        for term in terms:
            condition |= Q(**{f"{column}__icontains": term})
        for pk, text in rows.filter(condition).values_list("pk", column):
            found.extend(
                (model._meta.db_table, name, pk, term)
                for term in terms
                if term.lower() in (text or "").lower()
            )
    return found
