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
    transcript: $("transcript"),
    typing: $("customer-typing"),
    form: $("composer-form"),
    composer: $("composer"),
    send: $("send-btn"),
    resolve: $("resolve-btn"),
    handback: $("handback-btn"),
    notify: $("notify-btn"),
    openTicket: $("open-ticket"),
    openTicketForm: $("open-ticket-form"),
    openTicketSubject: $("open-ticket-subject"),
    openTicketDescription: $("open-ticket-description"),
  };
  const baseTitle = document.title;

  const state = {
    queue: [], // conversation summaries, as last sent by the server
    chats: new Map(), // id -> chat (conversation plus local fields), in the order they arrived
    selectedId: null,
    accepting: new Set(), // conversation ids with an accept in flight
  };

  // --- helpers -------------------------------------------------------------------------------

  function customerLabel(customer) {
    return (customer && (customer.name || customer.email || customer.label)) || "Visitor";
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
      messages: [],
      messageIds: new Set(),
      unread: previous ? previous.unread : 0,
      customerTyping: false,
      closedNote: null,
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
        summary.suggested_agent && summary.suggested_agent.name === me.name
          ? h("p", { class: "suggested" }, "Suggested for you")
          : null,
        summary.last_message ? h("p", { class: "last" }, String(summary.last_message)) : null,
        h(
          "button",
          {
            class: "btn accept-btn",
            type: "button",
            "aria-label": `Accept conversation with ${label}`,
            disabled: accepting || !socket.connected,
          },
          accepting ? "Accepting…" : "Accept"
        )
      );
    });
    ui.queue.replaceChildren(...items);
    ui.queueEmpty.hidden = items.length > 0;
    ui.queueCount.textContent = String(items.length);
    document.title = items.length ? `(${items.length}) ${baseTitle}` : baseTitle;
  }

  function tickClocks() {
    for (const time of ui.queue.querySelectorAll("time[data-since]")) {
      time.textContent = waitingText(time.dataset.since);
    }
  }

  // --- rendering: my chats -------------------------------------------------------------------

  function renderChatList() {
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
    const who =
      sender === "customer" && chat ? customerLabel(chat.customer) : sender === "agent" ? "Agent" : SENDER_LABEL[sender];
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
        : null
    );
    if (message.id !== undefined && message.id !== null) item.dataset.id = String(message.id);
    return item;
  }

  function renderSelected() {
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
    prepareTicketForm(chat);

    ui.transcript.replaceChildren(...chat.messages.map(messageElement));
    for (const entry of outbox.values()) {
      if (entry.conversationId === chat.id) ui.transcript.append(entry.element);
    }
    scrollToEnd();
    renderChatState();
  }

  /** The "Open a ticket" form posts to the selected chat; a new chat starts it closed and empty. */
  function prepareTicketForm(chat) {
    const form = ui.openTicketForm;
    if (!form) return;
    const action = form.dataset.action.replace("{id}", encodeURIComponent(String(chat.id)));
    if (form.getAttribute("action") === action) return;
    form.setAttribute("action", action);
    form.reset();
    ui.openTicket.open = false;
    // Button clicks arrive as "/payload" commands; only the customer's own words describe the problem.
    const said = chat.messages
      .filter((message) => message.sender === "customer" && !String(message.text).startsWith("/"))
      .map((message) => String(message.text));
    ui.openTicketSubject.value = said.length ? said[0].slice(0, 80) : "";
    ui.openTicketDescription.value = said.join("\n").slice(0, MAX_TICKET_DESCRIPTION);
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
    ui.resolve.disabled = closed || offline;
    ui.handback.disabled = closed || offline;
    ui.typing.textContent = `${customerLabel(chat.customer)} is typing…`;
    ui.typing.hidden = closed || !chat.customerTyping;
  }

  function select(id) {
    if (state.selectedId !== id) typing.stop();
    // Chats that have left this agent disappear once the agent moves on from them.
    for (const [chatId, chat] of state.chats) {
      if (chat.closedNote && chatId !== id) state.chats.delete(chatId);
    }
    state.selectedId = state.chats.has(id) ? id : null;
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
      element: messageElement({ sender: "agent", text, created_at: createdAt }),
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
      markStored(entry, { id: ack.id, sender: "agent", text: entry.text, buttons: [], created_at: entry.createdAt });
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

  function accept(id) {
    clearError();
    state.accepting.add(id);
    renderQueue();
    request("accept", { conversation_id: id }, (ack) => {
      state.accepting.delete(id);
      if (ack.ok) {
        state.queue = state.queue.filter((summary) => summary.id !== id);
        if (ack.conversation) upsertConversation(ack.conversation);
        select(id);
      } else {
        showError(ack.error || "This conversation could not be accepted.");
      }
      renderQueue();
    });
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

  // --- notifications -------------------------------------------------------------------------

  function notifyNewInQueue(previousIds) {
    const fresh = state.queue.filter((summary) => !previousIds.has(summary.id));
    if (!fresh.length || !document.hidden) return;
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const first = fresh[0];
    new Notification("A customer is waiting", {
      body: `${customerLabel(first.customer)}: ${reasonText(first.handoff_reason)}`,
      tag: "ccr-queue",
    });
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

  const socket = window.io("/agent");

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
    renderQueue();
    notifyNewInQueue(previousIds);
  });

  socket.on("conversation", (conversation) => {
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
      if (!isSelected || document.hidden) chat.unread += 1;
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

  socket.on("conversation_status", (data) => {
    const chat = state.chats.get(data.conversation_id);
    if (!chat) return;
    applyStatus(chat, data.status, data.agent);
    renderChatList();
    if (chat.id === state.selectedId) renderChatState();
  });

  // --- wiring --------------------------------------------------------------------------------

  ui.queue.addEventListener("click", (event) => {
    const button = event.target.closest(".accept-btn");
    if (!button || button.disabled) return;
    const wanted = button.closest(".queue-item").dataset.conversationId;
    const summary = state.queue.find((item) => String(item.id) === wanted);
    if (summary) accept(summary.id);
  });

  ui.myChats.addEventListener("click", (event) => {
    const item = event.target.closest(".chat-item");
    if (!item) return;
    // Data attributes are strings; keep the id exactly as the server sent it.
    const id = [...state.chats.keys()].find((key) => String(key) === item.dataset.conversationId);
    if (id !== undefined) select(id);
  });

  common.bindComposer(ui.form, ui.composer, sendReply);

  ui.composer.addEventListener("input", onComposerInput);
  ui.resolve.addEventListener("click", () => finish("resolve", state.selectedId, "resolved"));
  ui.handback.addEventListener("click", () => finish("hand_back", state.selectedId, "bot"));

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    const chat = state.chats.get(state.selectedId);
    if (chat && chat.unread) {
      chat.unread = 0;
      renderChatList();
    }
  });

  setInterval(tickClocks, CLOCK_TICK_MS);
  setUpNotificationButton();
  renderQueue();
  renderChatList();
  renderSelected();
})();
