"""The analytics queries: what the hourly and nightly tasks stored, never a model run. Staff's
(MANAGE_USERS), and the storefront's public "also bought"."""

import graphene
from graphene import relay

from ..core.errors import require_permission
from .enums import CRMBasketKind, CRMBasketPairSort, CRMF2By, CRMLtvBy, CRMRepeatLevel
from .resolvers import (
    resolve_also_bought,
    resolve_basket_pairs,
    resolve_basket_runs,
    resolve_cohorts,
    resolve_f2,
    resolve_ltv,
    resolve_overview_figures,
    resolve_prediction_fits,
    resolve_product_repeat,
    resolve_report_run,
)
from .sorters import CRMProductRepeatSortingInput
from .types import (
    CRMBasketPairCountableConnection,
    CRMBasketRun,
    CRMCohortCell,
    CRMF2CountableConnection,
    CRMLtvCountableConnection,
    CRMOverviewFigures,
    CRMPredictionFits,
    CRMProductRepeatCountableConnection,
    CRMRecommendation,
    CRMReportRun,
)

_CHANNEL = "A channel's slug; all channels together when omitted."
_MONTH = 'A first-order month as "YYYY-MM"; "" all months together.'


class AnalyticsQueries(graphene.ObjectType):
    crm_overview_figures = graphene.Field(
        CRMOverviewFigures,
        required=True,
        description="Outstanding points and subscription figures as the hourly tasks stored "
        "them, with when (MANAGE_USERS). The live ones: crmPointsLiability, "
        "crmSubscriptionFigures.",
    )
    crm_prediction_fits = graphene.List(
        graphene.NonNull(CRMPredictionFits),
        required=True,
        currency=graphene.String(description="One currency (ISO 4217); all when omitted."),
        description="Per currency, the lifetime models' fit in force and the latest attempt, "
        "with their back-tests, as the nightly refit stored them (MANAGE_USERS).",
    )
    crm_report_run = graphene.Field(
        CRMReportRun,
        description="The computation the repeat, F2, cohort and LTV reports come from; null "
        "before the first one (MANAGE_USERS).",
    )
    crm_product_repeat = relay.ConnectionField(
        CRMProductRepeatCountableConnection,
        level=graphene.Argument(CRMRepeatLevel, default_value=CRMRepeatLevel.PRODUCT.value),
        channel=graphene.String(description=_CHANNEL),
        first_month=graphene.String(
            description=_MONTH + " Of the customers whose first order was then; all when omitted."
        ),
        sort_by=CRMProductRepeatSortingInput(
            description="Rows without the figure come last; ties by item. Default: most "
            "buyers first."
        ),
        description="Repeat rate per product, variant or category, and the second-order "
        "shares of its first buyers, from the reports in force (MANAGE_USERS).",
    )
    crm_f2 = relay.ConnectionField(
        CRMF2CountableConnection,
        by=graphene.Argument(CRMF2By, default_value=CRMF2By.ALL.value),
        channel=graphene.String(description=_CHANNEL),
        first_month=graphene.String(
            description=_MONTH + " Every month when omitted, all months together first."
        ),
        description="F2 conversion: of each month's first-time buyers, the share who ordered "
        "again within 30, 60 and 90 days, from the reports in force (MANAGE_USERS).",
    )
    crm_cohorts = graphene.List(
        graphene.NonNull(CRMCohortCell),
        required=True,
        currency=graphene.String(required=True, description="ISO 4217."),
        channel=graphene.String(description=_CHANNEL),
        description="The cohort table of a currency, by first-order month and months since, "
        "from the reports in force (MANAGE_USERS).",
    )
    crm_ltv = relay.ConnectionField(
        CRMLtvCountableConnection,
        currency=graphene.String(required=True, description="ISO 4217."),
        by=graphene.Argument(CRMLtvBy, required=True),
        description="Realised LTV per segment, rank or first product in a currency, the highest "
        "average first, from the reports in force (MANAGE_USERS).",
    )
    crm_basket_runs = graphene.List(
        graphene.NonNull(CRMBasketRun),
        required=True,
        description="What the stored basket pairs were counted over, per channel and kind "
        "(MANAGE_USERS).",
    )
    crm_basket_pairs = relay.ConnectionField(
        CRMBasketPairCountableConnection,
        channel=graphene.String(required=True, description="A channel's slug."),
        kind=graphene.Argument(CRMBasketKind, default_value=CRMBasketKind.ORDER.value),
        sort_by=graphene.Argument(
            CRMBasketPairSort,
            default_value=CRMBasketPairSort.LIFT.value,
            description="Highest first; ties by when the pair was stored.",
        ),
        description="Products bought together in a channel, as the nightly task stored them "
        "(MANAGE_USERS).",
    )
    crm_also_bought = graphene.List(
        graphene.NonNull(CRMRecommendation),
        required=True,
        product=graphene.ID(required=True, description="The store's ID of the product shown."),
        channel=graphene.String(required=True, description="The channel's slug."),
        first=graphene.Int(default_value=5, description="At most this many, 1 to 50."),
        description="Customers who bought this product also bought (public: no login). From "
        "the channel's stored pairs (bought by one customer within the store's window, which "
        "includes the same basket), best first; only products the store offers in the channel "
        "now, never the product itself. Empty for an unknown product or channel.",
    )

    @staticmethod
    def resolve_crm_also_bought(_root, info, product, channel, first):
        return resolve_also_bought(info, product, channel, first)

    @staticmethod
    def resolve_crm_overview_figures(_root, info):
        require_permission(info)
        return resolve_overview_figures(info)

    @staticmethod
    def resolve_crm_prediction_fits(_root, info, currency=None):
        require_permission(info)
        return resolve_prediction_fits(currency)

    @staticmethod
    def resolve_crm_report_run(_root, info):
        require_permission(info)
        return resolve_report_run()

    @staticmethod
    def resolve_crm_product_repeat(_root, info, **args):
        require_permission(info)
        return resolve_product_repeat(args)

    @staticmethod
    def resolve_crm_f2(_root, info, **args):
        require_permission(info)
        return resolve_f2(args)

    @staticmethod
    def resolve_crm_cohorts(_root, info, **args):
        require_permission(info)
        return resolve_cohorts(args)

    @staticmethod
    def resolve_crm_ltv(_root, info, **args):
        require_permission(info)
        return resolve_ltv(args)

    @staticmethod
    def resolve_crm_basket_runs(_root, info):
        require_permission(info)
        return resolve_basket_runs()

    @staticmethod
    def resolve_crm_basket_pairs(_root, info, **args):
        require_permission(info)
        return resolve_basket_pairs(args)
