from django.urls import path

from ..graphql.export_view import export_customers_view
from ..graphql.view import graphql_view

urlpatterns = [
    path("graphql/", graphql_view, name="crm-graphql"),
    path("export/customers.csv", export_customers_view, name="crm-export-customers"),
]
