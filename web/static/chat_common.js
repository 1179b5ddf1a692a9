/*
 * What the chat widget (widget.js) and the agent console (console.js) share: building elements, the
 * limits and timings of docs/protocol.md, sending messages with an acknowledgement (re-sent until the
 * server answers, deduplicated there by client_msg_id) and announcing "typing".
 *
 * The console page loads this before console.js; the widget, embedded on other sites with one tag, loads
 * it from its own server before it starts. Everything is under window.ccrChat, so nothing collides with
 * the host site's names.
 */
(function () {
  "use strict";

  const MAX_LENGTH = 4000;
  const ACK_TIMEOUT_MS = 10000;
  const TYPING_IDLE_MS = 2500; // say "stopped typing" after this much quiet
  const TYPING_REFRESH_MS = 4000; // re-announce while typing continues
  const REMOTE_TYPING_TTL_MS = 8000; // hide the other side's indicator if its "stopped" event is lost
  const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

  /** Builds an element. Strings among the children become text nodes, never markup. */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function randomId(length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length));
    let id = "";
    // 256 is a multiple of 64, so masking keeps every character equally likely.
    for (const byte of bytes) id += ID_ALPHABET[byte & 63];
    return id;
  }

  /** "14:03" in the reader's locale, or null for a missing or unreadable time. */
  function formatTime(iso) {
    const date = new Date(iso);
    if (!iso || Number.isNaN(date.getTime())) return null;
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  /** The trimmed text of a composer, or null when there is nothing to send or it is too long (said). */
  function readMessage(textarea, showError) {
    const text = textarea.value.trim();
    if (!text) return null;
    if (text.length > MAX_LENGTH) {
      showError(`Messages can be at most ${MAX_LENGTH} characters long.`);
      return null;
    }
    return text;
  }

  /** Scrolling of a transcript, `list()` (a function, as the widget builds its list later). */
  function scrolling(list) {
    return {
      isNearBottom() {
        const t = list();
        return t.scrollHeight - t.scrollTop - t.clientHeight < 80;
      },
      scrollToEnd() {
        list().scrollTop = list().scrollHeight;
      },
    };
  }

  /** The form's submit button and Enter (not Shift+Enter, not while composing) both call send(). */
  function bindComposer(form, textarea, send) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send();
    });
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        send();
      }
    });
  }

  /**
   * Messages shown optimistically and not yet acknowledged, oldest first. Each entry has a `text` and the
   * `element` on screen, which carries `pendingClass` and aria-busy until the server stored it.
   *   socket():        the current Socket.IO socket, or null
   *   event:           the event that sends one message
   *   payload(entry):  its data, without client_msg_id
   *   settle(entry, ack): the server's answer ({ok, id} or {ok: false, error})
   * An entry without an answer in time is sent again with the same client_msg_id, as is every entry
   * still waiting after a reconnect (flush); the server stores each one once.
   */
  function createOutbox({ socket, event, payload, settle, pendingClass }) {
    const entries = new Map(); // client_msg_id -> entry

    function emit(entry) {
      const current = socket();
      if (!current || !current.connected) return false;
      const attempt = ++entry.attempt;
      const data = Object.assign(payload(entry), { client_msg_id: entry.clientMsgId });
      current.timeout(ACK_TIMEOUT_MS).emit(event, data, (err, ack) => {
        if (entries.get(entry.clientMsgId) !== entry) return; // settled meanwhile
        if (err) {
          if (attempt === entry.attempt) emit(entry); // no answer in time: safe to send again
          return;
        }
        settle(entry, ack);
      });
      return true;
    }

    return {
      /** Keeps the entry until it is settled and marks its element as pending. */
      add(entry) {
        entry.clientMsgId = randomId(24);
        entry.attempt = 0;
        entry.element.classList.add(pendingClass);
        entry.element.setAttribute("aria-busy", "true");
        entries.set(entry.clientMsgId, entry);
        return entry;
      },
      /** Sends the entry now; false when offline (flush() sends it once connected). */
      emit,
      flush() {
        for (const entry of entries.values()) emit(entry);
      },
      values() {
        return entries.values();
      },
      delete(entry) {
        entries.delete(entry.clientMsgId);
      },
      /** The server stored the entry as message `id`: its element is an ordinary message now. */
      markStored(entry, id) {
        entries.delete(entry.clientMsgId);
        entry.element.classList.remove(pendingClass);
        entry.element.removeAttribute("aria-busy");
        entry.element.dataset.id = String(id);
      },
      /** Server messages go above the still-pending ones, which stay at the bottom of the list. */
      insert(list, item) {
        list.insertBefore(item, list.querySelector(`.${pendingClass}`));
      },
    };
  }

  /**
   * Tells the other side "typing" while text is being written and "stopped" after a pause.
   * `payload(key, typing)` is the data of the "typing" event for `key` (the console's conversation id;
   * the widget has only one). Moving to another key says "stopped" for the previous one first.
   */
  function createTypingNotifier({ socket, payload }) {
    let sentFor = null; // the key last told "typing: true"
    let sentAt = 0;
    let idleTimer = null;

    function stop() {
      clearTimeout(idleTimer);
      const current = socket();
      if (sentFor !== null && current && current.connected) current.emit("typing", payload(sentFor, false));
      sentFor = null;
    }

    /** Call on every input; `hasText` is whether anything but white space is left. */
    function typed(key, hasText) {
      if (!hasText) {
        stop();
        return;
      }
      const now = Date.now();
      if (sentFor !== key || now - sentAt > TYPING_REFRESH_MS) {
        if (sentFor !== null && sentFor !== key) stop();
        socket().emit("typing", payload(key, true));
        sentFor = key;
        sentAt = now;
      }
      clearTimeout(idleTimer);
      idleTimer = setTimeout(stop, TYPING_IDLE_MS);
    }

    return {
      typed,
      stop,
      /** After a disconnect: the server has forgotten, nothing to take back. */
      reset() {
        sentFor = null;
      },
    };
  }

  window.ccrChat = {
    MAX_LENGTH,
    ACK_TIMEOUT_MS,
    REMOTE_TYPING_TTL_MS,
    h,
    randomId,
    formatTime,
    readMessage,
    scrolling,
    bindComposer,
    createOutbox,
    createTypingNotifier,
  };
})();
