"""The baseline: a bare functions-framework hello-world."""

import functions_framework


@functions_framework.http
def hello(request):
    return "hello"
