"""Moving in from the Dashboard page (staff with MANAGE_USERS): upload a file, see the dry
run's report, import it, follow its progress."""

import graphene

from ...imports.models import ImportRun
from ...imports.services import ImportArgumentError, apply_run, start_run
from ..core.errors import require_permission
from .types import CRMImportError, CRMImportRun

_FIELDS = {"file_name": "fileName", "content": "content", "id": "id"}


def _errors(error: ImportArgumentError) -> list[CRMImportError]:
    code = "not_found" if error.field == "id" and "no import" in error.message else "invalid"
    return [
        CRMImportError(
            field=_FIELDS.get(error.field, error.field), message=error.message, code=code
        )
    ]


class CRMImportStart(graphene.Mutation):
    """Upload an import file: it is checked (a dry run) or checked and imported in the
    background; poll `crmImportRun` for its progress and report."""

    run = graphene.Field(CRMImportRun)
    errors = graphene.List(graphene.NonNull(CRMImportError), required=True)

    class Arguments:
        kind = graphene.String(
            required=True, description="customers, points, ranks or subscriptions"
        )
        layout = graphene.String(default_value="generic", description="generic or shopify")
        source = graphene.String(required=True, description="The old system (a-z 0-9 - _).")
        file_name = graphene.String(default_value="")
        content = graphene.String(required=True, description="The CSV file's text.")
        dry_run = graphene.Boolean(default_value=True)
        skip_refused = graphene.Boolean(default_value=False)

    @staticmethod
    def mutate(_root, info, kind, source, content, layout, file_name, dry_run, skip_refused):
        requester = require_permission(info)
        try:
            run = start_run(
                kind=kind,
                layout=layout,
                source=source,
                file_name=file_name,
                content=content,
                dry_run=dry_run,
                skip_refused=skip_refused,
                actor=requester.actor,
            )
        except ImportArgumentError as error:
            return CRMImportStart(run=None, errors=_errors(error))
        return CRMImportStart(run=CRMImportRun.from_run(run), errors=[])


class CRMImportApply(graphene.Mutation):
    """Import the file of a finished dry run."""

    run = graphene.Field(CRMImportRun)
    errors = graphene.List(graphene.NonNull(CRMImportError), required=True)

    class Arguments:
        id = graphene.ID(required=True)
        skip_refused = graphene.Boolean(default_value=False)

    @staticmethod
    def mutate(_root, info, id, skip_refused):
        requester = require_permission(info)
        try:
            if not str(id).isdigit():
                raise ImportArgumentError("id", f"no import {id}")
            run = apply_run(int(id), skip_refused=skip_refused, actor=requester.actor)
        except ImportArgumentError as error:
            return CRMImportApply(run=None, errors=_errors(error))
        return CRMImportApply(run=CRMImportRun.from_run(run), errors=[])


class ImportQueries(graphene.ObjectType):
    crm_import_runs = graphene.List(
        graphene.NonNull(CRMImportRun),
        required=True,
        first=graphene.Int(default_value=10, description="At most 50."),
        description="The latest import runs, newest first (MANAGE_USERS).",
    )
    crm_import_run = graphene.Field(
        CRMImportRun,
        id=graphene.ID(required=True),
        description="An import run with its progress and report (MANAGE_USERS).",
    )

    @staticmethod
    def resolve_crm_import_runs(_root, info, first):
        require_permission(info)
        runs = ImportRun.objects.defer("content").order_by("-created_at", "-pk")
        return [CRMImportRun.from_run(run) for run in runs[: max(0, min(first, 50))]]

    @staticmethod
    def resolve_crm_import_run(_root, info, id):
        require_permission(info)
        run = ImportRun.objects.filter(pk=int(id)).first() if str(id).isdigit() else None
        return CRMImportRun.from_run(run) if run else None


class ImportMutations(graphene.ObjectType):
    crm_import_start = CRMImportStart.Field()
    crm_import_apply = CRMImportApply.Field()
