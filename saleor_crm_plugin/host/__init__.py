from .protocol import (
    MANAGE_ORDERS,
    MANAGE_PLUGINS,
    MANAGE_USERS,
    Batch,
    Host,
    InvalidToken,
    Requester,
    get_host,
    reset_host,
)

__all__ = [
    "MANAGE_ORDERS",
    "MANAGE_PLUGINS",
    "MANAGE_USERS",
    "Batch",
    "Host",
    "InvalidToken",
    "Requester",
    "get_host",
    "reset_host",
]
