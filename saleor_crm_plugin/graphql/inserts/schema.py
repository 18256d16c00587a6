"""The package inserts queries (staff with MANAGE_ORDERS): an order's codes, counts per day."""

import graphene

from ...campaigns.insert_services import insert_counts, order_inserts
from ...host import MANAGE_ORDERS
from ..core.errors import InputError, decode_id, require_permission
from .types import CRMInsertCount, CRMOrderInserts

# The longest range of days one count query reads.
MAX_DAYS = 366


class InsertQueries(graphene.ObjectType):
    crm_order_inserts = graphene.Field(
        CRMOrderInserts,
        order=graphene.ID(required=True, description="Saleor's Order ID."),
        description="The package inserts of an order; null until it is paid and decided "
        "(MANAGE_ORDERS).",
    )
    crm_insert_counts = graphene.List(
        graphene.NonNull(CRMInsertCount),
        required=True,
        from_=graphene.Argument(
            graphene.Date, required=True, name="from", description="The first day (store time)."
        ),
        to=graphene.Date(required=True, description="Included."),
        description="Orders per insert per day they were paid (store time), from `from` to "
        f"`to` (at most {MAX_DAYS} days), by day then code; days without inserts are left "
        "out (MANAGE_ORDERS).",
    )

    @staticmethod
    def resolve_crm_order_inserts(_root, info, order):
        require_permission(info, MANAGE_ORDERS)
        kind, order_id = decode_id(order)
        if kind != "Order" or not order_id:
            raise InputError("order", f"'{order}' is not an order's ID")
        return order_inserts(order_id)

    @staticmethod
    def resolve_crm_insert_counts(_root, info, from_, to):
        require_permission(info, MANAGE_ORDERS)
        if to < from_:
            raise InputError("to", f"{to} is before from ({from_})")
        if (to - from_).days + 1 > MAX_DAYS:
            raise InputError("to", f"the range is {(to - from_).days + 1} days; at most {MAX_DAYS}")
        zone = info.context.host.config().zone
        return [
            CRMInsertCount(day=day, code=code, orders=orders)
            for day, code, orders in insert_counts(from_, to, zone)
        ]
