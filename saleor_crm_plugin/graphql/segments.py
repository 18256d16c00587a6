"""Staff GraphQL for rule segments: preview a rule, save it, list the saved ones."""

import graphene
from django.utils import timezone
from django.utils.text import slugify

from ..customers.search import attach_list_columns
from ..errors import FieldError
from ..segments.models import RuleSegment
from ..segments.rule_services import (
    SegmentError,
    builtin_segments,
    count_members,
    delete_segment,
    save_segment,
    select_members,
    size_history,
)
from ..segments.rules import ACCOUNT_STATES, FIELDS, RuleError
from .errors import InputError, decode_id, require_permission
from .types import CRMCustomer, JSONString


class CRMSegmentSizePoint(graphene.ObjectType):
    evaluated_at = graphene.DateTime(required=True)
    customers = graphene.Int(required=True)


class CRMSegment(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    rule = JSONString(required=True)
    built_in = graphene.Boolean(required=True, description="One of the segments every store has.")
    customers = graphene.Int(required=True, description="Members at the last evaluation.")
    evaluated_at = graphene.DateTime()
    history = graphene.List(
        graphene.NonNull(CRMSegmentSizePoint),
        required=True,
        limit=graphene.Int(default_value=100, description="The newest sizes, at most 1000."),
        description="Sizes recorded at each evaluation, oldest first (members: crmCustomers "
        "with filter {segment: name}).",
    )

    @staticmethod
    def resolve_history(root, _info, limit):
        if not 1 <= limit <= 1000:
            raise InputError("limit", f"must be between 1 and 1000, not {limit}")
        return size_history(root, limit)

    @staticmethod
    def resolve_id(root, _info):
        if root.pk is None:
            return graphene.Node.to_global_id("CRMBuiltInSegment", slugify(root.name))
        return graphene.Node.to_global_id("CRMSegment", root.pk)

    @staticmethod
    def resolve_built_in(root, _info):
        return root.pk is None


class CRMSegmentPreview(graphene.ObjectType):
    customers = graphene.Int(required=True, description="How many customers the rule selects now.")
    sample = graphene.List(graphene.NonNull(CRMCustomer), required=True)


class CRMSegmentErrorCode(graphene.Enum):
    INVALID = "invalid"
    REQUIRED = "required"
    UNIQUE = "unique"


class CRMSegmentError(graphene.ObjectType):
    field = graphene.String(description="The input, or the rule's JSON path (`rule.all[0].value`).")
    message = graphene.String(required=True)
    code = graphene.Field(CRMSegmentErrorCode, required=True)


class CRMSegmentInput(graphene.InputObjectType):
    name = graphene.String(required=True)
    rule = JSONString(required=True, description="all / any / not / condition tree.")


def _rule_field(error: RuleError) -> str:
    return "rule" + error.field[1:]  # "$.all[0]" -> "rule.all[0]"


def _code(error: SegmentError) -> str:
    if "exists already" in error.message or "name of a built-in segment" in error.message:
        return CRMSegmentErrorCode.UNIQUE.value
    if error.message == "is required":
        return CRMSegmentErrorCode.REQUIRED.value
    return CRMSegmentErrorCode.INVALID.value


def _saved(segment_id: str, field: str = "id") -> RuleSegment:
    kind, pk = decode_id(segment_id)
    if kind == "CRMBuiltInSegment":
        raise SegmentError(field, "built-in segments cannot be changed or deleted")
    segment = (
        RuleSegment.objects.filter(pk=pk).first() if kind == "CRMSegment" and pk.isdigit() else None
    )
    if segment is None:
        raise SegmentError(field, f"'{segment_id}' is not a saved segment")
    return segment


def _segment_errors(error: FieldError) -> list:
    if isinstance(error, RuleError):
        return [CRMSegmentError(field=_rule_field(error), message=error.message, code="invalid")]
    return [CRMSegmentError(field=error.field, message=error.message, code=_code(error))]


class CRMSegmentCreate(graphene.Mutation):
    """Save a rule segment after validating it (staff with MANAGE_USERS)."""

    segment = graphene.Field(CRMSegment)
    errors = graphene.List(graphene.NonNull(CRMSegmentError), required=True)

    class Arguments:
        input = CRMSegmentInput(required=True)

    @staticmethod
    def mutate(_root, info, input):
        require_permission(info)
        config = info.context.host.config()
        try:
            segment = save_segment(input["name"], input["rule"], config)
        except (RuleError, SegmentError) as error:
            return CRMSegmentCreate(segment=None, errors=_segment_errors(error))
        return CRMSegmentCreate(segment=segment, errors=[])


class CRMSegmentUpdate(graphene.Mutation):
    """Rename a saved segment or change its rule (staff with MANAGE_USERS); recounts it."""

    segment = graphene.Field(CRMSegment)
    errors = graphene.List(graphene.NonNull(CRMSegmentError), required=True)

    class Arguments:
        id = graphene.ID(required=True)
        input = CRMSegmentInput(required=True)

    @staticmethod
    def mutate(_root, info, id, input):
        require_permission(info)
        config = info.context.host.config()
        try:
            segment = save_segment(input["name"], input["rule"], config, _saved(id))
        except (RuleError, SegmentError) as error:
            return CRMSegmentUpdate(segment=None, errors=_segment_errors(error))
        return CRMSegmentUpdate(segment=segment, errors=[])


class CRMSegmentDelete(graphene.Mutation):
    """Delete a saved segment and its size history (staff with MANAGE_USERS)."""

    deleted_id = graphene.ID()
    errors = graphene.List(graphene.NonNull(CRMSegmentError), required=True)

    class Arguments:
        id = graphene.ID(required=True)

    @staticmethod
    def mutate(_root, info, id):
        require_permission(info)
        try:
            segment = _saved(id)
        except SegmentError as error:
            return CRMSegmentDelete(deleted_id=None, errors=_segment_errors(error))
        delete_segment(segment)
        return CRMSegmentDelete(deleted_id=id, errors=[])


class CRMRuleField(graphene.ObjectType):
    """A field a rule condition can test, for building rules (`segments.rules.FIELDS`)."""

    name = graphene.String(required=True, description="The condition's `field`.")
    kind = graphene.String(
        required=True,
        description="What its value is: int, days, score, points (whole numbers), money (an "
        "amount), datetime (ISO 8601 with a zone), segment, rank, place (lists of names), "
        "status (one of choices), flag, consent, subscription (true or false), bought (an ID).",
    )
    operators = graphene.List(graphene.NonNull(graphene.String), required=True)
    needs = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Keys the condition must also give: currency (money), group (RFM scores).",
    )
    within_days = graphene.Boolean(required=True, description="Takes `within_days` (optional).")
    choices = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The values it takes, where they are a fixed set (segments, ranks, states).",
    )


def rule_fields(config) -> list[CRMRuleField]:
    choices = {
        "segment": list(config.segment_names),
        "rank": [rank.code for rank in config.loyalty.ladder.ranks],
        "status": list(ACCOUNT_STATES),
    }
    return [
        CRMRuleField(
            name=name,
            kind=spec.kind,
            operators=list(spec.ops),
            needs=list(spec.needs),
            within_days=spec.kind == "bought",
            choices=choices.get(spec.kind, []),
        )
        for name, spec in FIELDS.items()
    ]


class SegmentQueries(graphene.ObjectType):
    crm_segment_rule_fields = graphene.List(
        graphene.NonNull(CRMRuleField),
        required=True,
        description="The fields a rule can test, with their operators and values (MANAGE_USERS).",
    )
    crm_segments = graphene.List(
        graphene.NonNull(CRMSegment),
        required=True,
        description="Saved rule segments (MANAGE_USERS).",
    )
    crm_segment_preview = graphene.Field(
        CRMSegmentPreview,
        rule=JSONString(required=True),
        first=graphene.Int(default_value=10, description="Sample size, at most 100."),
        description="Count and sample the customers a rule selects, before saving it (MANAGE_USERS).",
    )

    @staticmethod
    def resolve_crm_segment_rule_fields(_root, info):
        require_permission(info)
        return rule_fields(info.context.host.config())

    @staticmethod
    def resolve_crm_segments(_root, info):
        """The built-in segments (counted now), then the saved ones."""
        require_permission(info)
        config = info.context.host.config()
        now = timezone.now()
        built_in = [
            RuleSegment(
                name=name,
                rule=rule,
                customers=count_members(rule, config, now),
                evaluated_at=now,
            )
            for name, rule in builtin_segments(config.dormant_days).items()
        ]
        return built_in + list(RuleSegment.objects.all())

    @staticmethod
    def resolve_crm_segment_preview(_root, info, rule, first):
        require_permission(info)
        if not 0 <= first <= 100:
            raise InputError("first", f"must be between 0 and 100, not {first}")
        try:
            host = info.context.host
            selection = select_members(rule, host.config(), host=host)
            count = selection.count()
        except RuleError as error:
            raise InputError(_rule_field(error), error.message) from error
        sample = list(selection.profiles.prefetch_related("spends")[:first])
        attach_list_columns(sample, info.context.host)
        return CRMSegmentPreview(customers=count, sample=sample)


class SegmentMutations(graphene.ObjectType):
    crm_segment_create = CRMSegmentCreate.Field()
    crm_segment_update = CRMSegmentUpdate.Field()
    crm_segment_delete = CRMSegmentDelete.Field()
