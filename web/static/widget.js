/*
 * Customer Care Registry chat widget.
 *
 * Embed on any page:
 *   <script src="https://support.example.com/static/widget.js"
 *           data-server="https://support.example.com" defer></script>
 * Options, all optional: data-color (any CSS colour, for the launcher, header and buttons),
 * data-position ("right", the default, or "left"), data-greeting (a line shown before the first message,
 * never sent) and data-language (the page language of the widget's text, for screen readers).
 * An empty data-server means the page and the chat service share an origin. The widget then loads, from
 * that server, its stylesheet, the code it shares with the agent console (chat_common.js) and, when it
 * connects, the Socket.IO client.
 *
 * Wire protocol: docs/protocol.md, section 1 (Socket.IO namespace /chat).
 * Everything the widget adds to the page lives under #ccr-root and uses ccr- names so it does not
 * collide with the host site.
 */
(function () {
  "use strict";

  // A site that includes the snippet twice must still get one widget.
  if (window.__ccrWidgetLoaded) return;
  window.__ccrWidgetLoaded = true;

  // Only known while this file first runs, so read before anything waits.
  const script =
    document.currentScript || document.querySelector('script[src*="widget.js"][data-server]');
  const server = ((script && script.getAttribute("data-server")) || "").replace(/\/+$/, "");
  const option = (name) => ((script && script.getAttribute(`data-${name}`)) || "").trim();
  const options = {
    color: option("color"),
    position: option("position") === "left" ? "left" : "right",
    greeting: option("greeting").slice(0, 300),
    language: /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$/.test(option("language")) ? option("language") : "",
  };

  // --- loading the shared code, the CSS and the Socket.IO client ----------------------------

  const loading = new Map(); // path -> promise

  /** Runs a script from the chat server once; resolves with what `loaded()` finds after it ran. */
  function loadScript(path, loaded) {
    const ready = loaded();
    if (ready) return Promise.resolve(ready);
    if (!loading.has(path)) {
      const promise = new Promise((resolve, reject) => {
        const tag = document.createElement("script");
        tag.src = `${server}${path}`;
        tag.async = true;
        tag.addEventListener("load", () => {
          const value = loaded();
          if (value) resolve(value);
          else reject(new Error(`${path} did not load`));
        });
        tag.addEventListener("error", () => reject(new Error(`${path} failed to load`)));
        document.head.append(tag);
      }).catch((err) => {
        loading.delete(path); // let the next attempt try again
        throw err;
      });
      loading.set(path, promise);
    }
    return loading.get(path);
  }

  function injectStyles() {
    if (document.querySelector("link[data-ccr-widget]")) return Promise.resolve();
    return new Promise((resolve) => {
      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = `${server}/static/widget.css`;
      link.setAttribute("data-ccr-widget", "");
      link.addEventListener("load", resolve);
      link.addEventListener("error", resolve);
      setTimeout(resolve, 3000); // never keep the launcher hidden because of a slow stylesheet
      document.head.append(link);
    });
  }

  function loadSocketIo() {
    return loadScript("/vendor/socket.io.min.js", () => typeof window.io === "function" && window.io);
  }

  Promise.all([loadScript("/static/chat_common.js", () => window.ccrChat), injectStyles()]).then(
    ([chat]) => startWidget(chat),
    (err) => console.warn("Customer Care Registry chat widget:", err.message) // the host page goes on as it was
  );

  function startWidget(chat) {
    const { MAX_LENGTH, REMOTE_TYPING_TTL_MS, h, randomId, formatTime } = chat;
    const COUNTER_FROM = 3600; // show the character counter only when it starts to matter
    const VISITOR_KEY = "ccr_visitor_id";
    const ACTIVE_KEY = "ccr_active"; // a conversation is under way: connect on page load for live updates
    const OPEN_KEY = "ccr_open"; // keep the panel open while the visitor moves between pages

    const STATUS_TEXT = {
      bot: () => "You're chatting with the assistant",
      queued: (agent, queue) => queueText(queue),
      agent: (agent) => `You're chatting with ${(agent && agent.name) || "an agent"}`,
      resolved: () => "Conversation resolved",
    };
    const SENDER_LABEL = { customer: "You", bot: "Assistant", agent: "Agent", system: "Notice" };

    /** "You're number 3 in line · about 4 min": the place the server sends while the chat is queued. */
    function queueText(queue) {
      const position = queue && Number(queue.position);
      if (!position) return "Waiting for an agent…";
      const place = position === 1 ? "You're next in line" : `You're number ${position} in line`;
      const wait = queue.estimated_wait_s;
      if (wait === null || wait === undefined) return `${place}. An agent will be with you soon.`;
      const minutes = Math.round(Number(wait) / 60);
      return `${place} · about ${minutes < 1 ? "less than a minute" : `${minutes} min`}`;
    }
    const SMALL_SCREEN = 480; // at most this wide (as seen), the open panel takes the whole screen

    // --- small helpers -----------------------------------------------------------------------

    function storageGet(storage, key) {
      try {
        return window[storage].getItem(key);
      } catch (err) {
        return null; // storage can be blocked (private mode, strict privacy settings)
      }
    }

    function storageSet(storage, key, value) {
      try {
        if (value === null) window[storage].removeItem(key);
        else window[storage].setItem(key, value);
      } catch (err) {
        /* the widget still works for this page view */
      }
    }

    function loadVisitorId() {
      const stored = storageGet("localStorage", VISITOR_KEY);
      if (stored && /^[A-Za-z0-9_-]{8,64}$/.test(stored)) return stored;
      const id = randomId(32);
      storageSet("localStorage", VISITOR_KEY, id);
      return id;
    }

    function svgIcon(pathData) {
      const ns = "http://www.w3.org/2000/svg";
      const svg = document.createElementNS(ns, "svg");
      svg.setAttribute("viewBox", "0 0 24 24");
      svg.setAttribute("aria-hidden", "true");
      svg.setAttribute("focusable", "false");
      const path = document.createElementNS(ns, "path");
      path.setAttribute("d", pathData);
      svg.append(path);
      return svg;
    }

    // --- DOM ---------------------------------------------------------------------------------

    const ui = {};
    const { isNearBottom, scrollToEnd } = chat.scrolling(() => ui.transcript);

    function buildUi() {
      ui.unread = h("span", { id: "ccr-unread", class: "ccr-unread", hidden: true });
      ui.launcher = h(
        "button",
        { id: "ccr-launcher", class: "ccr-launcher", type: "button", "aria-expanded": "false", "aria-controls": "ccr-panel" },
        svgIcon("M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"),
        h("span", { class: "ccr-launcher-label" }, "Chat with us"),
        ui.unread
      );

      ui.status = h("p", { id: "ccr-status", class: "ccr-status", role: "status" }, "Connecting…");
      ui.close = h(
        "button",
        { id: "ccr-close", class: "ccr-close", type: "button", "aria-label": "Close chat" },
        svgIcon("M6 6l12 12M18 6L6 18")
      );
      ui.connection = h("p", { id: "ccr-connection", class: "ccr-connection", role: "status", hidden: true });
      ui.transcript = h("ol", {
        id: "ccr-transcript",
        class: "ccr-transcript",
        role: "log",
        "aria-live": "polite",
        "aria-label": "Conversation",
        tabindex: "0",
      });
      // Always in the page and only its text changes, so screen readers announce it (a live region that
      // appears from display:none is not read).
      ui.typing = h("p", { id: "ccr-typing", class: "ccr-typing", role: "status", "aria-live": "polite" });
      ui.rating = h("div", { id: "ccr-rating", class: "ccr-rating", hidden: true });
      ui.input = h("textarea", {
        id: "ccr-input",
        class: "ccr-input",
        rows: "1",
        maxlength: String(MAX_LENGTH),
        placeholder: "Type your message…",
        autocomplete: "off",
        "aria-describedby": "ccr-error ccr-count",
      });
      ui.send = h("button", { id: "ccr-send", class: "ccr-send", type: "submit" }, "Send");
      ui.file = h("input", { id: "ccr-file", class: "ccr-sr-only", type: "file", multiple: true, tabindex: "-1" });
      ui.attach = h(
        "button",
        { id: "ccr-attach", class: "ccr-attach", type: "button", "aria-label": "Attach a file", title: "Attach a file" },
        svgIcon("M16.5 6.5l-7.8 7.8a2 2 0 0 0 2.8 2.8l7.8-7.8a4 4 0 0 0-5.7-5.7L5.8 11.4a6 6 0 0 0 8.5 8.5l6.2-6.2")
      );
      ui.count = h("p", { id: "ccr-count", class: "ccr-count", hidden: true });
      ui.error = h("p", { id: "ccr-error", class: "ccr-error", role: "alert", hidden: true });
      ui.emailToggle = h(
        "button",
        { id: "ccr-email-toggle", class: "ccr-link", type: "button", "aria-expanded": "false", "aria-controls": "ccr-email" },
        "Email me this chat"
      );
      ui.form = h(
        "form",
        { id: "ccr-form", class: "ccr-form", novalidate: true },
        h("label", { for: "ccr-input", class: "ccr-sr-only" }, "Your message"),
        h("div", { class: "ccr-compose" }, ui.attach, ui.file, ui.input, ui.send),
        ui.error,
        ui.count,
        ui.emailToggle
      );
      ui.emailAddress = h("input", {
        id: "ccr-email-address",
        class: "ccr-input",
        type: "email",
        autocomplete: "email",
        maxlength: "254",
        required: true,
      });
      ui.emailStatus = h("p", { id: "ccr-email-status", class: "ccr-email-status", role: "status" });
      ui.emailForm = h(
        "form",
        { id: "ccr-email", class: "ccr-email", novalidate: true, hidden: true },
        h("label", { for: "ccr-email-address" }, "Your email address"),
        h("div", { class: "ccr-compose" }, ui.emailAddress, h("button", { type: "submit", class: "ccr-send", id: "ccr-email-send" }, "Send")),
        ui.emailStatus
      );
      ui.panel = h(
        "section",
        { id: "ccr-panel", class: "ccr-panel", role: "dialog", "aria-labelledby": "ccr-title", hidden: true },
        h(
          "header",
          { class: "ccr-header" },
          h("div", { class: "ccr-heading" }, h("h2", { id: "ccr-title", class: "ccr-title" }, "Chat with us"), ui.status),
          ui.close
        ),
        ui.connection,
        ui.transcript,
        ui.typing,
        ui.rating,
        ui.emailForm,
        ui.form
      );
      ui.greeting = options.greeting ? h("p", { id: "ccr-greeting", class: "ccr-greeting" }, options.greeting) : null;
      if (ui.greeting) ui.transcript.before(ui.greeting);
      ui.root = h(
        "div",
        { id: "ccr-root", class: `ccr-root ccr-${options.position}`, lang: options.language || null },
        ui.panel,
        ui.launcher
      );
      // A host's colour is used only when it is one; anything else leaves the default.
      if (options.color && window.CSS && CSS.supports("color", options.color)) {
        ui.root.style.setProperty("--ccr-accent", options.color);
      }
      document.body.append(ui.root);

      ui.launcher.addEventListener("click", () => (ui.panel.hidden ? openPanel() : closePanel()));
      ui.close.addEventListener("click", () => closePanel());
      ui.panel.addEventListener("keydown", (event) => {
        if (event.key === "Escape") closePanel();
      });
      chat.bindComposer(ui.form, ui.input, submitInput);
      ui.attach.addEventListener("click", () => ui.file.click());
      ui.file.addEventListener("change", () => {
        const files = Array.from(ui.file.files || []);
        ui.file.value = "";
        if (files.length) uploadFiles(files);
      });
      ui.emailToggle.addEventListener("click", () => {
        const open = ui.emailForm.hidden;
        ui.emailForm.hidden = !open;
        ui.emailToggle.setAttribute("aria-expanded", String(open));
        if (open) ui.emailAddress.focus();
      });
      ui.emailForm.addEventListener("submit", (event) => {
        event.preventDefault();
        const address = ui.emailAddress.value.trim();
        if (!address) {
          ui.emailStatus.textContent = "Enter the address to send the chat to.";
          return;
        }
        if (!socket || !socket.connected) {
          ui.emailStatus.textContent = "You are offline; please try again in a moment.";
          return;
        }
        socket.timeout(chat.ACK_TIMEOUT_MS).emit("email_transcript", { email: address }, (err, ack) => {
          ui.emailStatus.textContent =
            !err && ack && ack.ok
              ? `Sent to ${ack.email}. It may take a minute to arrive.`
              : (ack && ack.error) || "The chat could not be sent. Please try again.";
        });
      });
      ui.input.addEventListener("input", onInput);
      ui.transcript.addEventListener("click", (event) => {
        const chip = event.target.closest(".ccr-button");
        if (!chip || chip.disabled) return;
        sendText(chip.dataset.payload, chip.textContent);
        // The chosen chip is disabled at once, which would drop keyboard focus to the top of the page.
        ui.input.focus({ preventScroll: true });
      });
      fitToScreen();
      if (window.visualViewport) {
        let queued = false;
        const refit = () => {
          if (queued) return;
          queued = true;
          requestAnimationFrame(() => {
            queued = false;
            fitToScreen();
          });
        };
        window.visualViewport.addEventListener("resize", refit);
        window.visualViewport.addEventListener("scroll", refit);
      }
    }

    /**
     * Pins the widget to what the visitor actually sees. `position: fixed` is relative to the layout
     * viewport, which on a phone grows with a host page wider than the screen (and the launcher and the
     * panel's close button end up off-screen); the visual viewport is the screen. The root covers it,
     * scaled back to the screen's size when the visitor has zoomed, and lets clicks through except on
     * the widget itself.
     */
    function fitToScreen() {
      const vv = window.visualViewport;
      const style = ui.root.style;
      if (!vv) return; // CSS alone: the layout viewport (right on every page that fits the screen)
      const scale = vv.scale || 1;
      style.left = `${vv.offsetLeft}px`;
      style.top = `${vv.offsetTop}px`;
      style.width = `${vv.width * scale}px`;
      style.height = `${vv.height * scale}px`;
      style.transform = scale === 1 ? "" : `scale(${1 / scale})`;
      ui.root.classList.toggle("ccr-small", vv.width * scale <= SMALL_SCREEN);
    }

    function openPanel({ focus = true } = {}) {
      ui.panel.hidden = false;
      ui.launcher.setAttribute("aria-expanded", "true");
      ui.root.classList.add("ccr-open");
      storageSet("sessionStorage", OPEN_KEY, "1");
      setUnread(0);
      connect();
      scrollToEnd();
      if (focus) ui.input.focus();
    }

    function closePanel() {
      ui.panel.hidden = true;
      ui.launcher.setAttribute("aria-expanded", "false");
      ui.root.classList.remove("ccr-open");
      storageSet("sessionStorage", OPEN_KEY, null);
      ui.launcher.focus();
    }

    let unreadCount = 0;
    function setUnread(count) {
      unreadCount = count;
      ui.unread.hidden = count === 0;
      ui.unread.textContent = count > 9 ? "9+" : String(count);
      ui.launcher.setAttribute(
        "aria-label",
        count ? `Chat with us, ${count} new message${count === 1 ? "" : "s"}` : "Chat with us"
      );
    }

    function showError(sentence) {
      ui.error.textContent = sentence;
      ui.error.hidden = false;
      ui.input.setAttribute("aria-invalid", "true");
    }

    function clearError() {
      ui.error.hidden = true;
      ui.error.textContent = "";
      ui.input.removeAttribute("aria-invalid");
    }

    function showConnection(sentence, link) {
      ui.connection.textContent = sentence || "";
      if (sentence && link) {
        const a = document.createElement("a");
        a.href = link.href;
        a.target = "_blank";
        a.rel = "noopener";
        a.className = "ccr-connection-link";
        a.textContent = link.text;
        ui.connection.append(" ", a);
      }
      ui.connection.hidden = !sentence;
    }

    let agentName = null;
    function setStatus(status, agent, queue) {
      agentName = (agent && agent.name) || null;
      const text = STATUS_TEXT[status];
      ui.status.textContent = text ? text(agent, queue) : "";
      if (queue && queue.position) ui.status.dataset.position = String(queue.position);
      else delete ui.status.dataset.position;
      ui.status.dataset.status = status || "";
      if (status !== "agent") hideRemoteTyping();
    }


    function autosize() {
      ui.input.style.height = "auto";
      ui.input.style.height = `${Math.min(ui.input.scrollHeight, 140)}px`;
    }

    function updateCount() {
      const length = ui.input.value.length;
      ui.count.hidden = length < COUNTER_FROM;
      ui.count.textContent = `${length} / ${MAX_LENGTH} characters`;
    }

    // --- transcript --------------------------------------------------------------------------

    const rendered = new Map(); // message id -> <li>
    // Button payloads are stored as the customer's text; show the button's title for them instead.
    const payloadTitles = new Map();

    function messageElement(sender, text, createdAt, agent) {
      const time = formatTime(createdAt);
      const name = sender === "agent" && agent && agent.name ? String(agent.name) : null;
      return h(
        "li",
        { class: "ccr-msg", "data-sender": sender },
        name
          ? h(
              "div",
              { class: "ccr-author" },
              h("span", { class: "ccr-avatar", "aria-hidden": "true" }, String(agent.initials || "?")),
              h("span", { class: "ccr-author-name" }, name)
            )
          : h("span", { class: "ccr-sr-only" }, `${SENDER_LABEL[sender] || "Message"}: `),
        h("div", { class: "ccr-bubble" }, text),
        time ? h("time", { class: "ccr-time", datetime: createdAt }, time) : null
      );
    }

    function renderMessage(message) {
      const sender = SENDER_LABEL[message.sender] ? message.sender : "system";
      const buttons = Array.isArray(message.buttons) ? message.buttons : [];
      for (const button of buttons) payloadTitles.set(String(button.payload), String(button.title));
      const text = sender === "customer" ? payloadTitles.get(message.text) || message.text : message.text;
      const item = messageElement(sender, String(text ?? ""), message.created_at, message.agent);
      item.dataset.id = String(message.id);
      if (buttons.length) {
        const group = h("div", { class: "ccr-buttons", role: "group", "aria-label": "Suggested replies" });
        for (const button of buttons) {
          const chip = h("button", { class: "ccr-button", type: "button" }, String(button.title));
          chip.dataset.payload = String(button.payload);
          group.append(chip);
        }
        item.querySelector(".ccr-bubble").after(group);
      }
      const files = Array.isArray(message.attachments) ? message.attachments : [];
      if (files.length) item.querySelector(".ccr-bubble").after(renderFiles(files));
      rendered.set(message.id, item);
      return item;
    }

    // --- files -------------------------------------------------------------------------------

    // Files are fetched with the visitor id in a header (never in a URL, where logs and history keep it),
    // then shown from a blob: photos in the chat, anything else saved as a download.
    function fetchFile(file) {
      return fetch(`${server}/chat/files/${encodeURIComponent(file.id)}`, {
        headers: { "X-Visitor-Id": visitorId },
        credentials: server ? "omit" : "same-origin",
      }).then((resp) => {
        if (!resp.ok) throw new Error("This file is not available.");
        return resp.blob();
      });
    }

    function sizeWords(bytes) {
      return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
    }

    function renderFiles(files) {
      const list = h("div", { class: "ccr-files" });
      for (const file of files) {
        const label = `${String(file.name)} (${sizeWords(Number(file.size) || 0)})`;
        if (file.preview) {
          const img = h("img", { class: "ccr-file-preview", alt: String(file.name) });
          list.append(img);
          fetchFile(file).then(
            (blob) => (img.src = URL.createObjectURL(blob)),
            () => img.replaceWith(h("span", { class: "ccr-file" }, `${label}: not available`))
          );
        } else {
          const link = h("button", { class: "ccr-file ccr-link", type: "button" }, `Download ${label}`);
          link.addEventListener("click", () =>
            fetchFile(file).then((blob) => {
              const a = h("a", { href: URL.createObjectURL(blob), download: String(file.name) });
              a.click();
              setTimeout(() => URL.revokeObjectURL(a.href), 10000);
            }, (err) => showError(err.message))
          );
          list.append(link);
        }
      }
      return list;
    }

    function uploadFiles(files) {
      clearError();
      const body = new FormData();
      for (const file of files) body.append("file", file, file.name);
      ui.attach.disabled = true;
      fetch(`${server}/chat/files`, {
        method: "POST",
        body,
        headers: { "X-Visitor-Id": visitorId, Accept: "application/json" },
        credentials: server ? "omit" : "same-origin",
      })
        .then((resp) =>
          resp.json().then(
            (data) => ({ resp, data }),
            () => ({ resp, data: {} })
          )
        )
        .then(({ resp, data }) => {
          if (!resp.ok) {
            const tooBig = resp.status === 413 ? "These files are too large to send." : null;
            throw new Error(data.message || tooBig || "The file could not be sent. Please try again.");
          }
          if (data.message) onMessage(data.message); // the socket's echo may come later, or after a reconnect
        })
        .catch((err) =>
          // A TypeError is the network's ("Failed to fetch"), not a sentence for the customer.
          showError(err instanceof TypeError || !err.message ? "The file could not be sent. Please try again." : err.message)
        )
        .finally(() => (ui.attach.disabled = false));
    }

    /** Only the suggestions after the customer's last message can still be chosen. */
    function refreshButtons() {
      const items = ui.transcript.querySelectorAll(".ccr-msg");
      let current = true;
      for (let i = items.length - 1; i >= 0; i--) {
        for (const chip of items[i].querySelectorAll(".ccr-button")) chip.disabled = !current;
        if (items[i].dataset.sender === "customer") current = false;
      }
    }

    // --- sending -----------------------------------------------------------------------------

    // The customer's messages shown before the server acknowledged them.
    const outbox = chat.createOutbox({
      socket: () => socket,
      event: "customer_message",
      payload: (entry) => ({ text: entry.text }),
      settle,
      pendingClass: "ccr-pending",
    });

    function submitInput() {
      const text = chat.readMessage(ui.input, showError);
      if (!text) return;
      ui.input.value = "";
      autosize();
      updateCount();
      sendText(text, null);
      ui.input.focus();
    }

    function sendText(text, buttonTitle) {
      if (!text) return;
      clearError();
      typing.stop();
      const entry = outbox.add({
        text,
        fromInput: buttonTitle === null,
        element: messageElement("customer", buttonTitle || text, new Date().toISOString()),
      });
      ui.transcript.append(entry.element);
      refreshButtons();
      scrollToEnd();
      if (!outbox.emit(entry)) connect(); // sent by outbox.flush() once connected
    }

    function markStored(entry, id) {
      const existing = rendered.get(id);
      if (existing && existing !== entry.element) {
        outbox.delete(entry);
        entry.element.remove(); // already on screen from the server's echo or the history
        return;
      }
      outbox.markStored(entry, id);
      rendered.set(id, entry.element);
    }

    function settle(entry, ack) {
      if (ack && ack.ok) {
        markStored(entry, ack.id);
      } else {
        outbox.delete(entry);
        entry.element.remove();
        showError((ack && ack.error) || "Your message could not be sent. Please try again.");
        // Keep what the customer typed so nothing is lost.
        if (entry.fromInput && !ui.input.value) {
          ui.input.value = entry.text;
          autosize();
          updateCount();
        }
      }
      refreshButtons();
    }

    /** The server echoes the customer's own message; it may arrive before the ack. */
    function adoptPending(message) {
      for (const entry of outbox.values()) {
        if (entry.text === message.text) {
          markStored(entry, message.id);
          return true;
        }
      }
      return false;
    }

    // --- typing ------------------------------------------------------------------------------

    const typing = chat.createTypingNotifier({ socket: () => socket, payload: (key, on) => ({ typing: on }) });
    let remoteTypingTimer = null;

    function onInput() {
      autosize();
      updateCount();
      if (socket && socket.connected) typing.typed("chat", Boolean(ui.input.value.trim()));
    }

    function hideRemoteTyping() {
      clearTimeout(remoteTypingTimer);
      if (ui.typing) ui.typing.textContent = "";
    }

    // --- socket ------------------------------------------------------------------------------

    const visitorId = loadVisitorId();
    let socket = null;
    let connecting = false;

    function connect() {
      if (socket || connecting) return;
      connecting = true;
      loadSocketIo()
        .then((io) => {
          // The page is shown to the agent beside the chat (without its query string, which may hold tokens).
          const page = `${location.origin}${location.pathname}`;
          // WebSocket first, long-polling only where a WebSocket cannot be opened. Starting on polling
          // and upgrading, a tab closed within a second or two of opening the chat left its session to
          // the ping timeout (~50 s): an aborted long-poll is not noticed by the server.
          socket = io(`${server}/chat`, { auth: { visitor_id: visitorId, page },
                                          transports: ["websocket", "polling"], tryAllTransports: true });
          socket.on("connect", onConnect);
          socket.on("disconnect", onDisconnect);
          socket.on("connect_error", onConnectError);
          socket.on("history", onHistory);
          socket.on("message", onMessage);
          socket.on("conversation_status", (data) => {
            setStatus(data.status, data.agent, data.queue);
            if (data.closed) showClosed(data.closed);
            if (data.status === "resolved") showRating(null);
            else hideRating();
          });
          socket.on("typing", onRemoteTyping);
        })
        .catch(() => {
          ui.status.textContent = "";
          showConnection("The chat is unavailable right now. Please try again later.");
        })
        .finally(() => {
          connecting = false;
        });
    }

    function onConnect() {
      showConnection(null);
      outbox.flush();
    }

    function onDisconnect() {
      typing.reset();
      hideRemoteTyping();
      // socket.active is false only when the server closed the connection on purpose.
      showConnection(socket.active ? "Reconnecting…" : "The chat was disconnected. Reload the page to continue.");
    }

    function onConnectError(err) {
      if (socket.active) {
        showConnection("Reconnecting…");
      } else if (err && err.data && err.data.reason === "busy") {
        // The service is full: nothing is retried, and the customer can still reach us by ticket.
        showConnection(err.message, {href: `${server || ""}/portal/new`, text: "Leave a message"});
      } else {
        // Refused by the server (for example an invalid visitor id): its message is a sentence.
        showConnection((err && err.message) || "The chat is unavailable right now.");
      }
    }

    /** Outside business hours a handoff is not queued: say when a person is back, and offer a ticket
        instead (as when the chat is busy). The time is shown in the customer's own time zone. */
    function showClosed(closed) {
      const back = closed.back_at ? new Date(closed.back_at) : null;
      const when = back && !Number.isNaN(back.getTime())
        ? back.toLocaleString([], { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" })
        : null;
      showConnection(when ? `Our team is away right now; a person is back ${when}.` : "Our team is away right now.",
                     { href: `${server || ""}/portal/new`, text: "Leave a message" });
    }

    function onHistory(data) {
      ui.transcript.replaceChildren();
      rendered.clear();
      payloadTitles.clear();
      // A chat with nothing in it yet opens with the admin's welcome (shown, never stored).
      if (!(data.messages || []).length && data.welcome) {
        const welcome = messageElement("bot", String(data.welcome));
        welcome.classList.add("ccr-welcome");
        ui.transcript.append(welcome);
      }
      for (const message of data.messages || []) ui.transcript.append(renderMessage(message));
      for (const entry of outbox.values()) ui.transcript.append(entry.element);
      setStatus(data.status, data.agent, data.queue);
      if (data.can_rate) showRating(data.rating);
      else hideRating();
      const active = (data.messages || []).length > 0 && data.status !== "resolved";
      storageSet("localStorage", ACTIVE_KEY, active ? "1" : null);
      refreshButtons();
      scrollToEnd();
    }

    function onMessage(message) {
      if (rendered.has(message.id)) return;
      const follow = isNearBottom();
      if (message.sender === "customer" && adoptPending(message)) {
        refreshButtons();
        return;
      }
      outbox.insert(ui.transcript, renderMessage(message));
      if (message.sender === "agent") hideRemoteTyping();
      if (message.sender !== "customer" && ui.panel.hidden) setUnread(unreadCount + 1);
      storageSet("localStorage", ACTIVE_KEY, "1");
      refreshButtons();
      if (follow || message.sender === "customer") scrollToEnd();
    }

    function onRemoteTyping(data) {
      if (data.sender && data.sender !== "agent") return;
      clearTimeout(remoteTypingTimer);
      ui.typing.textContent = data.typing ? `${agentName || "The agent"} is typing…` : "";
      if (data.typing) {
        remoteTypingTimer = setTimeout(hideRemoteTyping, REMOTE_TYPING_TTL_MS);
        if (isNearBottom()) scrollToEnd();
      }
    }

    // --- rating, after an agent resolved the chat ---------------------------------------------

    function hideRating() {
      ui.rating.hidden = true;
      ui.rating.replaceChildren();
    }

    function showRating(rating) {
      if (rating) {
        ui.rating.replaceChildren(
          h("p", { class: "ccr-rating-done", role: "status" }, `Thank you! You rated this chat ${rating.score} out of 5.`)
        );
        ui.rating.hidden = false;
        return;
      }
      if (!ui.rating.hidden && ui.rating.querySelector("form")) return;
      let chosen = 0;
      const stars = [1, 2, 3, 4, 5].map((score) =>
        h(
          "button",
          { type: "button", class: "ccr-star", "aria-pressed": "false", "aria-label": `${score} out of 5` },
          String(score)
        )
      );
      const comment = h("textarea", {
        id: "ccr-rating-comment",
        class: "ccr-input ccr-rating-comment",
        rows: "2",
        maxlength: "2000",
        placeholder: "Anything you'd like to add? (optional)",
      });
      const error = h("p", { class: "ccr-error", role: "alert", hidden: true });
      const submit = h("button", { type: "submit", class: "ccr-send", id: "ccr-rating-send" }, "Send rating");
      const form = h(
        "form",
        { class: "ccr-rating-form", novalidate: true },
        h(
          "fieldset",
          { class: "ccr-stars" },
          h("legend", { class: "ccr-rating-title" }, "How did we do? Rate this chat from 1 (poor) to 5 (great)."),
          ...stars
        ),
        h("label", { for: "ccr-rating-comment", class: "ccr-sr-only" }, "Comment"),
        comment,
        error,
        submit
      );
      stars.forEach((star, index) =>
        star.addEventListener("click", () => {
          chosen = index + 1;
          stars.forEach((other, i) => other.setAttribute("aria-pressed", String(i < chosen)));
        })
      );
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (!chosen) {
          error.textContent = "Choose a rating from 1 to 5 first.";
          error.hidden = false;
          return;
        }
        if (!socket || !socket.connected) {
          error.textContent = "You are offline; please try again in a moment.";
          error.hidden = false;
          return;
        }
        submit.disabled = true;
        socket.timeout(chat.ACK_TIMEOUT_MS).emit("rate", { score: chosen, comment: comment.value }, (err, ack) => {
          submit.disabled = false;
          if (!err && ack && ack.ok) {
            showRating(ack.rating);
            ui.input.focus({ preventScroll: true });
          } else {
            error.textContent = (ack && ack.error) || "Your rating could not be sent. Please try again.";
            error.hidden = false;
          }
        });
      });
      ui.rating.replaceChildren(form);
      ui.rating.hidden = false;
      scrollToEnd();
    }

    // --- start -------------------------------------------------------------------------------

    buildUi();
    if (storageGet("sessionStorage", OPEN_KEY)) openPanel({ focus: false }); // restored, not asked for
    else if (storageGet("localStorage", ACTIVE_KEY)) connect(); // live updates and unread count
  }
})();
