"""Duplicate candidates and merges as staff see them."""

import graphene
from django.utils import timezone
from graphene import relay

from ...customers.merges import figures_of
from ..core.scalars import JSONString


class CRMDuplicateEvidence(graphene.Enum):
    EMAIL = "email"
    PHONE = "phone"
    NAME_POSTAL = "name_postal"


class CRMMergeErrorCode(graphene.Enum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    ALREADY_MERGED = "already_merged"
    SAME_CUSTOMER = "same_customer"
    DELETED = "deleted"


class CRMMergeError(graphene.ObjectType):
    field = graphene.String(description="The argument at fault.")
    message = graphene.String(required=True)
    code = graphene.Field(CRMMergeErrorCode, required=True)


class CRMMergeSpend(graphene.ObjectType):
    currency = graphene.String(required=True)
    amount = graphene.String(required=True, description="In the currency's units, exact.")


class CRMMergeSide(graphene.ObjectType):
    """One profile of a pair, with the figures staff compare (as they stand now)."""

    customer_id = graphene.ID(required=True, description="The CRMCustomer ID.")
    user_id = graphene.ID(description="Saleor's User ID; null for a guest.")
    email = graphene.String(description="As the store keeps it (read from the store).")
    is_guest = graphene.Boolean(required=True)
    orders = graphene.Int(required=True)
    spend = graphene.List(graphene.NonNull(CRMMergeSpend), required=True)
    last_order_at = graphene.DateTime()
    points = graphene.Int(required=True, description="Available points less debt.")
    pending_points = graphene.Int(required=True)
    rank = graphene.String(description="The rank's code (empty before the first).")


def sides(info, profiles) -> dict[int, CRMMergeSide]:
    """Each profile's side, with figures and emails read once for them all."""
    profiles = list({p.pk: p for p in profiles}.values())
    figures = figures_of([p.pk for p in profiles], timezone.now())
    emails = info.context.host.customer_emails(profiles)
    result = {}
    for profile in profiles:
        own = figures.get(profile.pk, {})
        result[profile.pk] = CRMMergeSide(
            customer_id=graphene.Node.to_global_id("CRMCustomer", profile.pk),
            user_id=(
                info.context.host.user_global_id(profile.user_id) if profile.user_id else None
            ),
            email=emails.get(profile.pk),
            is_guest=profile.user_id is None,
            orders=own.get("orders", 0),
            spend=[CRMMergeSpend(**spend) for spend in own.get("spend", [])],
            last_order_at=profile.last_order_at,
            points=own.get("points", 0),
            pending_points=own.get("pending_points", 0),
            rank=own.get("rank", ""),
        )
    return result


class CRMDuplicateCandidate(graphene.ObjectType):
    """Two profiles that may be one person, and why: the keys they share."""

    id = graphene.ID(required=True)
    customer = graphene.Field(CRMMergeSide, required=True)
    other = graphene.Field(CRMMergeSide, required=True)
    evidence = graphene.List(graphene.NonNull(CRMDuplicateEvidence), required=True)
    found_at = graphene.DateTime(required=True)

    @staticmethod
    def resolve_id(root, _info):
        return graphene.Node.to_global_id("CRMDuplicateCandidate", root.pk)

    @staticmethod
    def resolve_customer(root, _info):
        return root.crm_sides[root.profile_id]

    @staticmethod
    def resolve_other(root, _info):
        return root.crm_sides[root.other_id]

    @staticmethod
    def resolve_evidence(root, _info):
        return root.evidence


class CRMDuplicateCandidateConnection(relay.Connection):
    total_count = graphene.Int()

    class Meta:
        node = CRMDuplicateCandidate


class CRMMergeRecord(graphene.ObjectType):
    """A merge staff confirmed: who was taken into whom, when, by whom, and what moved."""

    id = graphene.ID(required=True)
    absorbed = graphene.Field(CRMMergeSide, required=True)
    survivor = graphene.Field(CRMMergeSide, required=True)
    merged_at = graphene.DateTime(required=True)
    merged_by = graphene.String(required=True)
    reason = graphene.String(required=True)
    evidence = graphene.List(graphene.NonNull(CRMDuplicateEvidence), required=True)
    in_force = graphene.Boolean(required=True)
    unmerged_at = graphene.DateTime()
    unmerged_by = graphene.String()
    moved = JSONString(required=True, description="What the merge moved, by kind: its keys.")
    returned = JSONString(required=True, description="What the unmerge sent back, by kind.")
    before = JSONString(required=True, description="Each side's figures before the merge.")

    @staticmethod
    def resolve_id(root, _info):
        return graphene.Node.to_global_id("CRMMergeRecord", root.pk)

    @staticmethod
    def resolve_absorbed(root, info):
        return sides(info, [root.absorbed])[root.absorbed_id]

    @staticmethod
    def resolve_survivor(root, info):
        return sides(info, [root.survivor])[root.survivor_id]

    @staticmethod
    def resolve_in_force(root, _info):
        return root.in_force

    @staticmethod
    def resolve_unmerged_by(root, _info):
        return root.unmerged_by or None


class CRMMergeRecordConnection(relay.Connection):
    total_count = graphene.Int()

    class Meta:
        node = CRMMergeRecord
