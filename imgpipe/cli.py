"""Commands. Each one parses flags, calls the library, and turns library errors into CLI errors."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import click

from imgpipe.backends import BACKENDS, LOCAL, open_operations, open_runtime
from shared import logs
from shared.errors import PipelineUnavailable
from shared.runtime import Operations, Runtime
from shared.settings import Settings, SettingsError

EXIT_UNAVAILABLE = 2


class Context:
    def __init__(self, data_dir: Path) -> None:
        self.settings = Settings.from_env().with_(data_dir=data_dir)

    def runtime(self, backend: str, classifier: str | None) -> Runtime:
        return open_runtime(backend, self.settings, classifier)

    def operations(self, backend: str, classifier: str | None = "none", sends: bool = False,
                   read_only: bool = False) -> Operations:
        """``read_only`` for commands that only look: they work on a data dir they cannot write."""
        return open_operations(backend, self.settings, classifier, sends=sends, read_only=read_only)


# Every command takes --backend: the same command against the local data dir or the Azure services.
backend_option = click.option(
    "--backend", type=click.Choice(BACKENDS), default=LOCAL, show_default=True, envvar="IMGPIPE_BACKEND",
    help="local: data dir + SQLite. azure: Blob Storage + Cosmos DB (+ Service Bus DLQs), from IMAGES_STORAGE, "
    "COSMOS_ENDPOINT, SERVICEBUS... (env IMGPIPE_BACKEND).")


def fail(message: str) -> None:
    click.echo(f"imgpipe: {message}", err=True)
    raise SystemExit(EXIT_UNAVAILABLE)


class Group(click.Group):
    """Library errors that mean 'the pipeline cannot work' become one line and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # `imgpipe records --json | head`: click exits quietly (code 1), no message
        except (PipelineUnavailable, SettingsError) as exc:
            fail(logs.safe(str(exc)))
        except OSError as exc:
            fail(logs.safe(f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": ")))
        except sqlite3.DatabaseError as exc:  # locked past the timeout, or corrupt under a running command
            fail(f"metadata database: {exc}" + ("" if isinstance(exc, sqlite3.OperationalError) else
                                                "; restore it from a backup ('imgpipe db check' says more)"))


@click.group(cls=Group)
@click.option("--data-dir", type=click.Path(path_type=Path), envvar="IMGPIPE_DATA_DIR", default=Path("data"),
              show_default=True, help="Folder with uploads/, bronze/, silver/, gold/, archive/ (env IMGPIPE_DATA_DIR).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug): imgpipe's own loggers.")
@click.option("--debug-log", "debug_loggers", multiple=True, metavar="LOGGER",
              help="Also log this library logger at the -v level (e.g. azure.core); others stay at WARNING.")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path, verbose: int, debug_loggers: tuple[str, ...]) -> None:
    """imgpipe: product image ingestion, upload -> bronze -> silver -> gold -> classified.

    \b
    Example:
      imgpipe --data-dir data run        # process everything in data/uploads/
      imgpipe status                     # counts per status, recent errors
      imgpipe status --backend azure     # the same against Blob Storage + Cosmos DB
    """
    logs.configure(verbose, debug_loggers)
    ctx.obj = Context(data_dir)


def parse_age(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([dh])", text.strip())
    if not match:
        raise click.BadParameter("use a number of days or hours, e.g. 30d or 12h")
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(days=amount) if unit == "d" else timedelta(hours=amount)


def main() -> None:
    cli(prog_name="imgpipe")


# The commands register themselves on ``cli``; imported last because they import it.
from imgpipe import (  # noqa: E402, F401
    data_commands,
    db_commands,
    pipeline_commands,
    query_commands,
    reconcile_commands,
    review_commands,
    rework_commands,
    spark_commands,
    web_commands,
)
