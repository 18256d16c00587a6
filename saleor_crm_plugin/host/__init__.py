from .protocol import MANAGE_USERS, Batch, Host, Requester, get_host, reset_host

__all__ = ["MANAGE_USERS", "Batch", "Host", "Requester", "get_host", "reset_host"]
