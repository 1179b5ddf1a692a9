"""The serving process never imports scikit-learn or scipy (~95 MB resident for good): every fit runs in a
child process (handoff/vectors/child.py), and searching and predicting are numpy."""
import subprocess
import sys

from handoff.config import PROJECT_ROOT

# Run in a fresh interpreter: this test process has long imported scikit-learn for other tests.
SERVING = """
import sys, tempfile
from tests.fakes import FakeRasa
from tests.handoff.conftest import service_app
from handoff.db import session_scope
from handoff.knowledge import faqs, learning
from handoff.models import TriageCorrection
from handoff.ops.cli import SEED
from handoff.routing import triage, triage_model

rasa = FakeRasa(token="t")
app = service_app(f"sqlite:///{tempfile.mkdtemp()}/serving.db", rasa)
with app.app_context():
    faqs.import_csv(SEED / "faq_answers.csv", SEED / "faq_questions.csv")
    index = app.extensions["knowledge"]
    assert index.search("How long does a refund take?")["decision"] == "answer"
    assert index.quality()["calibrated"]
    with session_scope() as s:
        for i in range(40):
            urgent = i % 2 == 0
            text = f"{'smoke came out of the charger' if urgent else 'how do I pair my headphones'} ({i})"
            s.add(TriageCorrection(item_kind="ticket", item_id=i, text=text, predicted_priority="normal",
                                   predicted_category="technical", corrected_priority="urgent" if urgent else "normal",
                                   corrected_category="technical", cue_priority="normal", cue_category="technical"))
    state = triage_model.refresh(force=True)
    assert state.verdicts["priority"].in_charge
    with session_scope() as s:
        assert triage.predict(s, "thick smoke from my charger").priority == "urgent"
    assert len(learning.group_texts(["gift card balance", "gift cards balance?", "store in oslo"])) == 2
rasa.close()
print(sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "scipy")))
"""


def test_the_serving_process_imports_neither_scikit_learn_nor_scipy():
    done = subprocess.run([sys.executable, "-c", SERVING], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
