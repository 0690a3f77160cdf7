"""One module per domain; every public callable is one Knative function (see shared_lib.catalog)."""
