from django.urls import path

from ..graphql.view import graphql_view

urlpatterns = [path("graphql/", graphql_view, name="crm-graphql")]
