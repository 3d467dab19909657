"""The Azure runtime's wiring: connections, bootstrap, message delivery policy and the in-process runner.

Mirrors ``shared/local/``. Nothing here imports ``azure.functions``: the
Functions app (``function_app.py``, ``functions/``) only unwraps bindings and
calls into this package and the stages, and ``imgpipe run --backend azure``
uses the same package without a Functions host.
"""
