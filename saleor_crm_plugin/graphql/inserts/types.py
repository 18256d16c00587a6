"""Types of the package inserts (`campaigns.insert_services`)."""

import graphene


class CRMOrderInserts(graphene.ObjectType):
    order_id = graphene.ID(required=True, description="The order's ID (Saleor's Order ID).")
    number = graphene.String(required=True, description="The order's number.")
    codes = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The insert codes, in the order of the rules (empty: the rules gave none).",
    )
    paid_at = graphene.DateTime(required=True, description="When the order was paid.")
    decided_at = graphene.DateTime(required=True, description="When its inserts were decided.")
    written_at = graphene.DateTime(
        description="When the codes reached the order's private metadata (crm.inserts); null "
        "while not yet, or with no codes."
    )

    class Meta:
        description = "The package inserts (同梱物) of a paid order, decided once."

    @staticmethod
    def resolve_order_id(root, _info):
        return graphene.Node.to_global_id("Order", root.order_id)

    @staticmethod
    def resolve_number(root, _info):
        return root.number or root.order_id

    @staticmethod
    def resolve_codes(root, _info):
        return root.code_list


class CRMInsertCount(graphene.ObjectType):
    day = graphene.Date(required=True, description="The day the orders were paid (store time).")
    code = graphene.String(required=True)
    orders = graphene.Int(required=True, description="Orders paid that day with the insert.")

    class Meta:
        description = "How many orders got one insert on one day."
