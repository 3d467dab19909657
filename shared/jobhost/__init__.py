"""The in-process job host: a lease queue on SQLite and the workers that drain it.

Neutral ground between runtimes: the local runtime keeps its queue in the
data dir's database, ``imgpipe run --backend azure`` in a temporary one, and
both settle jobs with the one policy in ``shared.settlement``.
"""
