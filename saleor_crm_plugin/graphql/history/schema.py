"""The staff query of a customer's state on a past date."""

import graphene
from django.utils import timezone

from ...errors import FieldError
from ...history.services import customer_state_at
from ..core.errors import InputError, require_permission
from ..customers.resolvers import resolve_customer
from .types import CRMCustomerStateAt


class HistoryQueries(graphene.ObjectType):
    crm_customer_state_at = graphene.Field(
        CRMCustomerStateAt,
        required=True,
        customer=graphene.ID(required=True, description="Saleor's User ID or our CRMCustomer ID."),
        at=graphene.DateTime(required=True, description="The past moment, with a time zone."),
        description="A customer's rank, points, figures and segments on a past date, and why, "
        "replayed from the ledger and the rules in force then (MANAGE_USERS).",
    )

    @staticmethod
    def resolve_crm_customer_state_at(_root, info, customer, at):
        require_permission(info)
        try:
            profile = resolve_customer(customer)
        except InputError as error:
            raise InputError("customer", error.message) from error
        try:
            return customer_state_at(profile, at, info.context.host.config(), timezone.now())
        except FieldError as error:
            raise InputError(error.field, error.message) from error
