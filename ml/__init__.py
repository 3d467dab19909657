"""Everything deployed to Azure ML: the scoring core, the entry script and the model assets.

Importing the package loads nothing heavy: onnxruntime and the model files are
loaded on first use, so ``shared`` can import the in-process adapter freely.
"""
