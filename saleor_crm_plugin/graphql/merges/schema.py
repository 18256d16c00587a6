"""Duplicate candidates, merges and their history (MANAGE_USERS)."""

import graphene
from graphene import relay

from ...customers.merge_models import DuplicateCandidate, ProfileMerge
from ...customers.merges import MergeError, merges_of
from ..core.errors import InputError, require_permission
from ..core.pagination import connection_from_queryset
from .mutations import CRMCustomerMerge, CRMCustomerUnmerge
from .types import CRMDuplicateCandidateConnection, CRMMergeRecordConnection, sides
from .utils import profile_argument


class MergeQueries(graphene.ObjectType):
    crm_duplicate_candidates = relay.ConnectionField(
        CRMDuplicateCandidateConnection,
        description="Pairs of customers that may be one person, with the evidence and each "
        "side's figures, as the last duplicate search found them; pairs merged since are left "
        "out (MANAGE_USERS).",
    )
    crm_customer_merges = relay.ConnectionField(
        CRMMergeRecordConnection,
        customer_id=graphene.ID(description="Only merges this customer took part in."),
        description="Merges, newest first, in force or undone (MANAGE_USERS).",
    )

    @staticmethod
    def resolve_crm_duplicate_candidates(_root, info, **args):
        require_permission(info)
        merged = ProfileMerge.objects.filter(unmerged_at__isnull=True)
        candidates = (
            DuplicateCandidate.objects.select_related("profile", "other")
            .exclude(profile_id__in=merged.values("absorbed_id"))
            .exclude(other_id__in=merged.values("absorbed_id"))
            .filter(profile__anonymized_at__isnull=True, other__anonymized_at__isnull=True)
            .order_by("profile_id", "other_id")
        )

        def prepare(page):
            found = sides(info, [p for row in page for p in (row.profile, row.other)])
            for row in page:
                row.crm_sides = found

        return connection_from_queryset(
            candidates, args, CRMDuplicateCandidateConnection, prepare_page=prepare
        )

    @staticmethod
    def resolve_crm_customer_merges(_root, info, customer_id=None, **args):
        require_permission(info)
        merges = ProfileMerge.objects.select_related("absorbed", "survivor")
        if customer_id is not None:
            try:
                profile = profile_argument(customer_id, "customerId")
            except MergeError as error:
                raise InputError(error.field, error.message) from error
            merges = merges_of(profile.pk).select_related("absorbed", "survivor")
        return connection_from_queryset(
            merges.order_by("-merged_at", "-pk"), args, CRMMergeRecordConnection
        )


class MergeMutations(graphene.ObjectType):
    crm_customer_merge = CRMCustomerMerge.Field()
    crm_customer_unmerge = CRMCustomerUnmerge.Field()
