/*
 * Agent console: the queue, the agent's own chats and the live transcript.
 * Wire protocol: docs/protocol.md, section 2 (Socket.IO namespace /agent, session-cookie auth).
 * All text from customers, the bot and other agents is inserted as text nodes, never as markup.
 * Needs chat_common.js (window.ccrChat), loaded before it.
 */
(function () {
  "use strict";

  const root = document.getElementById("console");
  if (!root) return;
  if (!window.ccrChat || typeof window.io !== "function") {
    const connection = document.getElementById("connection-status");
    connection.dataset.state = "offline";
    connection.textContent = "The live connection could not be loaded. Please reload the page.";
    return;
  }

  const common = window.ccrChat;
  const { ACK_TIMEOUT_MS, REMOTE_TYPING_TTL_MS, h, formatTime } = common;
  const MAX_TICKET_DESCRIPTION = 8000;
  const CLOCK_TICK_MS = 20000;

  const REASONS = {
    customer_request: "Customer asked for a person",
    low_confidence: "Bot was not sure of the answer",
    repeated_fallback: "Bot did not understand, several times",
    bot_error: "Bot ran into an error",
  };
  const SENDER_LABEL = { customer: "Customer", bot: "Bot", agent: "Agent", system: "System" };
  const NO_ANSWER = "The server did not answer in time. Please try again.";

  const me = { name: root.dataset.agentName || "" };
  const csrfToken = (document.querySelector('#open-ticket-form input[name="csrf_token"]') || {}).value || "";

  const $ = (id) => document.getElementById(id);
  const ui = {
    connection: $("connection-status"),
    error: $("console-error"),
    queue: $("queue"),
    queueCount: $("queue-count"),
    queueEmpty: $("queue-empty"),
    myChats: $("my-chats"),
    myChatsEmpty: $("my-chats-empty"),
    chatEmpty: $("chat-empty"),
    chat: $("chat"),
    chatTitle: $("chat-title"),
    chatMeta: $("chat-meta"),
    chatNote: $("chat-note"),
    customerLeft: $("customer-left"),
    customerLeftText: $("customer-left-text"),
    customerLeftClose: $("customer-left-close"),
    transcript: $("transcript"),
    typing: $("customer-typing"),
    form: $("composer-form"),
    composer: $("composer"),
    send: $("send-btn"),
    attach: $("attach-btn"),
    attachInput: $("attach-input"),
    resolve: $("resolve-btn"),
    handback: $("handback-btn"),
    notify: $("notify-btn"),
    openTicket: $("open-ticket"),
    openTicketForm: $("open-ticket-form"),
    openTicketSubject: $("open-ticket-subject"),
    openTicketDescription: $("open-ticket-description"),
    openTicketCategory: $("open-ticket-category"),
    openTicketRecent: $("open-ticket-recent"),
    openTicketRecentText: $("open-ticket-recent-text"),
    openTicketConfirm: $("open-ticket-confirm"),
    openTicketError: $("open-ticket-error"),
    chatDone: $("chat-done"),
    chatRating: $("chat-rating"),
    preview: $("preview"),
    previewTitle: $("preview-title"),
    previewMeta: $("preview-meta"),
    previewTranscript: $("preview-transcript"),
    previewAccept: $("preview-accept"),
    previewClose: $("preview-close"),
    cannedList: $("canned-list"),
    customerInfo: $("customer-info-body"),
    customerSummary: $("customer-info-summary"),
    triage: $("chat-triage"),
    triagePriority: $("chat-triage-priority"),
    triageCategory: $("chat-triage-category"),
    triageConfirm: $("chat-triage-confirm"),
    triageWhy: $("chat-triage-why"),
    triageStatus: $("chat-triage-status"),
    tagsForm: $("chat-tags-form"),
    tagsInput: $("chat-tags"),
    tagsStatus: $("chat-tags-status"),
    cannedButton: $("canned-btn"),
    presence: $("presence-select"),
    presenceNotice: $("presence-notice"),
    transfer: $("transfer"),
    transferForm: $("transfer-form"),
    transferTo: $("transfer-to"),
    transferNote: $("transfer-note"),
    transferStatus: $("transfer-status"),
  };
  const HEARTBEAT_MS = 20000;
  const baseTitle = document.title;

  const state = {
    queue: [], // conversation summaries, as last sent by the server (the head of a long queue)
    queueTotal: 0,
    chats: new Map(), // id -> chat (conversation plus local fields), in the order they arrived
    selectedId: null,
    previewId: null, // a queued conversation shown read-only before accepting
    accepting: new Set(), // conversation ids with an accept in flight
    canned: [], // {shortcut, text, shared}
    offers: new Map(), // conversation id -> when the offer to this agent lapses (ms since epoch)
  };

  // --- helpers -------------------------------------------------------------------------------

  function customerLabel(customer) {
    return (customer && (customer.name || customer.email || customer.label)) || "Visitor";
  }

  function initialsOf(person) {
    if (person.initials) return String(person.initials);
    const parts = String(person.name || "").split(/[\s-]+/).filter(Boolean);
    return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
  }

  function reasonText(reason) {
    if (!reason) return "Handed off";
    return REASONS[reason] || String(reason).replace(/_/g, " ");
  }

  function waitingText(iso) {
    const since = new Date(iso).getTime();
    if (!iso || Number.isNaN(since)) return "";
    const minutes = Math.max(0, Math.floor((Date.now() - since) / 60000));
    if (minutes < 1) return "just now";
    if (minutes < 60) return `${minutes} min`;
    return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  function showError(sentence) {
    ui.error.textContent = sentence;
    ui.error.hidden = false;
  }

  function clearError() {
    ui.error.hidden = true;
    ui.error.textContent = "";
  }

  function setConnection(stateName, sentence) {
    ui.connection.dataset.state = stateName;
    ui.connection.textContent = sentence;
  }

  const { isNearBottom, scrollToEnd } = common.scrolling(() => ui.transcript);

  /** Emit with an acknowledgement; `done(ack)` gets {ok:false, error} when no answer came. */
  function request(event, payload, done) {
    if (!socket.connected) {
      done({ ok: false, error: "You are offline. Wait until the console reconnects, then try again." });
      return;
    }
    socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, ack) => {
      done(err ? { ok: false, error: NO_ANSWER } : ack || { ok: false, error: NO_ANSWER });
    });
  }

  // --- chats ---------------------------------------------------------------------------------

  function upsertConversation(conversation) {
    const previous = state.chats.get(conversation.id);
    const chat = {
      id: conversation.id,
      status: conversation.status,
      handoff_reason: conversation.handoff_reason,
      queued_at: conversation.queued_at,
      customer: conversation.customer || {},
      agent: conversation.agent || null,
      rating: conversation.rating || null,
      ticket_number: conversation.ticket_number || null,
      tags: conversation.tags || [],
      sla: conversation.sla || [],
      messages: [],
      messageIds: new Set(),
      unread: previous ? previous.unread : 0,
      customerTyping: false,
      closedNote: null,
      // When the customer closed the chat's last tab, once gone long enough (customer_presence event);
      // "back" once they return, until the agent moves on.
      customerLeftAt: conversation.customer_left_at || null,
      customerBack: false,
    };
    for (const message of conversation.messages || []) addMessage(chat, message);
    state.chats.set(chat.id, chat);
    applyStatus(chat, conversation.status, conversation.agent);
    return chat;
  }

  function addMessage(chat, message) {
    if (chat.messageIds.has(message.id)) return false;
    chat.messageIds.add(message.id);
    chat.messages.push(message);
    return true;
  }

  /** A chat stays readable after it leaves this agent, but can no longer be answered. */
  function applyStatus(chat, status, agent) {
    chat.status = status;
    chat.agent = agent || null;
    if (status === "agent" && (!agent || !agent.name || agent.name === me.name)) chat.closedNote = null;
    else if (status === "agent") chat.closedNote = `${agent.name} has taken over this conversation.`;
    else if (status === "resolved") chat.closedNote = "This conversation is resolved.";
    else if (status === "bot") chat.closedNote = "This conversation was handed back to the bot.";
    else if (status === "queued") chat.closedNote = "This conversation is back in the queue.";
    else chat.closedNote = "This conversation is no longer yours.";
  }

  function lastText(chat) {
    const last = chat.messages[chat.messages.length - 1];
    return last ? String(last.text ?? "") : "";
  }

  // --- rendering: queue ----------------------------------------------------------------------

  function renderQueue() {
    const items = state.queue.map((summary) => {
      const label = customerLabel(summary.customer);
      const email = summary.customer && summary.customer.name && summary.customer.email;
      const accepting = state.accepting.has(summary.id);
      const waiting = h(
        "time",
        { class: "waiting", datetime: summary.queued_at || null, title: "Time waiting in the queue" },
        waitingText(summary.queued_at)
      );
      waiting.dataset.since = summary.queued_at || "";
      return h(
        "li",
        { class: "queue-item", "data-conversation-id": summary.id },
        h(
          "div",
          { class: "item-head" },
          h("strong", { class: "who" }, label),
          h("span", { class: "waiting-wrap" }, h("span", { class: "sr-only" }, "Waiting: "), waiting)
        ),
        email ? h("p", { class: "item-sub" }, email) : null,
        h("p", { class: `reason reason-${summary.handoff_reason || "unknown"}` }, reasonText(summary.handoff_reason)),
        summary.topic ? h("p", { class: "item-sub topic" }, `Topic: ${summary.topic}`) : null,
        slaLine(summary.sla),
        summary.priority && summary.priority !== "normal"
          ? h("p", { class: `item-sub priority priority-${summary.priority}` },
            `Priority: ${summary.priority}` +
              ((summary.priority_reasons || []).length ? ` (${summary.priority_reasons.join(", ")})` : ""))
          : null,
        state.offers.has(summary.id)
          ? h("p", { class: "suggested offered" }, `Assigned to you: accept within ${offerLeft(summary.id)} s`)
          : summary.offered_to
            ? h("p", { class: "item-sub" }, `Offered to ${summary.offered_to.name}`)
            : summary.suggested_agent && summary.suggested_agent.name === me.name
              ? h("p", { class: "suggested" }, "Suggested for you")
              : null,
        summary.need
          ? h("p", { class: "need" }, h("span", { class: "need-label" }, "Needs: "), String(summary.need))
          : h("p", { class: "need muted" }, "Has not said what they need yet"),
        h(
          "div",
          { class: "item-actions" },
          h(
            "button",
            {
              class: "btn btn-secondary btn-small preview-btn",
              type: "button",
              "aria-label": `Preview conversation with ${label}`,
              disabled: !socket.connected,
            },
            "Preview"
          ),
          h(
            "button",
            {
              class: "btn btn-small accept-btn",
              type: "button",
              "aria-label": `Accept conversation with ${label}`,
              disabled: accepting || !socket.connected || Boolean(summary.offered_to && !state.offers.has(summary.id)),
            },
            accepting ? "Accepting…" : "Accept"
          )
        )
      );
    });
    const more = (state.queueTotal || 0) - items.length;
    if (more > 0) items.push(h("li", { class: "queue-more item-sub" }, `and ${more} more waiting`));
    ui.queue.replaceChildren(...items);
    ui.queueEmpty.hidden = items.length > 0;
    ui.queueCount.textContent = String(Math.max(state.queueTotal || 0, state.queue.length));
    updateTabBadge();
  }

  /** The running SLA timers of a chat, counting down in the browser (sla_timers.js). */
  function slaLine(timers, tag) {
    const running = (timers || []).filter((t) => !t.done);
    if (!running.length || !window.ccrSla) return null;
    return h(tag || "p", { class: "item-sub sla-list" }, ...window.ccrSla.render(running));
  }

  function tickClocks() {
    for (const time of ui.queue.querySelectorAll("time[data-since]")) {
      time.textContent = waitingText(time.dataset.since);
    }
  }

  // --- rendering: my chats -------------------------------------------------------------------

  function renderChatList() {
    updateTabBadge();
    const items = [];
    for (const chat of state.chats.values()) {
      const selected = chat.id === state.selectedId;
      const button = h(
        "button",
        {
          class: `chat-item${chat.closedNote ? " is-closed" : ""}`,
          type: "button",
          "data-conversation-id": chat.id,
          "aria-current": selected ? "true" : null,
        },
        h(
          "span",
          { class: "item-head" },
          h("strong", { class: "who" }, customerLabel(chat.customer)),
          chat.unread ? h("span", { class: "unread", "aria-label": `${chat.unread} unread` }, String(chat.unread)) : null
        ),
        h("span", { class: "item-sub" }, chat.closedNote ? statusWord(chat.status) : chat.customerTyping ? "typing…" : "Active"),
        chat.closedNote ? null : slaLine(chat.sla, "span"),
        lastText(chat) ? h("span", { class: "last" }, lastText(chat)) : null
      );
      items.push(h("li", null, button));
    }
    ui.myChats.replaceChildren(...items);
    ui.myChatsEmpty.hidden = items.length > 0;
  }

  function statusWord(status) {
    return { resolved: "Resolved", bot: "Back with the bot", queued: "Back in the queue", agent: "With another agent" }[
      status
    ] || "Closed";
  }

  // --- rendering: the selected chat ----------------------------------------------------------

  /** A clicked bot button reaches us as its payload; find the title the customer saw. */
  function buttonTitle(chat, text) {
    for (let i = chat.messages.length - 1; i >= 0; i--) {
      for (const button of chat.messages[i].buttons || []) {
        if (String(button.payload) === text) return String(button.title);
      }
    }
    return null;
  }

  function messageElement(message) {
    const sender = SENDER_LABEL[message.sender] ? message.sender : "system";
    const chat = state.chats.get(message.conversation_id) || state.chats.get(state.selectedId);
    const author = sender === "agent" ? message.agent || (message.mine ? me : null) : null;
    const who =
      sender === "customer" && chat
        ? customerLabel(chat.customer)
        : author && author.name
        ? author.name
        : SENDER_LABEL[sender];
    const time = formatTime(message.created_at);
    const text = String(message.text ?? "");
    const chosen = sender === "customer" && chat ? buttonTitle(chat, text) : null;
    const buttons = Array.isArray(message.buttons) ? message.buttons : [];
    const item = h(
      "li",
      { class: "msg", "data-sender": sender },
      h(
        "div",
        { class: "msg-meta" },
        author && author.name ? h("span", { class: "avatar", "aria-hidden": "true" }, initialsOf(author)) : null,
        h("span", { class: "msg-who" }, who),
        time ? h("time", { datetime: message.created_at }, time) : null,
        chosen ? h("span", { title: text }, "chose a button") : null
      ),
      h("div", { class: "msg-text" }, chosen || text),
      buttons.length
        ? h(
            "p",
            { class: "msg-buttons" },
            "Offered: ",
            ...buttons.map((button) => h("span", { class: "chip" }, String(button.title)))
          )
        : null,
      renderFiles(message.attachments)
    );
    if (message.id !== undefined && message.id !== null) item.dataset.id = String(message.id);
    return item;
  }

  /** A chat's files: photos shown (served by this site, to staff who may read the chat), others downloaded. */
  function renderFiles(files) {
    if (!Array.isArray(files) || !files.length) return null;
    return h(
      "div",
      { class: "msg-files" },
      ...files.map((file) => {
        const url = `/console/chat-files/${encodeURIComponent(file.id)}`;
        const size = Number(file.size) >= 1048576
          ? `${(Number(file.size) / 1048576).toFixed(1)} MB`
          : `${Math.max(1, Math.round(Number(file.size) / 1024))} KB`;
        return file.preview
          ? h("a", { href: url, target: "_blank", rel: "noopener" },
              h("img", { class: "msg-file-preview", src: url, alt: String(file.name) }))
          : h("a", { class: "msg-file", href: url, download: String(file.name) }, `Download ${file.name} (${size})`);
      })
    );
  }

  /** Files go up over HTTP (socket frames stop at 64 KB); the message comes back on the socket like any other. */
  function uploadFiles(files) {
    const chat = state.chats.get(state.selectedId);
    if (!chat || !files.length) return;
    const body = new FormData();
    for (const file of files) body.append("file", file, file.name);
    ui.attach.disabled = true;
    fetch(`/console/conversations/${encodeURIComponent(chat.id)}/files`, {
      method: "POST",
      body,
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
      credentials: "same-origin",
    })
      .then((response) =>
        response.json().then(
          (data) => ({ response, data }),
          () => ({ response, data: {} })
        )
      )
      .then(({ response, data }) => {
        if (!response.ok) {
          throw new Error(data.message || (response.status === 413 ? "These files are too large to send." : ""));
        }
      })
      .catch((err) =>
        showError(err instanceof TypeError || !err.message ? "The file could not be sent. Please try again." : err.message)
      )
      .finally(() => renderChatState());
  }

  function renderSelected() {
    if (state.previewId !== null) return; // the preview keeps the pane until it is closed or accepted
    const chat = state.chats.get(state.selectedId);
    ui.chatEmpty.hidden = Boolean(chat);
    ui.chat.hidden = !chat;
    if (!chat) return;

    ui.chatTitle.textContent = customerLabel(chat.customer);
    const meta = [];
    if (chat.customer && chat.customer.name && chat.customer.email) meta.push(chat.customer.email);
    meta.push(reasonText(chat.handoff_reason));
    meta.push(`Conversation #${chat.id}`);
    ui.chatMeta.textContent = meta.join(" · ");
    ui.chatRating.hidden = !chat.rating;
    ui.chatRating.textContent = chat.rating
      ? `Customer's rating: ${chat.rating.score} out of 5${chat.rating.comment ? ` · “${chat.rating.comment}”` : ""}`
      : "";
    renderTriage(chat);
    prepareTicketForm(chat);
    loadCustomer(chat);
    if (ui.tagsForm && ui.tagsForm.dataset.chat !== String(chat.id)) {
      ui.tagsForm.dataset.chat = String(chat.id);
      ui.tagsInput.value = (chat.tags || []).join(", ");
      ui.tagsStatus.textContent = "";
    }

    ui.transcript.replaceChildren(...chat.messages.map(messageElement));
    for (const entry of outbox.values()) {
      if (entry.conversationId === chat.id) ui.transcript.append(entry.element);
    }
    scrollToEnd();
    renderChatState();
  }

  /** The chat's predicted priority and category with their reasons; changing either is the correction. */
  function renderTriage(chat) {
    if (!ui.triage) return;
    const triage = chat.triage || {};
    ui.triage.hidden = !chat.triage;
    if (ui.triage.dataset.chat !== String(chat.id)) ui.triageStatus.textContent = "";
    ui.triage.dataset.chat = String(chat.id);
    ui.triagePriority.value = chat.priority || "normal";
    ui.triageCategory.value = chat.topic || "";
    const why = (triage.reasons || []).concat(triage.category_reason ? [triage.category_reason] : []);
    ui.triageWhy.textContent = why.length ? `Why: ${why.join(", ")}` : "";
  }

  function correctTriage(fields) {
    const chat = state.chats.get(state.selectedId);
    if (!chat) return;
    const body = new FormData();
    for (const [key, value] of Object.entries(fields)) body.append(key, value);
    ui.triageStatus.textContent = "Saving…";
    fetch(`/console/conversations/${encodeURIComponent(String(chat.id))}/triage`, {
      method: "POST",
      body,
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
      credentials: "same-origin",
    })
      .then((response) => response.json().then((data) => ({ ok: response.ok, data })))
      .then(({ ok, data }) => {
        if (!ok) throw new Error(data.message || "The correction could not be saved.");
        chat.priority = data.priority;
        chat.topic = data.topic;
        renderTriage(chat);
        ui.triageStatus.textContent = fields.confirm ? "Confirmed, thanks." : "Corrected; the team's model learns from it.";
      })
      .catch((err) => {
        renderTriage(chat);
        ui.triageStatus.textContent = err.message;
      });
  }

  const STATUS_WORDS = { bot: "with the bot", queued: "waiting", agent: "with an agent", resolved: "resolved" };

  /** The sidebar: who the customer is, their page and browser, their other chats and tickets (new tabs,
   * so the console stays online). Loaded when a chat is selected. */
  function loadCustomer(chat) {
    if (!ui.customerInfo || ui.customerInfo.dataset.chat === String(chat.id)) return;
    ui.customerInfo.dataset.chat = String(chat.id);
    ui.customerInfo.replaceChildren(h("p", { class: "muted small" }, "Loading…"));
    fetch(`/console/conversations/${encodeURIComponent(String(chat.id))}/customer`, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then((response) => response.json().then((body) => ({ ok: response.ok, body })))
      .then(({ ok, body }) => {
        if (ui.customerInfo.dataset.chat !== String(chat.id)) return;
        if (!ok) throw new Error(body.message || "The customer's details could not be loaded.");
        renderCustomer(body);
      })
      .catch((err) => {
        ui.customerInfo.dataset.chat = "";
        ui.customerInfo.replaceChildren(h("p", { class: "muted small" }, err.message));
      });
  }

  function renderCustomer(profile) {
    const who = profile.customer || {};
    const count = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
    ui.customerSummary.textContent = [
      `About ${who.name || who.label || "this customer"}`,
      who.email,
      profile.browser,
      count((profile.chats || []).length, "other chat"),
      count((profile.tickets || []).length, "ticket"),
    ]
      .filter(Boolean)
      .join(" · ");
    const facts = h(
      "dl",
      { class: "customer-facts" },
      h("div", null, h("dt", null, "Name"), h("dd", null, who.name || who.label || "—")),
      h("div", null, h("dt", null, "Email"), h("dd", null, who.email || "Not given")),
      h("div", null, h("dt", null, "Account"), h("dd", null, who.registered ? "Registered" : "Visitor")),
      h("div", null, h("dt", null, "Page"), h("dd", { class: "customer-page" }, profile.page || "Unknown")),
      h("div", null, h("dt", null, "Browser"), h("dd", null, profile.browser || "Unknown"))
    );
    const link = (href, text) => h("a", { href, target: "_blank", rel: "noopener" }, text);
    const chats = (profile.chats || []).map((item) =>
      h(
        "li",
        null,
        link(`/console/conversations/${item.id}`, `Chat #${item.id}`),
        ` · ${STATUS_WORDS[item.status] || item.status}`,
        item.rating ? ` · rated ${item.rating}/5` : ""
      )
    );
    const tickets = (profile.tickets || []).map((t) =>
      h(
        "li",
        null,
        t.visible ? link(`/console/tickets/${t.number}`, `#${t.number}`) : `#${t.number}`,
        ` ${t.subject} · ${t.status}`
      )
    );
    ui.customerInfo.replaceChildren(
      facts,
      h("h3", { class: "customer-heading" }, `Other chats (${chats.length})`),
      chats.length ? h("ul", { class: "customer-list", id: "customer-chats" }, ...chats) : h("p", { class: "muted small" }, "None"),
      h("h3", { class: "customer-heading" }, `Tickets (${tickets.length})`),
      tickets.length ? h("ul", { class: "customer-list", id: "customer-tickets" }, ...tickets) : h("p", { class: "muted small" }, "None")
    );
  }

  /** The "Open a ticket" form posts to the selected chat; a new chat starts it closed and empty. */
  function prepareTicketForm(chat) {
    const form = ui.openTicketForm;
    if (!form) return;
    const action = form.dataset.action.replace("{id}", encodeURIComponent(String(chat.id)));
    if (form.getAttribute("action") === action) return;
    form.setAttribute("action", action);
    form.reset();
    form.dataset.loadedFor = "";
    ui.openTicket.open = false;
    ui.openTicketRecent.hidden = true;
    ui.openTicketError.hidden = true;
    ui.chatDone.hidden = true;
  }

  /**
   * Fills the form when it is opened, from the server's reading of the chat: the customer's need as the
   * subject, their own lines as the description, a predicted category, and any ticket opened moments ago.
   */
  function loadTicketDraft() {
    const chat = state.chats.get(state.selectedId);
    const form = ui.openTicketForm;
    if (!chat || !ui.openTicket.open || form.dataset.loadedFor === String(chat.id)) return;
    form.dataset.loadedFor = String(chat.id);
    fetch(`/console/conversations/${encodeURIComponent(String(chat.id))}/ticket-draft`, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then((response) => response.json().then((body) => ({ ok: response.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) throw new Error(body.message || "The chat could not be read.");
        if (state.selectedId !== chat.id) return;
        if (!ui.openTicketSubject.value) ui.openTicketSubject.value = body.subject || "";
        if (!ui.openTicketDescription.value) {
          ui.openTicketDescription.value = String(body.description || "").slice(0, MAX_TICKET_DESCRIPTION);
        }
        if (body.category && !ui.openTicketCategory.value) ui.openTicketCategory.value = body.category;
        const recent = body.recent || [];
        ui.openTicketRecent.hidden = recent.length === 0;
        if (recent.length) {
          const t = recent[0];
          const who = t.source === "agent" ? "An agent" : "The assistant";
          ui.openTicketRecentText.textContent = `${who} opened ticket #${t.number} (“${t.subject}”) for this chat ${waitingText(
            t.created_at
          )} ago. Check it before opening another.`.replace("just now ago", "just now");
        }
      })
      .catch((err) => {
        form.dataset.loadedFor = "";
        ui.openTicketError.textContent = err.message;
        ui.openTicketError.hidden = false;
      });
  }

  /** Opens the ticket in the background, so the console (and the agent's live chats) stay as they are. */
  function submitTicket(event) {
    event.preventDefault();
    const form = ui.openTicketForm;
    if (!form.reportValidity()) return;
    const chatId = state.selectedId;
    const submit = $("open-ticket-submit");
    submit.disabled = true;
    ui.openTicketError.hidden = true;
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
      credentials: "same-origin",
    })
      .then((response) => response.json().then((body) => ({ ok: response.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) {
          if (body.code === 409) ui.openTicketRecent.hidden = false;
          throw new Error(body.message || "The ticket could not be opened.");
        }
        const chat = state.chats.get(chatId);
        if (chat) chat.ticket_number = body.ticket.number;
        if (ui.customerInfo) ui.customerInfo.dataset.chat = ""; // the new ticket shows in the sidebar
        if (chat) loadCustomer(chat);
        form.reset();
        form.dataset.loadedFor = "";
        ui.openTicket.open = false;
        ui.openTicketRecent.hidden = true;
        ui.chatDone.replaceChildren(
          `${body.message} `,
          h("a", { href: body.url, id: "chat-done-link" }, `Open ticket #${body.ticket.number}`)
        );
        ui.chatDone.hidden = false;
      })
      .catch((err) => {
        ui.openTicketError.textContent = err.message || NO_ANSWER;
        ui.openTicketError.hidden = false;
      })
      .finally(() => {
        submit.disabled = false;
      });
  }

  /** Composer, actions and the note, which depend on whether the chat is still this agent's. */
  function renderChatState() {
    const chat = state.chats.get(state.selectedId);
    if (!chat) return;
    const closed = Boolean(chat.closedNote);
    const offline = !socket.connected;
    ui.chatNote.hidden = !closed;
    ui.chatNote.textContent = chat.closedNote || "";
    ui.composer.disabled = closed;
    ui.send.disabled = closed || offline;
    ui.attach.disabled = closed || offline;
    ui.resolve.disabled = closed || offline;
    ui.handback.disabled = closed || offline;
    ui.typing.textContent = `${customerLabel(chat.customer)} is typing…`;
    ui.typing.hidden = closed || !chat.customerTyping;
    const left = !closed && Boolean(chat.customerLeftAt);
    ui.customerLeft.hidden = closed || !(left || chat.customerBack);
    ui.customerLeftText.textContent = left ? `The customer left at ${formatTime(chat.customerLeftAt)}.`
      : "The customer is back.";
    ui.customerLeftClose.hidden = !left;
    ui.customerLeftClose.disabled = offline;
  }

  function select(id) {
    if (state.selectedId !== id) typing.stop();
    // Chats that have left this agent disappear once the agent moves on from them.
    for (const [chatId, chat] of state.chats) {
      if (chat.closedNote && chatId !== id) state.chats.delete(chatId);
    }
    state.selectedId = state.chats.has(id) ? id : null;
    if (state.selectedId !== null && state.previewId !== null) {
      state.previewId = null;
      ui.preview.hidden = true;
    }
    const chat = state.chats.get(state.selectedId);
    if (chat) chat.unread = 0;
    renderChatList();
    renderSelected();
  }

  // --- sending replies -----------------------------------------------------------------------

  // Replies shown before the server acknowledged them; those of every chat, not only the selected one.
  const outbox = common.createOutbox({
    socket: () => socket,
    event: "agent_message",
    payload: (entry) => ({ conversation_id: entry.conversationId, text: entry.text }),
    settle,
    pendingClass: "is-pending",
  });

  function sendReply() {
    const chat = state.chats.get(state.selectedId);
    if (!chat || chat.closedNote) return;
    const text = common.readMessage(ui.composer, showError);
    if (!text) return;
    clearError();
    typing.stop();
    ui.composer.value = "";
    const createdAt = new Date().toISOString();
    const entry = outbox.add({
      conversationId: chat.id,
      text,
      createdAt,
      element: messageElement({ sender: "agent", text, created_at: createdAt, mine: true }),
    });
    ui.transcript.append(entry.element);
    scrollToEnd();
    outbox.emit(entry);
  }

  function markStored(entry, message) {
    const chat = state.chats.get(entry.conversationId);
    if (chat && !addMessage(chat, message)) {
      outbox.delete(entry);
      entry.element.remove(); // already shown from the server's echo
      return;
    }
    outbox.markStored(entry, message.id);
    if (chat) renderChatList();
  }

  function settle(entry, ack) {
    if (ack && ack.ok) {
      markStored(entry, { id: ack.id, sender: "agent", text: entry.text, buttons: [], created_at: entry.createdAt,
                          agent: { name: me.name } });
      return;
    }
    outbox.delete(entry);
    entry.element.remove();
    showError((ack && ack.error) || "Your reply could not be sent. Please try again.");
    if (state.selectedId === entry.conversationId && !ui.composer.value) ui.composer.value = entry.text;
  }

  /** The server echoes the agent's own reply; it may arrive before the ack. */
  function adoptPending(message) {
    for (const entry of outbox.values()) {
      if (entry.conversationId === message.conversation_id && entry.text === message.text) {
        const chat = state.chats.get(entry.conversationId);
        outbox.delete(entry);
        if (chat) addMessage(chat, message);
        entry.element.replaceWith(messageElement(message));
        return true;
      }
    }
    return false;
  }

  // --- typing --------------------------------------------------------------------------------

  // Keyed by conversation: moving to another chat says "stopped" in the previous one.
  const typing = common.createTypingNotifier({
    socket: () => socket,
    payload: (conversationId, on) => ({ conversation_id: conversationId, typing: on }),
  });
  const remoteTypingTimers = new Map();

  function onComposerInput() {
    const chat = state.chats.get(state.selectedId);
    if (!chat || chat.closedNote || !socket.connected) return;
    typing.typed(chat.id, Boolean(ui.composer.value.trim()));
  }

  function setCustomerTyping(chat, isTyping) {
    clearTimeout(remoteTypingTimers.get(chat.id));
    chat.customerTyping = isTyping;
    if (isTyping) {
      remoteTypingTimers.set(
        chat.id,
        setTimeout(() => setCustomerTyping(chat, false), REMOTE_TYPING_TTL_MS)
      );
    }
    if (chat.id === state.selectedId) {
      const follow = isNearBottom();
      renderChatState();
      if (follow) scrollToEnd();
    }
    renderChatList();
  }

  // --- actions -------------------------------------------------------------------------------

  function offerLeft(id) {
    return Math.max(0, Math.round((state.offers.get(id) - Date.now()) / 1000));
  }

  function accept(id) {
    clearError();
    state.accepting.add(id);
    renderQueue();
    request("accept", { conversation_id: id }, (ack) => {
      state.accepting.delete(id);
      state.offers.delete(id);
      if (ack.ok) {
        state.queue = state.queue.filter((summary) => summary.id !== id);
        if (ack.conversation) upsertConversation(ack.conversation);
        if (state.previewId !== null) {
          state.previewId = null;
          ui.preview.hidden = true;
        }
        select(id);
      } else {
        showError(ack.error || "This conversation could not be accepted.");
      }
      renderQueue();
    });
  }

  function preview(id) {
    clearError();
    request("open", { conversation_id: id }, (ack) => {
      if (!ack.ok) {
        showError(ack.error || "This conversation could not be opened.");
        return;
      }
      const conversation = ack.conversation;
      state.previewId = conversation.id;
      const chat = { id: conversation.id, customer: conversation.customer || {}, messages: conversation.messages || [] };
      ui.previewTitle.textContent = `Preview: ${customerLabel(chat.customer)}`;
      ui.previewMeta.textContent = [reasonText(conversation.handoff_reason), `Conversation #${chat.id}`].join(" · ");
      const previous = state.chats.get(chat.id);
      state.chats.set(chat.id, Object.assign({}, chat, { messageIds: new Set() })); // for button titles
      ui.previewTranscript.replaceChildren(...chat.messages.map(messageElement));
      if (previous) state.chats.set(chat.id, previous);
      else state.chats.delete(chat.id);
      ui.preview.hidden = false;
      ui.chat.hidden = true;
      ui.chatEmpty.hidden = true;
      ui.previewAccept.focus();
      ui.previewTranscript.scrollTop = ui.previewTranscript.scrollHeight;
    });
  }

  function closePreview() {
    state.previewId = null;
    ui.preview.hidden = true;
    renderSelected();
  }

  function finish(event, chatId, status) {
    clearError();
    typing.stop();
    ui.resolve.disabled = true;
    ui.handback.disabled = true;
    request(event, { conversation_id: chatId }, (ack) => {
      const chat = state.chats.get(chatId);
      if (ack.ok && chat) applyStatus(chat, status, null);
      else if (!ack.ok) showError(ack.error || "That did not work. Please try again.");
      renderChatList();
      renderChatState();
    });
  }

  // --- alerts: sound, desktop notification, the tab's badge (each agent can turn them off) ------

  const ALERTS_KEY = `ccr_alerts:${root.dataset.agentEmail || ""}`;
  const alertsToggle = $("alerts-toggle");
  let audio = null;

  function alertsOn() {
    try {
      return localStorage.getItem(ALERTS_KEY) !== "off";
    } catch (err) {
      return true;
    }
  }

  if (alertsToggle) {
    alertsToggle.checked = alertsOn();
    alertsToggle.addEventListener("change", () => {
      try {
        localStorage.setItem(ALERTS_KEY, alertsToggle.checked ? "on" : "off");
      } catch (err) {
        /* the choice holds for this page */
      }
    });
  }

  // Browsers only let a page play sound after the person interacted with it.
  document.addEventListener("pointerdown", () => {
    if (!audio && window.AudioContext) audio = new AudioContext();
  }, { once: true });

  function chime() {
    if (!audio || !alertsOn()) return;
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.25);
  }

  function desktopAlert(title, body, tag) {
    if (!alertsOn() || !document.hidden) return;
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    new Notification(title, { body, tag });
  }

  /** "(3) Agent console": customers waiting plus unread messages in this agent's chats. */
  function updateTabBadge() {
    let unread = 0;
    for (const chat of state.chats.values()) unread += chat.unread || 0;
    const count = state.queue.length + unread;
    document.title = count && alertsOn() ? `(${count}) ${baseTitle}` : baseTitle;
  }

  // --- notifications -------------------------------------------------------------------------

  function notifyNewInQueue(previousIds) {
    const fresh = state.queue.filter((summary) => !previousIds.has(summary.id));
    if (!fresh.length) return;
    chime();
    const first = fresh[0];
    desktopAlert("A customer is waiting", `${customerLabel(first.customer)}: ${first.need || reasonText(first.handoff_reason)}`,
      "ccr-queue");
  }

  function setUpNotificationButton() {
    if (!ui.notify) return;
    if (!("Notification" in window) || Notification.permission !== "default") return;
    ui.notify.hidden = false;
    ui.notify.addEventListener("click", () => {
      Notification.requestPermission().finally(() => {
        ui.notify.hidden = true;
      });
    });
  }

  // --- socket --------------------------------------------------------------------------------

  // WebSocket first, long-polling only where a WebSocket cannot be opened (as the widget does).
  const socket = window.io("/agent", { transports: ["websocket", "polling"], tryAllTransports: true });

  socket.on("connect", () => {
    setConnection("online", "Online: customers can be routed to you.");
    outbox.flush();
    renderQueue();
    renderChatState();
  });

  socket.on("disconnect", () => {
    typing.reset();
    setConnection(
      "offline",
      socket.active ? "Reconnecting…" : "Disconnected. Reload the page to go online again."
    );
    renderQueue();
    renderChatState();
  });

  socket.on("connect_error", (err) => {
    // Not retried when the server refused us (for example, logged out): its message is a sentence.
    setConnection("offline", socket.active ? "Reconnecting…" : (err && err.message) || "Could not connect.");
  });

  socket.on("queue", (data) => {
    const previousIds = new Set(state.queue.map((summary) => summary.id));
    state.queue = Array.isArray(data && data.conversations) ? data.conversations : [];
    // The service sends the head of a long queue and how many wait in all.
    state.queueTotal = Math.max(Number(data && data.total) || 0, state.queue.length);
    if (state.previewId !== null && !state.queue.some((item) => item.id === state.previewId)) {
      ui.previewMeta.textContent = "This customer is no longer waiting (another agent took the chat, or it ended).";
      ui.previewAccept.disabled = true;
    } else {
      ui.previewAccept.disabled = false;
    }
    renderQueue();
    notifyNewInQueue(previousIds);
  });

  socket.on("chat_assigned", (data) => {
    const conversation = data && data.conversation;
    if (!conversation) return;
    state.offers.set(conversation.id, Date.now() + 1000 * (Number(data.accept_within_s) || 30));
    chime();
    desktopAlert("A chat is assigned to you", `${customerLabel(conversation.customer)}: ${conversation.last_message || ""}`,
      "ccr-assigned");
    renderQueue();
  });

  socket.on("offer_withdrawn", (data) => {
    if (!data || !state.offers.delete(data.conversation_id)) return;
    ui.presenceNotice.textContent = data.reason === "timeout"
      ? "A chat assigned to you was not accepted in time, so it went to a colleague." : "";
    renderQueue();
  });

  // A timer of one of my tickets or chats nears or passed its due time (told once per level).
  socket.on("sla_alert", (data) => {
    if (!data || !ui.presenceNotice) return;
    const what = data.ticket ? `Ticket #${data.ticket}` : `The chat ${data.conversation}`;
    ui.presenceNotice.textContent = data.level === "breached"
      ? `${what} missed its ${data.label} target.` : `${what} is near its ${data.label} target.`;
  });

  socket.on("presence", (data) => {
    if (!data || !ui.presence) return;
    ui.presence.value = data.status;
    if (data.notice) ui.presenceNotice.textContent = data.notice;
    else if (data.status === "online") ui.presenceNotice.textContent = "";
  });

  if (ui.presence) {
    ui.presence.addEventListener("change", () => {
      request("set_presence", { status: ui.presence.value }, (ack) => {
        if (!ack.ok) showError(ack.error || "Your status could not be changed.");
        else ui.presenceNotice.textContent = "";
      });
    });
  }

  // The server counts an agent offline after a minute without this (a closed laptop, a lost network).
  setInterval(() => {
    if (socket.connected) socket.emit("heartbeat", {});
    if (state.offers.size) renderQueue(); // the countdown
  }, HEARTBEAT_MS / 4);

  if (ui.transferForm) {
    ui.transferForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const chat = state.chats.get(state.selectedId);
      const [kind, id] = (ui.transferTo.value || "").split(":");
      if (!chat || !id) {
        ui.transferStatus.textContent = "Choose an agent or a team.";
        return;
      }
      const payload = { conversation_id: chat.id, note: ui.transferNote.value };
      payload[kind === "team" ? "team_id" : "agent_id"] = Number(id);
      request("transfer", payload, (ack) => {
        if (!ack.ok) {
          ui.transferStatus.textContent = ack.error || "The chat could not be transferred.";
          return;
        }
        ui.transferStatus.textContent = `Transferred to ${ack.to}.`;
        ui.transferNote.value = "";
        ui.transfer.open = false;
        state.chats.delete(chat.id);
        state.selectedId = null;
        renderChatList();
        renderSelected();
      });
    });
  }

  socket.on("conversation", (conversation) => {
    if (!state.chats.has(conversation.id)) socket.emit("follow", { conversation_id: conversation.id });
    upsertConversation(conversation);
    if (state.selectedId === null || state.selectedId === conversation.id) select(conversation.id);
    else renderChatList();
  });

  socket.on("message", (message) => {
    const chat = state.chats.get(message.conversation_id);
    if (!chat) {
      const summary = state.queue.find((item) => item.id === message.conversation_id);
      if (summary) {
        summary.last_message = message.text;
        renderQueue();
      }
      return;
    }
    if (chat.messageIds.has(message.id)) return;
    const isSelected = chat.id === state.selectedId;
    const follow = isSelected && isNearBottom();
    if (message.sender === "agent" && adoptPending(message)) {
      renderChatList();
      return;
    }
    addMessage(chat, message);
    if (message.sender === "customer") {
      setCustomerTyping(chat, false);
      if (!isSelected || document.hidden) {
        chat.unread += 1;
        chime();
        desktopAlert(`New message from ${customerLabel(chat.customer)}`, String(message.text ?? ""), `ccr-chat-${chat.id}`);
      }
    }
    if (isSelected) {
      outbox.insert(ui.transcript, messageElement(message));
      if (follow) scrollToEnd();
    }
    renderChatList();
  });

  socket.on("typing", (data) => {
    const chat = state.chats.get(data.conversation_id);
    if (chat && (!data.sender || data.sender === "customer")) setCustomerTyping(chat, Boolean(data.typing));
  });

  socket.on("rating", (data) => {
    const chat = state.chats.get(data.conversation_id);
    if (!chat) return;
    chat.rating = data.rating;
    if (chat.id === state.selectedId) renderSelected();
  });

  socket.on("customer_presence", (data) => {
    const chat = state.chats.get(data.conversation_id);
    if (!chat) return;
    chat.customerBack = Boolean(chat.customerLeftAt) && !data.left_at;
    chat.customerLeftAt = data.left_at || null;
    if (chat.id === state.selectedId) renderChatState();
  });

  socket.on("conversation_status", (data) => {
    const chat = state.chats.get(data.conversation_id);
    if (!chat) return;
    applyStatus(chat, data.status, data.agent);
    renderChatList();
    if (chat.id === state.selectedId) renderChatState();
  });

  // --- wiring --------------------------------------------------------------------------------

  ui.queue.addEventListener("click", (event) => {
    const button = event.target.closest(".accept-btn, .preview-btn");
    if (!button || button.disabled) return;
    const wanted = button.closest(".queue-item").dataset.conversationId;
    const summary = state.queue.find((item) => String(item.id) === wanted);
    if (!summary) return;
    if (button.classList.contains("preview-btn")) preview(summary.id);
    else accept(summary.id);
  });
  ui.previewAccept.addEventListener("click", () => {
    if (state.previewId !== null) accept(state.previewId);
  });
  ui.previewClose.addEventListener("click", closePreview);
  if (ui.tagsForm) {
    ui.tagsForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const chat = state.chats.get(state.selectedId);
      if (!chat) return;
      const body = new FormData();
      body.append("tags", ui.tagsInput.value);
      fetch(ui.tagsForm.dataset.action.replace("{id}", encodeURIComponent(String(chat.id))), {
        method: "POST",
        body,
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
        credentials: "same-origin",
      })
        .then((response) => response.json().then((data) => ({ ok: response.ok, data })))
        .then(({ ok, data }) => {
          if (!ok) throw new Error(data.message || "The tags could not be saved.");
          chat.tags = data.tags;
          ui.tagsInput.value = data.tags.join(", ");
          ui.tagsStatus.textContent = "Saved.";
        })
        .catch((err) => {
          ui.tagsStatus.textContent = err.message;
        });
    });
  }
  if (ui.triage) {
    ui.triagePriority.addEventListener("change", () => correctTriage({ priority: ui.triagePriority.value }));
    ui.triageCategory.addEventListener("change", () => {
      if (ui.triageCategory.value) correctTriage({ category: ui.triageCategory.value });
    });
    ui.triageConfirm.addEventListener("click", () => correctTriage({ confirm: "1" }));
  }
  if (ui.openTicket) {
    ui.openTicket.addEventListener("toggle", loadTicketDraft);
    ui.openTicketForm.addEventListener("submit", submitTicket);
  }

  ui.myChats.addEventListener("click", (event) => {
    const item = event.target.closest(".chat-item");
    if (!item) return;
    // Data attributes are strings; keep the id exactly as the server sent it.
    const id = [...state.chats.keys()].find((key) => String(key) === item.dataset.conversationId);
    if (id !== undefined) select(id);
  });

  // --- canned replies: "/shortcut" in the composer, or the picker -----------------------------

  let cannedMatches = [];
  let cannedActive = 0;

  function loadCanned() {
    fetch("/console/canned", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : { replies: [] }))
      .then((body) => {
        state.canned = Array.isArray(body.replies) ? body.replies : [];
      })
      .catch(() => {
        state.canned = [];
      });
  }

  /** {customer_name}, {ticket_number} and {agent_name}, filled for the selected chat. */
  function fillVariables(text) {
    const chat = state.chats.get(state.selectedId);
    const values = {
      customer_name: chat ? (chat.customer && chat.customer.name) || customerLabel(chat.customer) : "",
      ticket_number: chat && chat.ticket_number ? `#${chat.ticket_number}` : "(no ticket yet)",
      agent_name: me.name,
    };
    return String(text).replace(/\{(customer_name|ticket_number|agent_name)\}/g, (_, name) => values[name]);
  }

  function showCanned(query) {
    const wanted = query.toLowerCase();
    cannedMatches = state.canned.filter(
      (reply) => reply.shortcut.toLowerCase().startsWith(wanted) || (wanted && reply.text.toLowerCase().includes(wanted))
    );
    cannedActive = 0;
    renderCanned();
  }

  function renderCanned() {
    const open = cannedMatches.length > 0;
    ui.cannedList.hidden = !open;
    ui.composer.setAttribute("aria-expanded", String(open));
    ui.cannedList.replaceChildren(
      ...cannedMatches.map((reply, index) =>
        h(
          "li",
          {
            id: `canned-${index}`,
            class: "canned-item",
            role: "option",
            "aria-selected": String(index === cannedActive),
            "data-index": index,
          },
          h("strong", null, `/${reply.shortcut}`),
          reply.shared ? null : h("span", { class: "tag" }, "Mine"),
          h("span", { class: "canned-text" }, fillVariables(reply.text))
        )
      )
    );
    if (open) ui.composer.setAttribute("aria-activedescendant", `canned-${cannedActive}`);
    else ui.composer.removeAttribute("aria-activedescendant");
  }

  function hideCanned() {
    cannedMatches = [];
    renderCanned();
  }

  function insertCanned(reply) {
    const value = ui.composer.value;
    const slash = value.match(/(^|\s)\/[^\s]*$/);
    const before = slash ? value.slice(0, value.length - slash[0].length + slash[1].length) : value;
    ui.composer.value = before + fillVariables(reply.text);
    hideCanned();
    ui.composer.focus();
    onComposerInput();
  }

  ui.composer.addEventListener("input", () => {
    const slash = ui.composer.value.match(/(^|\s)\/([^\s]*)$/);
    if (slash && state.canned.length) showCanned(slash[2]);
    else if (cannedMatches.length) hideCanned();
  });

  // Registered before bindComposer's, so Enter picks a canned reply instead of sending while the list is open.
  ui.composer.addEventListener("keydown", (event) => {
    if (!cannedMatches.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      cannedActive = (cannedActive + step + cannedMatches.length) % cannedMatches.length;
      renderCanned();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      event.stopImmediatePropagation();
      insertCanned(cannedMatches[cannedActive]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      hideCanned();
    }
  });

  ui.cannedList.addEventListener("mousedown", (event) => {
    const item = event.target.closest(".canned-item");
    if (!item) return;
    event.preventDefault(); // keep the focus in the composer
    insertCanned(cannedMatches[Number(item.dataset.index)]);
  });

  ui.cannedButton.addEventListener("click", () => {
    if (cannedMatches.length) {
      hideCanned();
      return;
    }
    if (!state.canned.length) {
      showError("No canned replies yet: an admin adds shared ones in Admin › Canned replies.");
      return;
    }
    cannedMatches = state.canned.slice();
    cannedActive = 0;
    renderCanned();
    ui.composer.focus();
  });

  common.bindComposer(ui.form, ui.composer, sendReply);
  ui.attach.addEventListener("click", () => ui.attachInput.click());
  ui.attachInput.addEventListener("change", () => {
    const files = Array.from(ui.attachInput.files || []);
    ui.attachInput.value = "";
    uploadFiles(files);
  });

  ui.composer.addEventListener("input", onComposerInput);
  ui.resolve.addEventListener("click", () => finish("resolve", state.selectedId, "resolved"));
  ui.customerLeftClose.addEventListener("click", () => finish("resolve", state.selectedId, "resolved"));
  ui.handback.addEventListener("click", () => finish("hand_back", state.selectedId, "bot"));

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    const chat = state.chats.get(state.selectedId);
    if (chat && chat.unread) {
      chat.unread = 0;
      renderChatList();
    }
  });

  // --- keyboard shortcuts (listed on "?") ----------------------------------------------------

  const shortcuts = $("shortcuts");
  $("shortcuts-btn").addEventListener("click", () => shortcuts.showModal());

  function typingInField(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  function moveSelection(step) {
    const ids = [...state.chats.keys()];
    if (!ids.length) return;
    const at = ids.indexOf(state.selectedId);
    select(ids[(at + step + ids.length) % ids.length]);
    const current = ui.myChats.querySelector('[aria-current="true"]');
    if (current) current.focus();
  }

  document.addEventListener("keydown", (event) => {
    if (event.altKey && event.key === "Enter") {
      if (!ui.resolve.disabled && !ui.chat.hidden) {
        event.preventDefault();
        ui.resolve.click();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || shortcuts.open || typingInField(event.target)) return;
    const chatOpen = !ui.chat.hidden && state.selectedId !== null;
    const actions = {
      "?": () => shortcuts.showModal(),
      j: () => moveSelection(1),
      k: () => moveSelection(-1),
      a: () => state.queue.length && accept(state.queue[0].id),
      r: () => chatOpen && ui.composer.focus(),
      "/": () => {
        if (!chatOpen) return;
        ui.composer.focus();
        ui.cannedButton.click();
      },
      t: () => {
        if (!chatOpen || !ui.openTicket) return;
        ui.openTicket.open = true;
        ui.openTicketSubject.focus();
      },
    };
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });

  setInterval(tickClocks, CLOCK_TICK_MS);
  loadCanned();
  setUpNotificationButton();
  renderQueue();
  renderChatList();
  renderSelected();
})();
