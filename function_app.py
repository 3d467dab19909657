"""The Azure Functions app (Python v2 model): it only registers the blueprints in ``functions/``."""

import azure.functions as func

from functions.classify import bp as classify_bp
from functions.cleanse import bp as cleanse_bp
from functions.ingest import bp as ingest_bp
from functions.reconcile import bp as reconcile_bp
from functions.web import bp as web_bp

app = func.FunctionApp()
for blueprint in (ingest_bp, cleanse_bp, classify_bp, reconcile_bp, web_bp):
    app.register_functions(blueprint)
