"""`seg db`: the project's database — where it is, whether it runs, its schema version."""

from __future__ import annotations

import os

import click

from segflow.cli.main import Context, pass_ctx
from segflow.config import DATABASE_URL_ENV


@click.group()
def db() -> None:
    """The project's database: the configured one, else an embedded PostgreSQL cluster."""


def _configured(ctx: Context) -> tuple[str, str] | None:
    """(url, where it is configured) when the project uses an external database."""
    url = ctx.config.database_url()
    if not url:
        return None
    origin = DATABASE_URL_ENV if os.environ.get(DATABASE_URL_ENV) else "[database] url in seg.toml"
    return url, origin


def _schema_line(url: str) -> str:
    from segflow.engines.postgres.db import connect, migrations, schema_version

    with connect(url, autocommit=True) as conn:
        version = schema_version(conn)
    known = len(migrations())
    if version == 0:
        state = "not created yet (created on first use)"
    elif version < known:
        state = f"version {version}; this segflow migrates it to {known} on first use"
    elif version > known:
        state = f"version {version}, NEWER than this segflow ({known}): upgrade segflow"
    else:
        state = f"version {version} (up to date)"
    return f"schema:   {state}"


@db.command()
@pass_ctx
def status(ctx: Context) -> None:
    """Where the database is, whether it runs, its port and schema version."""
    from segflow.engines.postgres.db import redact
    from segflow.engines.postgres.pgserver import project_cluster

    configured = _configured(ctx)
    if configured:
        url, origin = configured
        click.echo(f"database: {redact(url)} (configured by {origin})")
        click.echo(_schema_line(url))
        return
    cluster = project_cluster(ctx.config.root)
    cluster.bindir  # noqa: B018 - fails with one clear line when PostgreSQL is not installed
    st = cluster.status()
    click.echo("database: embedded PostgreSQL cluster")
    click.echo(f"location: {st.data_dir}")
    if st.relocated:
        click.echo(f"          (relocated from {cluster.requested}: PostgreSQL runs as an "
                   "unprivileged account when segflow runs as root, and that account cannot "
                   "reach the project folder)")
    if st.version is None:
        click.echo("state:    not created yet (`seg db start` creates it)")
        return
    if not st.running:
        click.echo(f"state:    stopped (PostgreSQL {st.version}; `seg db start`)")
        return
    click.echo(f"state:    running on 127.0.0.1:{st.port} (pid {st.pid}, PostgreSQL "
               f"{st.version})")
    click.echo(_schema_line(cluster.url()))


@db.command()
@pass_ctx
def start(ctx: Context) -> None:
    """Start the embedded cluster (created on first start) and bring its schema up to date."""
    from segflow.engines.postgres.db import connect, migrate
    from segflow.engines.postgres.pgserver import project_cluster

    configured = _configured(ctx)
    if configured:
        click.echo(f"nothing to start: the project uses an external database (configured by "
                   f"{configured[1]})")
        return
    cluster = project_cluster(ctx.config.root)
    was_running = cluster.status().running
    cluster.start()
    with connect(cluster.url()) as conn:
        migrate(conn)
    verb = "already running" if was_running else "started"
    click.echo(f"{verb} on 127.0.0.1:{cluster.port} (data: {cluster.pgdata})")


@db.command()
@pass_ctx
def stop(ctx: Context) -> None:
    """Stop the embedded cluster."""
    from segflow.engines.postgres.pgserver import project_cluster

    configured = _configured(ctx)
    if configured:
        click.echo(f"nothing to stop: the project uses an external database (configured by "
                   f"{configured[1]})")
        return
    cluster = project_cluster(ctx.config.root)
    if not cluster.status().running:
        click.echo("not running")
        return
    cluster.stop()
    click.echo("stopped")


@db.command()
@pass_ctx
def url(ctx: Context) -> None:
    """Print the database URL (with the embedded cluster's password: keep it private)."""
    from segflow.engines.postgres.db import resolve_url

    click.echo(resolve_url(ctx.config, start=False))


def register(cli: click.Group) -> None:
    cli.add_command(db)
