"""The web face of imgpipe: review, gallery, report and seller uploads, as one ASGI app.

A delivery mechanism like the CLI: it reads and changes records only through
the ``Operations`` protocol and the core stages in ``shared/``, never with
rules of its own. ``imgpipe serve`` runs it locally (uvicorn, loopback by
default); ``functions/web.py`` mounts the same app in the Functions app
behind App Service Authentication.
"""
