"""``web``: the web app (``web/``) as one HTTP-triggered function, through the Functions ASGI integration.

Every path goes to the same Starlette app (``host.json`` sets an empty route
prefix, so ``/review`` is ``/review``). The function itself is anonymous:
App Service Authentication (Easy Auth, ``infra/modules/auth.bicep``) signs
callers in with Entra ID in front of it and hands the app the principal; the
app checks the ``reviewer``/``seller`` roles itself.
"""

import azure.functions as func

from shared.azure import connections

bp = func.Blueprint()


def _middleware() -> func.AsgiMiddleware:
    def build() -> func.AsgiMiddleware:
        from web.azure import azure_app

        return func.AsgiMiddleware(azure_app())

    return connections.once("web-asgi", build)


@bp.function_name("web")
@bp.route(route="{*route}", auth_level=func.AuthLevel.ANONYMOUS, methods=["GET", "HEAD", "POST"])
async def web(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return await _middleware().handle_async(req, context)
