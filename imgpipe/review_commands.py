"""``imgpipe review``: the human in the loop for low-confidence or flagged predictions."""

from __future__ import annotations

import getpass

import click

from imgpipe.cli import Context, backend_option, cli, fail
from imgpipe.output import emit_json
from shared.ports import RecordQuery
from shared.records import Status
from shared.stages import ReviewError, review, undo_review


def _reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@cli.group("review")
def review_group() -> None:
    """Confirm or correct predictions that went to needs_review."""


@review_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", type=int, default=None, help="At most this many records.")
@backend_option
@click.pass_obj
def review_list(obj: Context, as_json: bool, limit: int | None, backend: str) -> None:
    """Records waiting for a person, with the model's top labels and where the image is.

    \b
    Example:
      imgpipe review list
      imgpipe review list --backend azure --json
    """
    with obj.operations(backend, read_only=True) as ops:
        waiting = list(ops.services.meta.scan(RecordQuery(statuses=(Status.NEEDS_REVIEW,), current_only=True,
                                                          limit=limit)))
    local = backend == "local"
    rows = [{"upload_id": r.upload_id, "reason": r.reason, "label": r.label, "category": r.category,
             "confidence": r.confidence,
             "image": str(obj.settings.data_dir / (r.cleansed_path or "")) if local else r.cleansed_path,
             "labels": (r.predictions[-1].get("labels", []) if r.predictions else [])[:3]} for r in waiting]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("nothing to review")
    for row in rows:
        top = ", ".join(f"{x['label']} {x['probability']:.2f}" for x in row["labels"])
        click.echo(f"{row['upload_id']}  {row['reason']:<15} {row['category'] or '':<12} [{top}]\n    {row['image']}")


@review_group.command("accept")
@click.argument("upload_id")
@click.option("--reviewer", default=_reviewer, show_default="current user", help="Who decided.")
@backend_option
@click.pass_obj
def review_accept(obj: Context, upload_id: str, reviewer: str, backend: str) -> None:
    """The model was right: keep its label and category.

    \b
    Example:
      imgpipe review accept 3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7
    """
    _decide(obj, backend, upload_id, reviewer, None, None)


@review_group.command("set")
@click.argument("upload_id")
@click.option("--label", help="The right label, e.g. 'running shoe'.")
@click.option("--category", help="The right product category, e.g. footwear.")
@click.option("--reviewer", default=_reviewer, show_default="current user", help="Who decided.")
@backend_option
@click.pass_obj
def review_set(obj: Context, upload_id: str, label: str | None, category: str | None, reviewer: str,
               backend: str) -> None:
    """The model was wrong: record the right label and/or category.

    \b
    Example:
      imgpipe review set 3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7 --category apparel --label "t-shirt"
    """
    if not label and not category:
        fail("give --label and/or --category (or use 'review accept')")
    _decide(obj, backend, upload_id, reviewer, label, category)


def _decide(obj: Context, backend: str, upload_id: str, reviewer: str, label: str | None,
            category: str | None) -> None:
    with obj.operations(backend) as ops:
        try:
            record = review(ops.services, upload_id, reviewer, label=label, category=category)
        except ReviewError as exc:
            fail(str(exc))
    click.echo(f"{record.upload_id}: {record.status} as {record.label!r} ({record.category}) by {reviewer}")


@review_group.command("undo")
@click.argument("upload_id")
@click.option("--reviewer", default=_reviewer, show_default="current user", help="Whose decision to take back.")
@backend_option
@click.pass_obj
def review_undo(obj: Context, upload_id: str, reviewer: str, backend: str) -> None:
    """Take back your latest decision on a record: it returns to the state before it (e.g. needs_review).

    \b
    Example:
      imgpipe review undo 3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7
    """
    with obj.operations(backend) as ops:
        try:
            record = undo_review(ops.services, upload_id, reviewer)
        except ReviewError as exc:
            fail(str(exc))
    click.echo(f"{record.upload_id}: back to {record.status}")
