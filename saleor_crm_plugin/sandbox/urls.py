from django.urls import path, re_path

from ..campaigns.views import unsubscribe_view
from ..dashboard.views import dashboard_view
from ..graphql.export_view import (
    export_analytics_view,
    export_customer_data_view,
    export_customers_view,
    export_picking_view,
)
from ..graphql.view import graphql_view

# The same paths as inside Saleor (/plugins/global/saleor.crm/...), and the short ones.
PLUGIN = "plugins/global/saleor.crm/"


def _dashboard(request, route=None):
    return dashboard_view(request, route or "")


urlpatterns = [
    path("graphql/", graphql_view, name="crm-graphql"),
    path("export/customers.csv", export_customers_view, name="crm-export-customers"),
    path(f"{PLUGIN}graphql/", graphql_view),
    path("export/analytics.csv", export_analytics_view, name="crm-export-analytics"),
    path(f"{PLUGIN}export/customers.csv", export_customers_view),
    path(f"{PLUGIN}export/analytics.csv", export_analytics_view),
    path("export/picking.csv", export_picking_view, name="crm-export-picking"),
    path(f"{PLUGIN}export/picking.csv", export_picking_view),
    re_path(
        rf"^(?:{PLUGIN})?export/customer-data\.(?P<form>json|csv)$",
        export_customer_data_view,
        name="crm-export-customer-data",
    ),
    re_path(rf"^{PLUGIN}dashboard(?P<route>/.*)?$", _dashboard),
    path("campaigns/unsubscribe/<str:token>", unsubscribe_view, name="crm-unsubscribe"),
    path(f"{PLUGIN}campaigns/unsubscribe/<str:token>", unsubscribe_view),
]
