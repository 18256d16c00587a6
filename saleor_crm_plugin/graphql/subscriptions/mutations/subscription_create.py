import graphene
from django.utils import timezone

from ....loyalty.services import PointsError
from ....money import parse_amount, validate_currency
from ....subscriptions.schedule import ScheduleError, parse_interval
from ....subscriptions.services import NewLine, clean_address, create_subscription, rules_for
from ...core.customers import customer_by_id
from ...core.errors import require_permission
from ..types import CRMAddressInput, CRMSubscription, CRMSubscriptionError
from ..utils import address_fields


class CRMSubscriptionLineInput(graphene.InputObjectType):
    variant_id = graphene.String(required=True, description="Saleor's variant ID (or SKU).")
    quantity = graphene.Int(required=True)
    unit_price = graphene.String(
        description="The agreed gross unit price (for the recurring revenue until its first "
        "order), e.g. '1980' in JPY."
    )
    product_name = graphene.String()


class CRMSubscriptionCreateInput(graphene.InputObjectType):
    customer_id = graphene.ID(required=True, description="Saleor's User ID (or CRMCustomer).")
    channel = graphene.String(required=True, description="The channel slug of the orders.")
    currency = graphene.String(required=True)
    lines = graphene.List(graphene.NonNull(CRMSubscriptionLineInput), required=True)
    interval = graphene.String(required=True, description="One every line's variant offers.")
    first_delivery = graphene.Date(required=True, description="After today (store time).")
    shipping_address = CRMAddressInput(description="Default: the customer's default address.")


def _create_arguments(info, data: dict) -> dict:
    try:
        profile = customer_by_id(data["customer_id"])
    except PointsError as error:
        raise ScheduleError("customerId", "not_found", error.message) from None
    try:
        currency = validate_currency(data["currency"])
    except ValueError as error:
        raise ScheduleError("currency", "invalid", str(error)) from None
    channel = data["channel"].strip()
    if not channel:
        raise ScheduleError("channel", "required", "give the channel slug of the orders")
    lines = []
    for index, line in enumerate(data["lines"]):
        price = None
        if line.get("unit_price") not in (None, ""):
            try:
                price = parse_amount(line["unit_price"], currency)
            except ValueError as error:
                raise ScheduleError(f"lines[{index}].unitPrice", "invalid", str(error)) from None
        lines.append(
            NewLine(
                line["variant_id"].strip(), line["quantity"], price, line.get("product_name") or ""
            )
        )
    config = info.context.host.config()
    rules = rules_for(config, [line.variant_id for line in lines], info.context.host)
    interval = parse_interval(data["interval"])
    if not rules.allowed:
        raise ScheduleError(
            "lines", "not_allowed", "the variants offer no common interval (Subscription plans)"
        )
    today = timezone.now().astimezone(config.zone).date()
    if data["first_delivery"] <= today:
        raise ScheduleError(
            "firstDelivery", "in_past", f"{data['first_delivery']} is not after today ({today})"
        )
    address = None
    if data.get("shipping_address"):
        address = clean_address(address_fields(data["shipping_address"]), "shippingAddress")
    return {
        "profile": profile,
        "channel": channel,
        "currency": currency,
        "lines": lines,
        "interval": interval,
        "first_delivery": data["first_delivery"],
        "rules": rules,
        "zone": config.zone,
        "shipping_address": address,
    }


class CRMSubscriptionCreate(graphene.Mutation):
    """Staff start a subscription for a customer (MANAGE_USERS); its first delivery is ordered
    by the renewal run like every later one."""

    subscription = graphene.Field(CRMSubscription)
    errors = graphene.List(graphene.NonNull(CRMSubscriptionError), required=True)

    class Arguments:
        input = CRMSubscriptionCreateInput(required=True)

    @staticmethod
    def mutate(_root, info, input):
        require_permission(info)
        try:
            arguments = _create_arguments(info, dict(input))
            subscription = create_subscription(
                actor=info.context.requester.actor, now=timezone.now(), **arguments
            )
        except ScheduleError as error:
            return CRMSubscriptionCreate(errors=[CRMSubscriptionError.of(error)])
        return CRMSubscriptionCreate(subscription=subscription, errors=[])
