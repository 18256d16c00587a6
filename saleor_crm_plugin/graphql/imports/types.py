"""The import runs (moving in) as the staff API shows them."""

import graphene


class CRMImportErrorCode(graphene.Enum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"


class CRMImportError(graphene.ObjectType):
    field = graphene.String()
    message = graphene.String(required=True)
    code = graphene.Field(CRMImportErrorCode, required=True)


class CRMImportCount(graphene.ObjectType):
    what = graphene.String(required=True, description="customers, points, ranks, subscriptions")
    outcome = graphene.String(required=True, description="created, matched or unchanged")
    count = graphene.Int(required=True)


class CRMImportRefusal(graphene.ObjectType):
    file = graphene.String(required=True)
    line = graphene.Int(required=True, description="The file's line; the header is line 1.")
    field = graphene.String(required=True, description="The column ('' for the whole line).")
    reason = graphene.String(required=True)


class CRMImportRun(graphene.ObjectType):
    """One uploaded file: a dry run, or an import, and how far it got."""

    id = graphene.ID(required=True)
    kind = graphene.String(required=True)
    layout = graphene.String(required=True)
    source = graphene.String(required=True)
    file_name = graphene.String(required=True)
    dry_run = graphene.Boolean(required=True)
    status = graphene.String(
        required=True, description="pending, running, done, refused (nothing written), failed"
    )
    total_lines = graphene.Int(required=True)
    done_lines = graphene.Int(required=True)
    lines = graphene.Int(required=True, description="Data lines read.")
    counts = graphene.List(graphene.NonNull(CRMImportCount), required=True)
    created = graphene.Int(required=True)
    refused_lines = graphene.Int(required=True)
    refused = graphene.List(
        graphene.NonNull(CRMImportRefusal), required=True, description="The first 200."
    )
    error = graphene.String(required=True, description="Why the file was refused whole.")

    @staticmethod
    def from_run(run) -> "CRMImportRun":
        report = run.report or {}
        return CRMImportRun(
            id=str(run.pk),
            kind=run.kind,
            layout=run.layout,
            source=run.source,
            file_name=run.file_name,
            dry_run=run.dry_run,
            status=run.status,
            total_lines=run.total_lines,
            done_lines=run.done_lines,
            lines=report.get("lines", 0),
            counts=[
                CRMImportCount(what=what, outcome=outcome, count=count)
                for what, outcomes in sorted(report.get("counts", {}).items())
                for outcome, count in sorted(outcomes.items())
            ],
            created=report.get("created", 0),
            refused_lines=report.get("refused_lines", 0),
            refused=[CRMImportRefusal(**refused) for refused in report.get("refused", [])],
            error=run.error,
        )
