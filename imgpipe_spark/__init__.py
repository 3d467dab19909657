"""The Spark runtime: the bulk job (Databricks, or open-source Spark in local mode) over the same core.

It stands beside ``shared.local`` and ``shared.azure`` and, like them, only
adapts I/O: Spark schedules rows of gold records over executors, and each
executor calls the core (``shared.imaging``, ``shared.naming``,
``shared.gold``, the classifier port) on the files through the core's folder
store. The gold table is Delta: a Unity Catalog table on Databricks, a table
written by delta-rs (``deltalake``) elsewhere. Nothing here is imported by
``shared``; ``pyspark`` is imported only inside functions, so this package
loads without it.
"""
