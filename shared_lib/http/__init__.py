"""The handler pipeline's public surface: what a module under functions/ imports.

Re-exports only (a test pins this list); the code is in the modules beside this one.
"""

from shared_lib.http.answers import Cached
from shared_lib.http.functions import Reply, event_function, http_function, scheduled_function
from shared_lib.http.paging import Page, PageQuery
from shared_lib.http.requests import Client, Request
from shared_lib.http.sse import ServerEvent, sse_function

__all__ = [
    "Cached", "Client", "Page", "PageQuery", "Reply", "Request", "ServerEvent",
    "event_function", "http_function", "scheduled_function", "sse_function",
]
