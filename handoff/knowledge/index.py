"""The in-process search index over the enabled FAQs, rebuilt in the background when the store changes."""
from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from handoff.db import session_scope
from handoff.errors import clean_text
from handoff.models import Faq
from handoff.realtime import off_the_loop
from handoff.vectors.child import FitFailed

from . import settings
from .faqs import current_version
from .matcher import FaqMatcher

log = logging.getLogger("careregistry.knowledge")
REBUILD_RETRY_SECONDS = 60  # after a failed rebuild, before the same version is tried again
# A first index of more phrasings than this is preceded by a TF-IDF one (ready in ~3 s, ~1.6 s of which the
# fitting child spends importing scikit-learn).
PROVISIONAL_ABOVE = 500


@dataclass(frozen=True)
class _Entry:
    question: str
    answer: str
    category: str


def _read_store(s) -> tuple[dict[int, _Entry], list[tuple[int, str]]]:
    """The enabled FAQs: each one's entry, and every (faq id, phrasing) pair to fit."""
    faqs = s.scalars(select(Faq).where(Faq.enabled.is_(True)).options(selectinload(Faq.phrasings))).all()
    entries = {f.id: _Entry(f.phrasings[0].text if f.phrasings else f.slug, f.answer, f.category) for f in faqs}
    return entries, [(f.id, p.text) for f in faqs for p in f.phrasings]


def release_freed_memory() -> None:
    """Hand back to the system what a rebuild freed. Its temporaries (every phrasing's embeddings, the
    calibration's folds) were tens of MB in malloc's arenas, which keep freed memory for reuse: the
    process stayed ~20 MB larger than it needs after every rebuild."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to do


class KnowledgeIndex:
    """The matcher of the enabled FAQs, rebuilt when the stored version moves on.

    A rebuild runs in its own thread. A search waits for it up to `wait` seconds (a small knowledge
    base refits in well under that, so the next question already sees an admin's edit), then answers
    from the previous index rather than keep a customer waiting while a large one refits. The previous
    index is read against the store as it is now: a disabled or deleted FAQ is never offered, an edited
    answer is given as it now reads; only changed phrasings wait for the refit.
    """

    def __init__(self, answer_threshold: float | None = None, choose_threshold: float | None = None,
                 wait: float = 5.0, calibrate: bool = True):
        self._thresholds = {k: v for k, v in (("answer_threshold", answer_threshold),
                                              ("choose_threshold", choose_threshold))
                            if v is not None and v >= 0}
        # Thresholds set by hand (FAQ_ANSWER_THRESHOLD...) are the operator's choice: no calibration.
        self._calibrate = calibrate and not self._thresholds
        self._risk = settings.DEFAULT_RISK
        self._wait = wait
        self._lock = threading.Lock()
        self._version = -1
        self._matcher = FaqMatcher(**self._thresholds)
        self._entries: dict[int, _Entry] = {}
        self._building: tuple[int, threading.Thread] | None = None
        self._store_entries: tuple[int, dict[int, _Entry]] | None = None  # the store's, while the index lags
        self._failed: tuple[int, float] | None = None  # version whose rebuild failed, and when
        self._provisional = False  # the published index is the quick TF-IDF one, the full one is coming
        self._published = threading.Event()
        self._calibrating = False
        self._verdicts_for: tuple | None = None
        self._verdicts: dict[str, bool] = {}

    def _fresh(self) -> tuple[FaqMatcher, dict[int, _Entry]]:
        with session_scope() as s:
            version = current_version(s)
            self._risk = settings.risk(s)
        if version != self._version:
            with self._lock:
                retry_later = self._failed is not None and self._failed[0] == version and \
                    time.monotonic() - self._failed[1] < REBUILD_RETRY_SECONDS
                if version != self._version and self._building is None and not retry_later:
                    thread = threading.Thread(target=self._rebuild, args=(version,), daemon=True,
                                              name=f"faq-index-{version}")
                    self._building = (version, thread)
                    thread.start()
                building = self._building
            if building is not None:
                if self._version < 0:  # the very first index has nothing to fall back on: wait for it
                    while self._version < 0 and building[1].is_alive():
                        self._published.wait(0.1)
                else:
                    building[1].join(self._wait)
        with self._lock:
            matcher, entries, published = self._matcher, self._entries, self._version
        if 0 <= published != version:
            # Still refitting (or its rebuild failed): the published matcher, but only the FAQs the store
            # now holds enabled, with their answers as they now read.
            entries = self._entries_of(version)
        return matcher, entries

    def _entries_of(self, version: int) -> dict[int, _Entry]:
        with self._lock:
            if self._store_entries is not None and self._store_entries[0] == version:
                return self._store_entries[1]
        with session_scope() as s:
            entries, _ = _read_store(s)
        with self._lock:
            self._store_entries = (version, entries)
        return entries

    def _rebuild(self, version: int) -> None:
        try:
            with session_scope() as s:
                entries, pairs = _read_store(s)
            started = time.perf_counter()
            matcher = FaqMatcher(**self._thresholds)
            if matcher.embeddings and self._version < 0 and len(pairs) > PROVISIONAL_ABOVE:
                # First index since start-up: TF-IDF answers within seconds while the sentence model
                # embeds every phrasing (~3 ms each) and fits its classifier, then the full index replaces it.
                self._publish(version, FaqMatcher(embeddings=False, **self._thresholds).fit(pairs), entries,
                              provisional=True)
                log.info("faq index provisional version=%s scoring=tfidf phrasings=%s", version, len(pairs))
            # The published index's classifier starts this one's, so an edit to 5,000 phrasings refits
            # in ~10 s, not ~20 s (a first build, or one after the provisional TF-IDF index, starts cold).
            previous = self._matcher
            matcher.fit(pairs, previous=previous)  # in a child process; the loop serves meanwhile
            calibrated_later = False
            if self._calibrate and previous.calibration is not None and previous.embeddings == matcher.embeddings:
                # An edit moves the thresholds little: the previous ones serve until the new ones are ready.
                matcher.calibration = previous.calibration
                calibrated_later = True
            elif self._calibrate:
                # Nothing to borrow (first index): calibrate before publishing; the provisional TF-IDF
                # index, or none for a small KB that calibrates in a second or two, serves meanwhile.
                self._log_calibration(version, matcher, *self._calibrate_now(matcher))
            self._publish(version, matcher, entries)
            log.info("faq index rebuilt version=%s faqs=%s phrasings=%s scoring=%s seconds=%.2f", version,
                     len(entries), len(pairs), "embeddings" if matcher.embeddings else "tfidf",
                     time.perf_counter() - started)
            if calibrated_later:
                self._start_calibrating()
            else:
                release_freed_memory()
        except FitFailed as exc:
            self._failed = (version, time.monotonic())
            log.error("faq index rebuild failed version=%s %s fix=%r; still answering from version %s, "
                      "retrying in %s s", version, exc.cause, exc.fix, self._version, REBUILD_RETRY_SECONDS)
        except Exception:
            self._failed = (version, time.monotonic())
            log.exception("faq index rebuild failed version=%s; still answering from version %s, "
                          "retrying in %s s", version, self._version, REBUILD_RETRY_SECONDS)
        finally:
            with self._lock:
                if self._building is not None and self._building[0] == version:
                    self._building = None

    def _start_calibrating(self) -> None:
        """Calibrate the published matcher in a thread of its own, so the next edit's rebuild never
        waits for it; one such thread at a time, which goes on to the newest index when it is done."""
        with self._lock:
            if self._calibrating:
                return
            self._calibrating = True
        threading.Thread(target=self._calibrate_published, daemon=True, name="faq-calibration").start()

    def _calibrate_published(self) -> None:
        done = None
        while True:
            with self._lock:
                matcher, version = self._matcher, self._version
                if matcher is done or self._provisional:
                    self._calibrating = False
                    return
            done = matcher
            self._log_calibration(version, matcher, *self._calibrate_now(matcher))
            release_freed_memory()

    @staticmethod
    def _calibrate_now(matcher: FaqMatcher):
        started = time.perf_counter()
        try:
            calibration = matcher.calibrate()
        except FitFailed as exc:
            log.error("faq calibration failed %s fix=%r; keeping the previous thresholds", exc.cause, exc.fix)
            calibration = None
        except Exception:
            log.exception("faq calibration failed; keeping the previous thresholds")
            calibration = None
        return calibration, time.perf_counter() - started

    def _log_calibration(self, version: int, matcher: FaqMatcher, calibration, seconds: float) -> None:
        if calibration is None:
            log.info("faq thresholds not calibrated version=%s (too small a KB, or failed)", version)
            return
        level = calibration.level(self._risk)
        log.info("faq thresholds calibrated version=%s held_out=%s risk_one_in=%s answered=%.3f offered=%.3f "
                 "handed_on=%.3f seconds=%.2f", version, calibration.held_out, level.one_in, level.answered,
                 level.offered, level.handed_on, seconds)

    def _publish(self, version: int, matcher: FaqMatcher, entries: dict[int, _Entry],
                 provisional: bool = False) -> None:
        with self._lock:
            # A later version may have finished first; never go back to an older one.
            if version > self._version or (version == self._version and self._provisional):
                self._matcher, self._entries, self._version = matcher, entries, version
                self._provisional = provisional
                self._published.set()

    def warm(self) -> None:
        """Build the first index in the background, so the first customer does not wait for it."""
        threading.Thread(target=self._fresh, daemon=True, name="faq-index-warm").start()

    def matcher(self) -> FaqMatcher:
        """The matcher of the current knowledge base, for read-only use (e.g. an evaluation)."""
        return self._fresh()[0]

    @property
    def risk(self) -> int:
        return self._risk

    def answers(self):
        """A function telling whether the current KB answers a question outright, for leaving out
        suggestions a new or edited FAQ now covers. Remembers its verdicts until the index changes."""
        matcher, entries = self._fresh()
        risk = self._risk
        with self._lock:
            if self._verdicts_for != (id(matcher), id(matcher.calibration), risk):
                self._verdicts_for, self._verdicts = (id(matcher), id(matcher.calibration), risk), {}
            verdicts = self._verdicts

        def answered(text: str) -> bool:
            if text not in verdicts:
                matches = [m for m in off_the_loop(matcher.search, text) if m.faq_id in entries]
                verdicts[text] = matcher.decide(matches, risk=risk) == "answer"
            return verdicts[text]
        return answered

    def quality(self) -> dict:
        """What the calibration expects of the current KB at each risk setting, and the FAQs it
        confuses, for the admin's page. `calibrated` is False while a KB is too small to measure, or
        before the first calibration has finished."""
        matcher, entries = self._fresh()
        calibration = matcher.calibration
        if calibration is None:
            return {"calibrated": False, "risk": self._risk, "levels": [], "confused": [], "held_out": 0}
        confused = [{"faq_id": a, "question": entries[a].question, "other_id": b, "other": entries[b].question,
                     "times": n} for a, b, n in calibration.confused if a in entries and b in entries]
        return {"calibrated": True, "risk": self._risk, "held_out": calibration.held_out, "confused": confused,
                "levels": [vars(calibration.levels[r]) for r in sorted(calibration.levels)]}

    def search(self, text, limit: int = 3) -> dict:
        text = clean_text(text, 1000, "question")
        matcher, entries = self._fresh()
        matches = [m for m in off_the_loop(functools.partial(matcher.search, text, limit=limit))
                   if m.faq_id in entries]
        return {
            "decision": matcher.decide(matches, risk=self._risk),
            "matches": [{"faq_id": m.faq_id, "question": entries[m.faq_id].question,
                         "answer": entries[m.faq_id].answer, "score": round(float(m.score), 4)}
                        for m in matches],
        }
