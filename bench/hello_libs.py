"""The second baseline: a functions-framework hello-world that imports the third-party
libraries every streamfn function imports before its first answer and opens the connections
it opens (PostgreSQL through SQLAlchemy's pool, Redis), then answers. A function's cold start
over this one is what the project adds on top of its libraries. (httpx and the cloudevents
SDK are left out: a function sends its events after answering.)

`hello_numeric` is the baseline of the one function that also imports numpy and scipy (the
recommendations recompute, on its first request): the same, importing them first."""

import os

import functions_framework
import jwt  # noqa: F401 - imported for its cost, as the functions import it
import pydantic  # noqa: F401
import pydantic_settings  # noqa: F401
import redis
import sqlalchemy
import sqlalchemy.orm  # noqa: F401

_engine = None


@functions_framework.http
def hello_libs(request):
    global _engine
    if _engine is None:
        _engine = sqlalchemy.create_engine(os.environ["STREAMFN_DATABASE_URL"], pool_size=5,
                                           max_overflow=0, pool_pre_ping=True)
    with _engine.connect() as connection:
        connection.execute(sqlalchemy.text("SELECT 1"))
    redis.Redis.from_url(os.environ["STREAMFN_REDIS_URL"]).ping()
    return "hello"


@functions_framework.http
def hello_numeric(request):
    import numpy  # noqa: F401 - imported for its cost, as the recompute imports it
    import scipy.sparse  # noqa: F401

    return hello_libs(request)
