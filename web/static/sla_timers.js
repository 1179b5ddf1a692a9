/*
 * SLA timers (<span data-sla-due="…Z" data-sla-warn="…Z">) count down in the browser from their due time:
 * the server sends due times once, and no page polls for them. Amber from the warning time, red when due.
 * Without JavaScript the server's text (the state and the due time in UTC) stays.
 */
(function () {
  "use strict";

  const TICK_MS = 5000;

  function span(seconds) {
    // Rounded to whole minutes first: 23 h 59 min 40 s reads "24 h 0 min", never "23 h 60 min".
    const minutes = Math.max(1, Math.round(Math.abs(seconds) / 60));
    if (minutes < 60) return `${minutes} min`;
    if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
    return `${Math.round(minutes / 1440)} days`;
  }

  function update(element, now) {
    const due = Date.parse(element.dataset.slaDue);
    const warn = Date.parse(element.dataset.slaWarn);
    if (Number.isNaN(due)) return;
    const left = (due - now) / 1000;
    const state = left <= 0 ? "breached" : now >= warn ? "warning" : "ok";
    const label = element.dataset.slaLabel || "due";
    element.textContent = left <= 0 ? `${label}: overdue ${span(left)}` : `${label}: ${span(left)} left`;
    element.classList.remove("sla-ok", "sla-warning", "sla-breached");
    element.classList.add(`sla-${state}`);
    element.dataset.slaState = state;
  }

  function tick() {
    const now = Date.now();
    for (const element of document.querySelectorAll("[data-sla-due]")) update(element, now);
  }

  /** Elements for a list of timers as the server describes them ({label, due, warn, done, state}). */
  function render(timers) {
    const out = [];
    for (const timer of timers || []) {
      const element = document.createElement("span");
      element.className = `sla sla-${timer.state}`;
      if (timer.done) {
        element.textContent = `${timer.label}: ${timer.state}`;
      } else {
        element.dataset.slaDue = timer.due;
        element.dataset.slaWarn = timer.warn;
        element.dataset.slaLabel = timer.label;
        update(element, Date.now());
      }
      out.push(element);
    }
    return out;
  }

  window.ccrSla = { render, tick };
  tick();
  setInterval(tick, TICK_MS);
})();
