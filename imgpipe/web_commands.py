"""``imgpipe serve`` (the web app over a backend) and ``imgpipe report`` (the report as one HTML file)."""

from __future__ import annotations

import getpass
import ipaddress
from functools import partial
from pathlib import Path

import click

from imgpipe.cli import Context, backend_option, cli, fail


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--allow-remote", is_flag=True,
              help="Allow a non-loopback --host. The local server has no sign-in: anyone who can reach it can "
              "review and upload as you.")
@click.option("--user", default=_os_user, show_default="current user",
              help="Who you are in the app: the reviewer recorded on decisions and the uploads/{user}/ folder.")
@backend_option
@click.pass_obj
def serve(obj: Context, host: str, port: int, allow_remote: bool, user: str, backend: str) -> None:
    """The web app: review page, records gallery, report and uploads, on http://HOST:PORT/.

    \b
    Example:
      imgpipe serve                      # then open http://127.0.0.1:8080/review
      imgpipe serve --port 9000 --backend azure
    """
    if not is_loopback(host) and not allow_remote:
        fail(f"refusing to listen on {host}: the local server has no sign-in, so anyone who can reach it could "
             "review records and upload files as you. Use the default 127.0.0.1, or add --allow-remote if the "
             "network is yours (in Azure the same app runs behind App Service Authentication).")
    import uvicorn

    from web.local import local_app

    app = local_app(obj.settings, backend, user, opener=partial(obj.operations, backend))
    click.echo(f"imgpipe web on http://{host}:{port}/review ({backend} backend, as {user}); Ctrl-C stops it.",
               err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False)


@cli.command()
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"),
              show_default=True, help="Where to write the HTML file.")
@click.option("--latest", type=click.IntRange(0, 200), default=24, show_default=True,
              help="Images on the contact sheet (the most recent uploads with a silver image).")
@backend_option
@click.pass_obj
def report(obj: Context, out: Path, latest: int, backend: str) -> None:
    """The /report page as one self-contained HTML file (charts and thumbnails inlined, opens offline).

    \b
    Example:
      imgpipe report --out report.html && xdg-open report.html
    """
    from web.standalone import render_report

    with obj.operations(backend) as ops:
        html = render_report(ops, latest=latest)
    out.write_text(html, encoding="utf-8")
    click.echo(f"wrote {out} ({len(html) // 1024} KiB)")
