"""Blueprint `kb_admin`: the knowledge base for admins: FAQs, CSV import/export, evaluation, the
learning loop's suggestions and the bot's numbers. Every change reaches the bot at once (see handoff.knowledge)."""
from __future__ import annotations

import csv
import re
import tempfile
from pathlib import Path

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.utils import secure_filename

from handoff.db import session_scope
from handoff.errors import ServiceError, clean_int
from handoff.knowledge import analytics, evaluation, faqs, learning, settings
from handoff.knowledge.calibration import RISK_LEVELS
from handoff.models import Faq
from handoff.routing import catalog
from handoff.people.auth import staff_required

bp = Blueprint("kb_admin", __name__, url_prefix="/admin/kb")

MAX_EVAL_QUERIES = 2000
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


@bp.before_request
@staff_required(admin=True)
def _admins_only():
    """Every route of this blueprint is for admins; checked here so that no new route can miss it."""
    return None


# --- answers with links, rendered without trusting their text ---------------------------------------

_URL = re.compile(r"https?://[^\s<>\"']+")


def link_parts(text: str) -> list[dict]:
    """Split plain text into text and link parts; templates escape both, so no markup gets through."""
    parts, last = [], 0
    for m in _URL.finditer(text or ""):
        url = m.group(0).rstrip(".,;:!?)")  # sentence punctuation after a link is not part of it
        if m.start() > last:
            parts.append({"text": text[last:m.start()], "url": None})
        parts.append({"text": url, "url": url})
        last = m.start() + len(url)
    if last < len(text or ""):
        parts.append({"text": text[last:], "url": None})
    return parts


@bp.app_template_filter("linked")
def linked(text: str) -> Markup:
    """Plain text with its http(s) URLs as links: every piece is escaped before it is joined."""
    out = Markup("")
    for part in link_parts(text):
        if part["url"]:
            out += Markup('<a href="{0}" rel="noopener nofollow">{1}</a>').format(part["url"], part["text"])
        else:
            out += part["text"]  # Markup + str escapes the str
    return out


# --- FAQs -------------------------------------------------------------------------------------------


def _phrasings_from(form) -> list[str]:
    return [line for line in (form.get("phrasings") or "").splitlines() if line.strip()]


def _form_values(form) -> dict:
    return {"slug": form.get("slug", ""), "answer": form.get("answer", ""), "category": form.get("category", ""),
            "phrasings": _phrasings_from(form), "enabled": form.get("enabled") == "1"}


@bp.get("/")
def index():
    return _index_page()


def _index_page(status: int = 200):
    q, category = request.args.get("q", ""), request.args.get("category") or None
    return render_template("admin/kb/index.html", faqs=faqs.list_faqs(q, category), q=q,
                           category=category, categories=catalog.slugs(), total=faqs.count(),
                           quality=current_app.extensions["knowledge"].quality(), risk_levels=RISK_LEVELS), status


@bp.post("/risk")
def set_risk():
    """How often the bot may answer wrong, in words: "at most 1 wrong answer in N questions"."""
    try:
        one_in = settings.set_risk(request.form.get("one_in"))
    except ServiceError as err:
        flash(err.message, "error")
        return _index_page(400)
    flash(f"The bot now answers outright when at most 1 answer in {one_in} would be wrong.", "success")
    return redirect(url_for("kb_admin.index"))


@bp.get("/new")
def new():
    return render_template("admin/kb/edit.html", faq=None, values={"enabled": True, "phrasings": []},
                           categories=catalog.slugs())


@bp.post("/new")
def create():
    values = _form_values(request.form)
    try:
        faq = faqs.create_faq(values["answer"], values["category"], values["phrasings"], values["slug"],
                              values["enabled"])
    except ServiceError as err:
        flash(err.message, "error")
        return render_template("admin/kb/edit.html", faq=None, values=values, categories=catalog.slugs()), 400
    flash(f"FAQ '{faq['slug']}' created; the bot answers with it now.", "success")
    return redirect(url_for("kb_admin.index"))


@bp.get("/<int:faq_id>")
def edit(faq_id: int):
    faq = faqs.faq_for_admin(faq_id)
    return render_template("admin/kb/edit.html", faq=faq, values=faq, categories=catalog.slugs())


@bp.post("/<int:faq_id>")
def update(faq_id: int):
    faq = faqs.faq_for_admin(faq_id)
    values = _form_values(request.form)
    try:
        faq = faqs.update_faq(faq_id, values["answer"], values["category"], values["phrasings"],
                              values["slug"], values["enabled"])
    except ServiceError as err:
        if err.status == 404:
            raise
        flash(err.message, "error")
        return render_template("admin/kb/edit.html", faq=faq, values=values, categories=catalog.slugs()), 400
    flash(f"FAQ '{faq['slug']}' saved.", "success")
    return redirect(url_for("kb_admin.index"))


@bp.post("/<int:faq_id>/enabled")
def set_enabled(faq_id: int):
    faq = faqs.set_enabled(faq_id, request.form.get("enabled") == "1")
    flash(f"FAQ '{faq['slug']}' {'enabled' if faq['enabled'] else 'disabled: the bot no longer uses it'}.",
          "success")
    return redirect(url_for("kb_admin.index"))


@bp.post("/<int:faq_id>/delete")
def delete(faq_id: int):
    slug = faqs.delete_faq(faq_id)
    flash(f"FAQ '{slug}' deleted.", "success")
    return redirect(url_for("kb_admin.index"))


# --- CSV import and export ----------------------------------------------------------------------------


def _save_upload(field: str, folder: Path, default_name: str) -> Path:
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise ServiceError(f"Choose the {default_name} file.")
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ServiceError(f"{upload.filename} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    # Named after the upload, so problems are reported as "<their file> line N".
    path = folder / field / (secure_filename(upload.filename) or default_name)
    path.parent.mkdir()
    path.write_bytes(data)
    return path


def _csv_problem(err: Exception, what: str) -> ServiceError:
    if isinstance(err, UnicodeDecodeError):
        return ServiceError(f"The {what} file is not UTF-8 text; save it as CSV UTF-8 and try again.")
    return ServiceError(f"The {what} file is not valid CSV: {err}.")


@bp.get("/import")
def import_form():
    return render_template("admin/kb/import.html", problems=None)


@bp.post("/import")
def import_upload():
    try:
        with tempfile.TemporaryDirectory() as tmp:
            answers = _save_upload("answers", Path(tmp), "answers.csv")
            questions = _save_upload("questions", Path(tmp), "questions.csv")
            try:
                faq_count, phrasing_count = faqs.import_csv(answers, questions)
            except (UnicodeDecodeError, csv.Error) as err:
                raise _csv_problem(err, "uploaded") from err
    except ServiceError as err:
        lines = err.message.splitlines()
        return render_template("admin/kb/import.html", problems=lines), 400
    flash(f"Imported {faq_count} FAQs with {phrasing_count} phrasings; the bot uses them now.", "success")
    return redirect(url_for("kb_admin.index"))


def _csv_download(text: str, name: str) -> Response:
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/export/answers.csv")
def export_answers():
    return _csv_download(faqs.export_csv()[0], "faq_answers.csv")


@bp.get("/export/questions.csv")
def export_questions():
    return _csv_download(faqs.export_csv()[1], "faq_questions.csv")


# --- evaluation against the current knowledge base ----------------------------------------------------


def evaluate_upload(path: Path) -> dict:
    """faq_eval's report for uploaded `text,answer_id` questions, against the live KB (read-only)."""
    queries = evaluation.read_queries(path)
    if len(queries) > MAX_EVAL_QUERIES:
        raise ServiceError(f"Upload at most {MAX_EVAL_QUERIES} questions at a time ({len(queries)} given).")
    with session_scope() as s:
        ids = {slug: str(faq_id) for faq_id, slug in s.execute(select(Faq.id, Faq.slug).where(Faq.enabled.is_(True)))}
    unknown = sorted({q.answer_id for q in queries if q.answer_id and q.answer_id not in ids})
    if unknown:
        raise ServiceError("These answer_ids are not enabled FAQs in the knowledge base: " + ", ".join(unknown[:20])
                           + (" ..." if len(unknown) > 20 else "") + ". Leave answer_id empty for questions "
                           "the knowledge base should not answer.")
    # The index names FAQs by database id; the upload names them by answer_id.
    queries = [evaluation.Query(q.text, ids[q.answer_id] if q.answer_id else None) for q in queries]
    knowledge = current_app.extensions["knowledge"]
    matcher = knowledge.matcher()
    # Decided as the bot decides now: with the thresholds calibrated on this KB at the admin's risk.
    report = evaluation.evaluate(matcher, queries, risk=knowledge.risk)
    report["scoring"] = "embeddings" if matcher.embeddings else "tfidf"
    return report


@bp.get("/evaluate")
def evaluate_form():
    return render_template("admin/kb/evaluate.html", report=None, problems=None)


@bp.post("/evaluate")
def evaluate():
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = _save_upload("queries", Path(tmp), "questions.csv")
            report = evaluate_upload(path)
    except ServiceError as err:
        return render_template("admin/kb/evaluate.html", report=None, problems=err.message.splitlines()), 400
    return render_template("admin/kb/evaluate.html", report=report, problems=None)


# --- the learning loop ------------------------------------------------------------------------------------


def _question_ids() -> list[int]:
    return [clean_int(v, "question id") for v in request.form.getlist("question_id")]


@bp.get("/suggestions")
def suggestions():
    return render_template("admin/kb/suggestions.html", suggestions=learning.suggestions(
        answered=current_app.extensions["knowledge"].answers()), categories=catalog.slugs())


@bp.post("/suggestions/approve")
def approve():
    try:
        faq = learning.approve(_question_ids(), _phrasings_from(request.form), request.form.get("answer"),
                               request.form.get("category"))
    except ServiceError as err:
        flash(err.message, "error")
        return redirect(url_for("kb_admin.suggestions"))
    flash(f"FAQ '{faq['slug']}' created from the suggestion; the bot answers with it now.", "success")
    return redirect(url_for("kb_admin.suggestions"))


@bp.post("/suggestions/dismiss")
def dismiss():
    try:
        n = learning.dismiss(_question_ids())
    except ServiceError as err:
        flash(err.message, "error")
    else:
        flash(f"Dismissed {n} question{'' if n == 1 else 's'}; they will not be suggested again.", "success")
    return redirect(url_for("kb_admin.suggestions"))


# --- the bot's numbers ------------------------------------------------------------------------------------


@bp.get("/analytics")
def bot_analytics():
    try:
        p = analytics.period(request.args.get("since"), request.args.get("until"))
    except ServiceError as err:
        flash(err.message, "error")
        p = analytics.period()
    return render_template("admin/analytics.html", report=analytics.report(p))
