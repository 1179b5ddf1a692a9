/*
 * Small helpers for the portal and ticket pages; every page works without them.
 * - Log-in and registration send the chat widget's visitor id, so a chat had before logging in joins the
 *   account (the key is VISITOR_KEY in widget.js).
 * - On a staff ticket, the reply button says whether it sends a reply or adds an internal note.
 */
(function () {
  "use strict";

  const VISITOR_KEY = "ccr_visitor_id";

  function storedVisitorId() {
    try {
      return window.localStorage.getItem(VISITOR_KEY);
    } catch (err) {
      return null; // storage blocked (private mode, cookies off): the account just starts without the chat
    }
  }

  const visitorId = storedVisitorId();
  if (visitorId && /^[A-Za-z0-9_-]{8,64}$/.test(visitorId)) {
    for (const input of document.querySelectorAll('input[name="visitor_id"][data-fill="visitor-id"]')) {
      input.value = visitorId;
    }
  }

  const internal = document.getElementById("reply-internal");
  const submit = document.getElementById("reply-submit");
  if (internal && submit) {
    const form = internal.form;
    const update = () => {
      const note = internal.checked;
      submit.textContent = note ? submit.dataset.labelNote : submit.dataset.labelReply;
      if (form) form.classList.toggle("is-note", note);
    };
    internal.addEventListener("change", update);
    update();
  }
})();
