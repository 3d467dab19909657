"""``reconcile``: a timer that runs the reconciliation sweep (``shared.reconcile``).

The sweep is bounded per run; where the next run continues listing
``uploads/`` (its continuation token) is kept in a small blob of the host's
own storage through the blob input and output bindings, so the function
holds no state and two instances never need to agree on anything (the timer
is a singleton by default, and a concurrent sweep would be harmless anyway).
"""

# No `from __future__ import annotations`: the worker binds by the real annotation objects.
import azure.functions as func

from shared.azure import handlers
from shared.azure.bootstrap import services

bp = func.Blueprint()

SCHEDULE_SETTING = "RECONCILE_SCHEDULE"
STATE_CONTAINER = "imgpipe-state"
STATE_PATH = f"{STATE_CONTAINER}/reconcile.json"


@bp.function_name("reconcile")
@bp.timer_trigger(arg_name="timer", schedule=f"%{SCHEDULE_SETTING}%", run_on_startup=False, use_monitor=True)
@bp.blob_input(arg_name="state", path=STATE_PATH, connection="AzureWebJobsStorage")
@bp.blob_output(arg_name="next_state", path=STATE_PATH, connection="AzureWebJobsStorage")
def reconcile(timer: func.TimerRequest, state: str, next_state: func.Out[str]) -> None:
    next_state.set(handlers.reconcile(services(), state))
