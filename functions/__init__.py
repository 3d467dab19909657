"""Blueprints, one per trigger family. Each trigger unwraps its binding and calls ``shared``: no rules here."""
