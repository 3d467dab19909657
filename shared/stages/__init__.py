"""The pipeline's stages as plain functions of (services, input).

Every stage is idempotent: it may run twice, concurrently, or after a crash
between any two of its writes, and still converge to one record and one set
of objects. Writes are ordered so that each one is either an overwrite with
identical content or a conditional create, and the record is written last.
"""

from shared.stages.classify import classify, reclassify
from shared.stages.cleanse import cleanse
from shared.stages.failure import mark_failed
from shared.stages.ingest import ingest
from shared.stages.review import ReviewError, review, undo_review

__all__ = ["ReviewError", "classify", "cleanse", "ingest", "mark_failed", "reclassify", "review", "undo_review"]
