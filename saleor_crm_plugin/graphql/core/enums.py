"""Enums several domains share (Saleor's `graphql/core/enums.py`)."""

import graphene

__all__ = ["OrderDirection"]


class OrderDirection(graphene.Enum):
    ASC = "ASC"
    DESC = "DESC"
