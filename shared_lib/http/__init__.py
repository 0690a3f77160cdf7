"""The handler pipeline's public surface: what a module under functions/ imports.

Re-exports only (a test pins this list); the code is in the modules beside this one.
"""

from shared_lib.http.functions import Reply, event_function, http_function, scheduled_function
from shared_lib.http.paging import Page, PageQuery
from shared_lib.http.requests import Client, Request

__all__ = [
    "Client", "Page", "PageQuery", "Reply", "Request",
    "event_function", "http_function", "scheduled_function",
]
