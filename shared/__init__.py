"""imgpipe core: the rules of the pipeline, shared by every runtime.

Nothing in this package imports ``azure.functions``, ``click`` or ``pyspark``:
runtimes adapt their triggers and I/O around it, the rules live here once.
"""
