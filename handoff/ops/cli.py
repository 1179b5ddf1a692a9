"""`careregistry`: operators' commands. Each calls the same service layer as the routes."""
from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup

from handoff import create_app
from handoff.config import VAR_DIR
from handoff.errors import ServiceError
from handoff.knowledge import faqs
from handoff.people import agents

SEED = Path(__file__).resolve().parent / "seed_data"  # the demo company's FAQs
DEMO_LOGINS = VAR_DIR / "demo_logins.json"


def _fail(err: ServiceError) -> None:
    click.secho(f"Error: {err.message}", fg="red", err=True)
    sys.exit(1)


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=False)
def main() -> None:
    """Customer Care Registry operator commands."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations."""
    from flask import current_app

    from handoff.ops.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"])
    click.echo("Database is up to date.")


def _create(role: str, name: str, email: str, password: str, skills: tuple[str, ...]) -> None:
    try:
        agent = agents.create(name, email, password, role, skills)
    except ServiceError as err:
        _fail(err)
    click.echo(f"Created {role} {agent['name']} <{agent['email']}> (id {agent['id']}).")


@main.command("create-admin")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.password_option()
def create_admin(name: str, email: str, password: str) -> None:
    """Create an administrator."""
    _create("admin", name, email, password, ())


@main.command("create-agent")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--skill", "skills", multiple=True, help="a category code (billing, orders, ...); repeatable")
@click.password_option()
def create_agent(name: str, email: str, password: str, skills: tuple[str, ...]) -> None:
    """Create a support agent with skills."""
    _create("agent", name, email, password, skills)


@main.command("import-faqs")
@click.option("--answers", type=click.Path(exists=True, dir_okay=False), required=True,
              help="CSV with columns answer_id,answer,category")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False), required=True,
              help="CSV with columns question,answer_id")
def import_faqs(answers: str, questions: str) -> None:
    """Import FAQs from CSV; nothing is imported if any row is bad."""
    try:
        faq_count, phrasing_count = faqs.import_csv(answers, questions)
    except ServiceError as err:
        _fail(err)
    click.echo(f"Imported {faq_count} FAQs with {phrasing_count} phrasings.")


@main.command("set-password")
@click.option("--email", required=True, help="The agent's or admin's log-in email.")
@click.password_option()
def set_password(email: str, password: str) -> None:
    """Set an agent's or admin's password (e.g. to replace a demo one)."""
    try:
        agent = agents.set_password(email, password)
    except ServiceError as err:
        _fail(err)
    click.echo(f"Password changed for {agent['role']} {agent['name']} <{agent['email']}>.")


def _write_private(path: Path, text: str) -> None:
    """Created with mode 0600, so the file is never readable by others, not even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


@main.command("seed-demo")
def seed_demo() -> None:
    """Load the demo company's FAQs and create a demo admin and two agents (once)."""
    if faqs.count() == 0:
        faq_count, phrasing_count = faqs.import_csv(SEED / "faq_answers.csv", SEED / "faq_questions.csv")
        click.echo(f"Loaded {faq_count} demo FAQs with {phrasing_count} phrasings.")
    if DEMO_LOGINS.exists():
        DEMO_LOGINS.chmod(0o600)  # earlier versions left it readable by every local user
        return
    people = [("admin", "Ada Admin", "admin@example.com", ()),
              ("agent", "Sam Agent", "sam@example.com", ("billing", "orders")),
              ("agent", "Kim Agent", "kim@example.com", ("account", "technical"))]
    logins = []
    for role, name, email, skills in people:
        password = secrets.token_urlsafe(12)
        try:
            agents.create(name, email, password, role, skills)
        except ServiceError as err:
            _fail(err)
        logins.append({"role": role, "name": name, "email": email, "password": password})
    DEMO_LOGINS.parent.mkdir(parents=True, exist_ok=True)
    _write_private(DEMO_LOGINS, json.dumps(logins, indent=2))
    # Shown once, on a terminal only: output sent to a log file must not carry passwords.
    click.echo(f"Created the demo log-ins; they are kept in {DEMO_LOGINS} (only you can read it).")
    if sys.stdout.isatty():
        click.echo("Write them down now; they are not shown again:")
        for person in logins:
            click.echo(f"  {person['role']:<6} {person['email']:<20} password {person['password']}")
    click.echo("Change one with: .venv/app/bin/careregistry set-password --email admin@example.com")


@main.command("faq-eval", with_appcontext=False)
@click.option("--kb", type=click.Path(exists=True, dir_okay=False), required=True,
              help="CSV with columns question,answer_id: the knowledge base to test")
@click.option("--queries", type=click.Path(exists=True, dir_okay=False), required=True,
              help="CSV with columns text,answer_id; an empty answer_id means not covered")
@click.option("--tune", "tune_path", type=click.Path(exists=True, dir_okay=False),
              help="CSV like --queries: pick the thresholds on it before scoring --queries")
@click.option("--answer-threshold", type=click.FloatRange(0, 1))
@click.option("--choose-threshold", type=click.FloatRange(0, 1))
@click.option("--margin", type=click.FloatRange(0))
@click.option("--tfidf-only", is_flag=True, help="score without the embedding model")
def faq_eval_command(kb: str, queries: str, tune_path: str | None, answer_threshold: float | None,
                     choose_threshold: float | None, margin: float | None, tfidf_only: bool) -> None:
    """Measure FAQ matching on a KB and questions from CSV; never touches the database."""
    from handoff.knowledge import evaluation

    try:
        report = evaluation.run(kb, queries, answer_threshold=answer_threshold, choose_threshold=choose_threshold,
                                margin=margin, tune_path=tune_path, embeddings=False if tfidf_only else None)
    except ServiceError as err:
        _fail(err)
    click.echo(json.dumps(report, indent=2))


@main.command("inbound")
def inbound() -> None:
    """Take in customers' mail: the SMTP listener (INBOUND_SMTP_PORT) and the IMAP poller (IMAP_HOST)."""
    import signal
    import threading

    from flask import current_app

    from handoff.inbound import runner

    app = current_app._get_current_object()
    problems = runner.problems(app.config)
    if problems:
        for problem in problems:
            click.secho(f"Error: {problem}", fg="red", err=True)
        sys.exit(1)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    runner.serve(app, stop)


@main.command("receive-mail")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def receive_mail(path: str) -> None:
    """Take one mail from a file (.eml), as if it had arrived: for a mail server's pipe or a lost message."""
    from handoff.inbound import intake

    result = intake.receive(Path(path).read_bytes(), "cli")
    click.echo(f"{'Already taken' if result['duplicate'] else 'Taken'}: {result['status']}"
               + (f", ticket #{result['ticket']}" if result["ticket"] else "") + ".")


@main.command("backup")
@click.option("--out", type=click.Path(dir_okay=False), help="Where to write it (default: BACKUP_DIR, var/backups/).")
def backup(out: str | None) -> None:
    """Take a consistent backup of the database while the service runs, and check it restores."""
    from pathlib import Path

    from flask import current_app

    from handoff.ops import backups

    url = current_app.config["DATABASE_URL"]
    target = Path(out) if out else backups.default_name(url, Path(current_app.config["BACKUP_DIR"]))
    click.echo(f"Backing up to {target} ...")
    try:
        backups.take(url, target, progress=lambda line: click.echo(line))
        backups.check(url, target)
        copied = backups.mirror_files(Path(current_app.config["ATTACHMENT_DIR"]), target.parent)
    except ServiceError as err:
        _fail(err)
    click.echo(f"Backup written and checked: {target}")
    click.echo(f"Attached files: {copied} new, mirrored in {target.parent / backups.FILES}")


@main.command("backup-status")
def backup_status() -> None:
    """What the daily backup job last did (exit status 1 if its last run failed)."""
    from pathlib import Path

    from flask import current_app

    from handoff.ops import backups

    status = backups.read_status(Path(current_app.config["BACKUP_DIR"]))
    good, last = status.get("last_good"), status.get("last_run")
    click.echo(f"Last good backup: {good['at']} {good['file']}" if good else "No scheduled backup yet.")
    if last and not last.get("ok"):
        click.secho(f"Last run failed at {last['at']}: {last['error']}", fg="red", err=True)
        sys.exit(1)


@main.command("restore")
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(source: str, yes: bool) -> None:
    """Replace the database with a backup (stop the service first), then bring its schema up to date."""
    from pathlib import Path

    from flask import current_app

    from handoff.ops import backups
    from handoff.ops.migrate import upgrade

    url = current_app.config["DATABASE_URL"]
    if not yes:
        click.confirm("Stop the service first (Ctrl-C in `make run`). Replace the database with this backup?",
                      abort=True)
    try:
        kept = backups.restore(url, Path(source))
    except ServiceError as err:
        _fail(err)
    upgrade(url)
    files = backups.restore_files(Path(source).parent, Path(current_app.config["ATTACHMENT_DIR"]))
    click.echo(f"Restored from {source}." + (f" The replaced database is kept at {kept}." if kept else "")
               + (f" {files} attached files put back." if files else ""))


@main.command("service-files", with_appcontext=False)
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Directory to write them to.")
@click.option("--format", "fmt", type=click.Choice(["systemd", "supervisord"]), default="systemd", show_default=True)
@click.option("--user", default="careregistry", show_default=True, help="The account the processes run as.")
@click.option("--env-file", default="/etc/careregistry/careregistry.env", show_default=True,
              help="Where the units read the settings from (systemd).")
def service_files(out: str, fmt: str, user: str, env_file: str) -> None:
    """Write systemd units (or a supervisord config) that run the three processes and restart them."""
    from handoff.ops import supervision

    for path in supervision.write_service_files(Path(out), fmt, user=user, env_file=Path(env_file)):
        click.echo(f"Wrote {path}")
    if fmt == "systemd":
        click.echo(f"Install: copy the units to /etc/systemd/system/ and careregistry.env to {env_file} (mode "
                   "600), then `systemctl daemon-reload && systemctl enable --now careregistry.target`.")
    else:
        click.echo("Start: `supervisord -c careregistry-supervisord.conf` with the settings of careregistry.env "
                   "in its environment; `supervisorctl -c careregistry-supervisord.conf status` shows the processes.")


if __name__ == "__main__":
    main()
