"""What a run takes from ``uploads/``, the same on every backend: pending uploads, content checks, isolation.

Change detection, the exact rule. An upload's id comes from its path and
version (the etag in Azure; size and mtime locally), so new bytes under a new
version are a new upload. Locally bytes can change with size and mtime kept
(``touch -r``); the ctime cannot be set back. So a listed upload that already
has a record is hashed again when its ctime is later than the record's last
content check (its bronze copy, or a later ``verified`` lineage entry), and
always with ``imgpipe run --verify``. Same bytes: the check is recorded
(lineage ``verified``). Other bytes: a new version, ``{size}-{mtime}+{sha256[:16]}``
with the ctime as its upload time, taken in as a new upload that supersedes
the old record (the re-upload rule).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from shared import errors, naming
from shared.errors import PipelineUnavailable
from shared.ports import ConcurrencyError, MissingObject, NotAnInput, ObjectInfo, VersionChanged
from shared.records import Record, Status, iso, parse_iso
from shared.report import RunReport
from shared.runtime import Runtime
from shared.services import Services
from shared.settlement import describe
from shared.stages.ingest import ingest_upload, record_failure

log = logging.getLogger("shared.runner")

# progress(phase, done, total); the CLI draws a bar or prints lines with it.
Progress = Callable[[str, int, int], None]
SETTLING, CHANGING = "settling", "changing"
_VERSION_TRIES = 3  # an upload rewritten this often while we copy it is left for the next run
_CHAIN = 16  # re-upload links followed to find the newest version of a path


def pending_uploads(rt: Runtime, settle: float = 0.0, verify: bool = False,
                    report: RunReport | None = None) -> list[ObjectInfo]:
    """Every listed upload with no record yet, whose ingest did not finish (status bronze), or whose bytes changed.

    ``settle`` leaves out objects modified (or otherwise changed) in the last that-many seconds: a
    writer may still be appending to them, and the next run takes them whole.
    """
    report = report if report is not None else RunReport()
    return select_pending(rt.services, rt.uploads(skipped=report.skip), settle, verify, report)


def select_pending(svc: Services, listed: Iterable[ObjectInfo], settle: float = 0.0, verify: bool = False,
                   report: RunReport | None = None) -> list[ObjectInfo]:
    """The uploads among ``listed`` that need ingesting (one point read each); see ``pending_uploads``."""
    report = report if report is not None else RunReport()
    pending, newest = [], time.time() - settle
    for info in listed:
        if settle and max(info.modified, info.changed or info.modified).timestamp() > newest:
            report.skip(info.path, SETTLING)
            continue
        try:
            record = svc.meta.get(naming.upload_id_for(info.path, info.version))
            if record is None or record.status == Status.BRONZE:
                pending.append(info)
            elif record.sha256 and (changed := _changed_version(svc, info, record, verify, report)):
                pending.append(changed)
        except (MissingObject, VersionChanged):
            continue  # changed or gone while we looked: the next listing sees it as it is
        except NotAnInput as exc:
            report.skip(exc.path, exc.kind)
        except errors.InputFailure as exc:
            report.skip(info.path, exc.reason)  # recorded before; unreadable for its content check now
    return pending


def _changed_version(svc: Services, info: ObjectInfo, record: Record, verify: bool,
                     report: RunReport) -> ObjectInfo | None:
    """The upload as a new version when its bytes differ from its newest record's; None when they do not."""
    current = _newest(svc, record)
    if not verify and (info.changed is None or info.changed <= _last_checked(current)):
        return None
    copied = svc.store.checksum(info.path, expect=info)
    report.verified += 1
    if copied.sha256 == current.sha256:
        current.add_lineage("verified", info.path, iso(svc.clock()))
        with contextlib.suppress(ConcurrencyError):  # a stage wrote it meanwhile: checked again next run
            svc.meta.put(current)
        return None
    report.changed += 1
    log.info("upload %r holds new bytes under the same version: taking them in as a new version", info.path)
    return replace(info, version=f"{info.version}+{copied.sha256[:16]}", modified=info.changed or info.modified)


def _newest(svc: Services, record: Record) -> Record:
    for _ in range(_CHAIN):
        newer = svc.meta.get(record.superseded_by) if record.superseded_by else None
        if newer is None:
            break
        record = newer
    return record


def _last_checked(record: Record) -> datetime:
    stamps = [e["ts"] for e in record.lineage if e.get("stage") in ("bronze", "verified") and e.get("ts")]
    return parse_iso(max(stamps) if stamps else record.ingest_ts)


def ingest_all(rt: Runtime, uploads: list[ObjectInfo], progress: Progress | None = None,
               report: RunReport | None = None) -> int:
    """Ingest each upload in isolation: whatever one does, the others are taken in. Returns how many were new."""
    report = report if report is not None else RunReport()
    before = report.ingested
    for done, info in enumerate(uploads, 1):
        take(rt.services, info, report)
        if progress:
            progress("ingest", done, len(uploads))
    return report.ingested - before


def take(svc: Services, info: ObjectInfo, report: RunReport) -> None:
    """One upload, isolated: only ``PipelineUnavailable`` (the pipeline itself cannot work) gets out."""
    for _ in range(_VERSION_TRIES):
        try:
            result = ingest_upload(svc, info)
        except VersionChanged:
            try:
                info = svc.store.info(info.path)  # rewritten since it was listed: take the version it is now
            except MissingObject:
                return
            except NotAnInput as exc:
                report.skip(exc.path, exc.kind)
                return
            continue
        except MissingObject:
            return  # deleted between listing and copying: nothing to keep
        except NotAnInput as exc:
            report.skip(exc.path, exc.kind)  # swapped for a link or a FIFO after listing: never read
            return
        except PipelineUnavailable:
            raise
        except Exception as exc:  # a bug or a transient service error: this upload fails, the run goes on
            log.debug("ingest of %r failed", info.path, exc_info=exc)
            _record_error(svc, info, exc, report)
            return
        report.ingested += result.new
        report.tried.add(result.record.upload_id)
        if result.record.status == Status.FAILED and result.record.reason in errors.INGEST_FAILURES:
            report.failed[result.record.reason] += 1
        return
    report.skip(info.path, CHANGING)


def _record_error(svc: Services, info: ObjectInfo, exc: Exception, report: RunReport) -> None:
    report.failed[errors.INGEST_ERROR] += 1
    try:
        record_failure(svc, info, errors.InputFailure(errors.INGEST_ERROR, describe(exc)))
    except PipelineUnavailable:
        raise
    except Exception:
        log.exception("could not record the failure of %r either; the next run tries it again", info.path)
