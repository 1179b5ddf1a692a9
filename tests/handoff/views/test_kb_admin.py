"""The knowledge base in /admin/kb: what admins change is what the bot answers, at once; nobody else gets in."""
from __future__ import annotations

import csv
import io
import re
import threading

import pytest

from handoff.db import session_scope
from handoff.knowledge import faqs, learning, settings
from handoff.ops.cli import SEED

GIFT = "Do you sell gift cards?"
GIFT_ANSWER = "Yes: gift cards from $10 to $500, sold at https://example.com/gift-cards and in every store."


@pytest.fixture
def admin(staff, make_agent):
    return staff(make_agent("Ada Admin", role="admin"))


def search(api, q):
    resp = api.get("/api/faq/search", query_string={"q": q})
    assert resp.status_code == 200
    return resp.get_json()


def answered_with(api, q):
    result = search(api, q)
    return result["matches"][0]["answer"] if result["decision"] == "answer" else None


def faq_form(**fields):
    form = {"phrasings": f"{GIFT}\nCan I buy a gift card?\nGift vouchers", "answer": GIFT_ANSWER,
            "category": "billing", "enabled": "1", "slug": ""}
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def faq_id_by_slug(slug):
    return next(f["id"] for f in faqs.list_faqs() if f["slug"] == slug)


def test_create_edit_disable_enable_delete_change_what_the_bot_answers_without_restart(seeded, api, admin):
    assert search(api, GIFT)["decision"] == "unknown"

    resp = admin.post("/admin/kb/new", data=faq_form(slug="gift-cards"))
    assert resp.status_code == 302
    assert answered_with(api, GIFT) == GIFT_ANSWER
    faq_id = faq_id_by_slug("gift-cards")
    assert api.get(f"/api/faq/{faq_id}").get_json()["question"] == GIFT

    changed = "Gift cards are sold in our stores only."
    assert admin.post(f"/admin/kb/{faq_id}", data=faq_form(answer=changed)).status_code == 302
    assert answered_with(api, GIFT) == changed

    assert admin.post(f"/admin/kb/{faq_id}/enabled", data={"enabled": "0"}).status_code == 302
    assert answered_with(api, GIFT) is None
    assert api.get(f"/api/faq/{faq_id}").status_code == 404
    assert admin.post(f"/admin/kb/{faq_id}/enabled", data={"enabled": "1"}).status_code == 302
    assert answered_with(api, GIFT) == changed

    assert admin.post(f"/admin/kb/{faq_id}/delete").status_code == 302
    assert answered_with(api, GIFT) is None
    assert admin.get(f"/admin/kb/{faq_id}").status_code == 404


def test_saving_an_edit_without_the_enabled_box_disables_the_faq(seeded, api, admin):
    faq_id = faq_id_by_slug("refund-timeline")
    assert search(api, "How long does a refund take?")["matches"][0]["faq_id"] == faq_id
    faq = faqs.faq_for_admin(faq_id)
    form = {"phrasings": "\n".join(faq["phrasings"]), "answer": faq["answer"], "category": faq["category"]}
    assert admin.post(f"/admin/kb/{faq_id}", data=form).status_code == 302
    assert all(m["faq_id"] != faq_id for m in search(api, "How long does a refund take?")["matches"])


@pytest.mark.parametrize("fields, message", [
    ({"phrasings": "  \n "}, "at least one way a customer might ask"),
    ({"answer": ""}, "The answer is empty"),
    ({"category": "gifts"}, "Pick a category"),
    ({"slug": "refund-timeline"}, "already used by another FAQ"),
    ({"slug": "Gift Cards!"}, "lowercase letters"),
])
def test_invalid_faq_is_refused_with_a_sentence_and_nothing_is_stored(seeded, admin, fields, message):
    before = faqs.count()
    resp = admin.post("/admin/kb/new", data=faq_form(**fields))
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert faqs.count() == before


def test_search_finds_faqs_by_question_answer_or_id_and_filters_by_category(seeded, admin):
    page = admin.get("/admin/kb/", query_string={"q": "where is my refund"}).get_data(as_text=True)
    assert 'data-slug="refund-timeline"' in page and 'data-slug="payment-methods"' not in page
    page = admin.get("/admin/kb/", query_string={"q": "klarna"}).get_data(as_text=True)
    assert re.findall(r'data-slug="([^"]+)"', page) == ["payment-methods"]
    page = admin.get("/admin/kb/", query_string={"category": "billing"}).get_data(as_text=True)
    slugs = re.findall(r'data-slug="([^"]+)"', page)
    assert "refund-timeline" in slugs and all(f["category"] == "billing" for f in faqs.list_faqs()
                                              if f["slug"] in slugs)
    assert "update-payment-method" in slugs and len(slugs) < faqs.count()


def test_answers_show_links_but_no_markup_from_their_text(app, admin):
    answer = ('<script>alert(1)</script> <a href="javascript:evil()">x</a> Read https://example.com/help?a=1&b=2. '
              "Or javascript:alert(2)")
    faq = faqs.create_faq(answer, "technical", ["How do I get help?"])
    for path in ("/admin/kb/", f"/admin/kb/{faq['id']}"):
        page = admin.get(path).get_data(as_text=True)
        assert '<a href="https://example.com/help?a=1&amp;b=2" rel="noopener nofollow">' in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>alert" not in page and 'href="javascript' not in page


# --- only admins ---------------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/admin/kb/"),
    ("GET", "/admin/kb/new"),
    ("POST", "/admin/kb/new"),
    ("GET", "/admin/kb/{faq}"),
    ("POST", "/admin/kb/{faq}"),
    ("POST", "/admin/kb/{faq}/enabled"),
    ("POST", "/admin/kb/{faq}/delete"),
    ("GET", "/admin/kb/import"),
    ("POST", "/admin/kb/import"),
    ("GET", "/admin/kb/export/answers.csv"),
    ("GET", "/admin/kb/export/questions.csv"),
    ("GET", "/admin/kb/evaluate"),
    ("POST", "/admin/kb/evaluate"),
    ("GET", "/admin/kb/suggestions"),
    ("POST", "/admin/kb/suggestions/approve"),
    ("POST", "/admin/kb/suggestions/dismiss"),
    ("GET", "/admin/kb/analytics"),
    ("POST", "/admin/kb/risk"),
]


def test_every_kb_route_is_in_the_permission_test(app):
    rules = {(method, re.sub(r"<int:\w+>", "{faq}", rule.rule)) for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("kb_admin.") for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert rules == set(ROUTES)


def _state():
    with session_scope() as s:
        version, risk = faqs.current_version(s), settings.risk(s)
    return version, risk, faqs.export_csv(), [(g.key, g.asked) for g in learning.suggestions()]


@pytest.mark.parametrize("who", ["anonymous", "agent", "customer"])
@pytest.mark.parametrize("method, path", ROUTES)
def test_non_admins_are_refused_on_every_kb_route_and_nothing_changes(seeded, app, staff, register, who, method,
                                                                      path):
    faq_id = faq_id_by_slug("refund-timeline")
    learning.record_search(GIFT, {"decision": "unknown", "matches": []}, None)
    question_id = learning.suggestions()[0].question_ids[0]
    before = _state()
    http = {"anonymous": app.test_client, "agent": staff, "customer": register}[who]()
    answers = (SEED / "faq_answers.csv").read_bytes().replace(b"refund-timeline,\"Once", b"refund-timeline,\"Hacked")
    data = {**faq_form(), "question_id": str(question_id), "enabled": "0", "one_in": "100",
            "answers": (io.BytesIO(answers), "a.csv"), "questions": (io.BytesIO(b"question,answer_id\n"), "q.csv"),
            "queries": (io.BytesIO(b"text,answer_id\nhi,\n"), "x.csv")}
    url = path.format(faq=faq_id)
    resp = http.get(url) if method == "GET" else http.post(url, data=data, content_type="multipart/form-data")
    if who == "anonymous":
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    else:
        assert resp.status_code == 403
    body = resp.get_data(as_text=True)
    assert "Once your return reaches" not in body and "answer_id" not in body
    assert _state() == before


# --- CSV import and export ------------------------------------------------------------------------------


def upload(admin, answers: str, questions: str):
    return admin.post("/admin/kb/import", content_type="multipart/form-data", data={
        "answers": (io.BytesIO(answers.encode()), "answers.csv"),
        "questions": (io.BytesIO(questions.encode()), "questions.csv")})


def test_import_with_a_bad_row_reports_its_line_and_imports_nothing(seeded, api, admin):
    before = faqs.export_csv()
    answers = ("answer_id,answer,category\n"
               f"gift-cards,{GIFT_ANSWER},billing\n"
               "refund-timeline,Refunds take a year.,billing\n"
               "opening-hours,We are open 9 to 5.,hours\n")
    questions = f"question,answer_id\n{GIFT},gift-cards\nWhen are you open?,opening-hours\nrefund?,nowhere\n"
    resp = upload(admin, answers, questions)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "answers.csv line 4: unknown category &#39;hours&#39;" in page
    assert "questions.csv line 4: unknown answer_id &#39;nowhere&#39;" in page
    assert faqs.export_csv() == before
    assert search(api, GIFT)["decision"] == "unknown"
    assert answered_with(api, "How long does a refund take?").startswith("Once your return")


def test_import_that_is_not_utf8_or_lacks_a_column_is_refused_with_a_sentence(seeded, admin):
    before = faqs.export_csv()
    resp = admin.post("/admin/kb/import", content_type="multipart/form-data", data={
        "answers": (io.BytesIO("answer_id,answer,category\nx,Caf\xe9,billing\n".encode("latin-1")), "a.csv"),
        "questions": (io.BytesIO(b"question,answer_id\n"), "q.csv")})
    assert resp.status_code == 400 and "not UTF-8" in resp.get_data(as_text=True)
    resp = upload(admin, "answer_id,answer\nx,y\n", "question,answer_id\n")
    assert resp.status_code == 400 and "missing column(s) category" in resp.get_data(as_text=True)
    assert faqs.export_csv() == before


def test_import_adds_and_replaces_faqs_and_the_bot_answers_with_them(seeded, api, admin):
    answers = (f'answer_id,answer,category\ngift-cards,"{GIFT_ANSWER}",billing\n'
               "refund-timeline,Refunds take a week.,billing\n")
    questions = f"question,answer_id\n{GIFT},gift-cards\nHow long does a refund take?,refund-timeline\n"
    resp = upload(admin, answers, questions)
    assert resp.status_code == 302
    assert answered_with(api, GIFT) == GIFT_ANSWER
    assert answered_with(api, "How long does a refund take?") == "Refunds take a week."
    assert faqs.faq_for_admin(faq_id_by_slug("refund-timeline"))["phrasings"] == ["How long does a refund take?"]


def rows(text):
    return sorted(tuple(r) for r in csv.reader(io.StringIO(text)))


def test_export_round_trips_through_import(seeded, api, admin):
    faqs.create_faq('Yes, "gift cards", from $10,\nsee https://example.com/gift.', "billing",
                    [GIFT, "gift, cards?"])
    faqs.set_enabled(faq_id_by_slug("payment-methods"), False)
    answers = admin.get("/admin/kb/export/answers.csv")
    questions = admin.get("/admin/kb/export/questions.csv")
    assert answers.mimetype == "text/csv" and "attachment" in answers.headers["Content-Disposition"]
    exported = answers.get_data(as_text=True), questions.get_data(as_text=True)
    assert exported[0].startswith("answer_id,answer,category,enabled\n")
    assert exported[1].startswith("question,answer_id\n")
    assert len(rows(exported[1])) - 1 == sum(len(f["phrasings"]) for f in faqs.list_faqs())

    # Lose and spoil some of it, then restore from the export.
    faqs.delete_faq(faq_id_by_slug("refund-timeline"))
    gift = faq_id_by_slug("do-you-sell-gift-cards")
    faqs.update_faq(gift, "Spoiled.", "orders", ["spoiled"])
    faqs.set_enabled(faq_id_by_slug("payment-methods"), True)
    assert upload(admin, *exported).status_code == 302

    again = faqs.export_csv()
    assert rows(again[0]) == rows(exported[0]) and rows(again[1]) == rows(exported[1])
    assert not faqs.faq_for_admin(faq_id_by_slug("payment-methods"))["enabled"]
    assert answered_with(api, "How long does a refund take?").startswith("Once your return")
    assert answered_with(api, GIFT) == 'Yes, "gift cards", from $10,\nsee https://example.com/gift.'


# --- evaluation ------------------------------------------------------------------------------------------

QUERIES = [
    ("How long does a refund take?", "refund-timeline"),
    ("when will I get my money back", "refund-timeline"),
    ("which payment methods do you accept", "payment-methods"),
    ("how do I cancel Northwind Plus", "cancel-subscription"),
    ("can I change my card for the membership", "update-payment-method"),
    ("what is the capital of France", ""),
    ("do you sell gift cards", ""),
]


def evaluate(admin, text):
    return admin.post("/admin/kb/evaluate", content_type="multipart/form-data",
                      data={"queries": (io.BytesIO(text.encode()), "my-questions.csv")})


def test_evaluation_reports_on_the_live_knowledge_base_what_the_bot_would_answer(seeded, api, admin):
    ids = {f["slug"]: f["id"] for f in faqs.list_faqs()}
    right = wrong = oos_flagged = 0
    for text, slug in QUERIES:  # what the bot answers, asked through its API
        result = search(api, text)
        answered = result["decision"] == "answer"
        if slug and answered:
            right += result["matches"][0]["faq_id"] == ids[slug]
            wrong += result["matches"][0]["faq_id"] != ids[slug]
        oos_flagged += not slug and not answered
    before = faqs.export_csv()
    body = "text,answer_id\n" + "".join(f"{t},{s}\n" for t, s in QUERIES)
    resp = evaluate(admin, body)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    count = lambda key: int(re.search(rf'data-key="{key}">(\d+)<', page).group(1))  # noqa: E731
    assert count("answered_right") == right and count("answered_wrong") == wrong
    assert count("oos_unknown") + count("oos_offered_choice") == oos_flagged
    assert right >= 2, "the seed answers its own phrasings"
    assert f"{right / 5 * 100:.1f}%" in page  # answered right among the 5 covered
    assert "Latency p50 / p99" in page
    assert faqs.export_csv() == before


def test_evaluation_refuses_answer_ids_the_knowledge_base_does_not_have(seeded, admin):
    resp = evaluate(admin, "text,answer_id\nhow long is a refund,refund-timeline\ngift cards?,gift-cards\n")
    assert resp.status_code == 400
    assert "not enabled FAQs in the knowledge base: gift-cards" in resp.get_data(as_text=True)
    resp = evaluate(admin, "question,answer_id\nhi,\n")
    assert resp.status_code == 400 and "missing column(s) text" in resp.get_data(as_text=True)


# --- how sure the bot must be ---------------------------------------------------------------------------

SPEAKER = "My speaker stopped working after 8 months, is that covered?"


def _expected_rows(body):
    rows = re.findall(r'<tr data-one-in="(\d+)"[^>]*>\s*<th scope="row">([^<]*)</th>\s*<td>(\d+)%</td>\s*'
                      r'<td>(\d+)%</td>\s*<td>(\d+)%</td>', body)
    return {int(one_in): (label, int(a), int(o), int(h)) for one_in, label, a, o, h in rows}


def test_the_kb_page_shows_what_to_expect_at_each_risk_and_the_setting_changes_what_the_bot_answers(
        seeded, api, admin):
    assert search(api, SPEAKER)["decision"] == "answer"  # at the default, 1 wrong answer in 20
    rows = _expected_rows(admin.get("/admin/kb/").get_data(as_text=True))
    assert sorted(rows) == [20, 50, 100]
    assert "(in use)" in rows[20][0] and "(in use)" not in rows[50][0]
    for _, answered, offered, handed in rows.values():
        assert 98 <= answered + offered + handed <= 102  # rounded shares of all questions
    # A stricter setting answers fewer outright.
    assert rows[20][1] > rows[50][1] > rows[100][1]

    # (The speaker question sits between the thresholds at 1 in 50 and 1 in 100 on the seed KB.)
    resp = admin.post("/admin/kb/risk", data={"one_in": "100"})
    assert resp.status_code == 302
    body = admin.get("/admin/kb/").get_data(as_text=True)
    assert "at most 1 answer in 100 would be wrong" in body
    assert "(in use)" in _expected_rows(body)[100][0]
    # The bot is now less ready to answer: the speaker question gets choices or a hand-over instead.
    assert search(api, SPEAKER)["decision"] != "answer"


def test_evaluation_decides_at_the_admins_risk_with_the_calibrated_thresholds_as_the_bot_does(seeded, api, admin):
    slug = next(f["slug"] for f in faqs.list_faqs() if f["id"] == search(api, SPEAKER)["matches"][0]["faq_id"])
    body = f'text,answer_id\n"{SPEAKER}",{slug}\n'
    count = lambda page, key: int(re.search(rf'data-key="{key}">(\d+)<', page).group(1))  # noqa: E731
    page = " ".join(evaluate(admin, body).get_data(as_text=True).split())
    assert count(page, "answered_right") == 1  # answered outright at the default, 1 wrong in 20
    assert "calibrated on this knowledge base for your risk setting, at most 1 wrong answer in 20" in page

    assert admin.post("/admin/kb/risk", data={"one_in": "100"}).status_code == 302
    assert search(api, SPEAKER)["decision"] != "answer"
    page = " ".join(evaluate(admin, body).get_data(as_text=True).split())
    assert count(page, "answered_right") == 0 and count(page, "answered_wrong") == 0
    assert "at most 1 wrong answer in 100" in page
    shown = re.search(r"at least ([\d.]+)% sure the best FAQ is right", page)
    assert shown and 0 < float(shown.group(1)) <= 100


@pytest.mark.parametrize("value", ["7", "", "fifty", "-20"])
def test_a_risk_not_offered_is_refused_with_a_sentence_and_nothing_changes(seeded, admin, value):
    resp = admin.post("/admin/kb/risk", data={"one_in": value})
    assert resp.status_code == 400
    assert "Choose at most 1 wrong answer in 20, 50, 100 questions." in resp.get_data(as_text=True)
    with session_scope() as s:
        assert settings.risk(s) == 20


def test_the_kb_page_names_the_faqs_the_bot_confuses_with_links_to_edit_them(seeded, app, admin):
    # Two FAQs asked the same way: the bot cannot tell them apart, and the page says so.
    admin.post("/admin/kb/new", data=faq_form(slug="store-hours", answer="Shops open 9 to 6.", phrasings="\n".join([
        "when are your shops open", "what are your opening hours", "shop opening times",
        "are you open on sunday", "what time do stores close"])))
    admin.post("/admin/kb/new", data=faq_form(slug="store-hours-holidays", answer="Holidays: 10 to 4.",
                                              phrasings="\n".join([
        "when are your shops open on holidays", "opening hours on public holidays", "shop opening times at christmas",
        "are you open on easter sunday", "what time do stores close on new year"])))
    ids = {faq_id_by_slug("store-hours"), faq_id_by_slug("store-hours-holidays")}
    for _ in range(100):  # the new thresholds are measured in the background after an edit
        body = admin.get("/admin/kb/").get_data(as_text=True)
        pairs = {(int(a), int(b)) for a, b in re.findall(r'data-faq-id="(\d+)" data-other-id="(\d+)"', body)}
        if any({a, b} == ids for a, b in pairs):
            break
        threading.Event().wait(0.2)
    assert any({a, b} == ids for a, b in pairs)
    for a, b in pairs:
        assert f'<a href="/admin/kb/{a}">' in body and f'<a href="/admin/kb/{b}">' in body
        assert admin.get(f"/admin/kb/{a}").status_code == 200


def test_a_kb_too_small_to_measure_says_so(app, admin):
    admin.post("/admin/kb/new", data=faq_form())
    body = admin.get("/admin/kb/").get_data(as_text=True)
    assert 'id="kb-not-calibrated"' in body and 'id="kb-expected"' not in body
