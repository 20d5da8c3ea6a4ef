// The staff console: a live queue of customers waiting for a person and the open conversation.
// Everything runs over the /console Socket.IO namespace with acknowledgements; the server renders
// (and escapes) all HTML, anything this file builds from text uses textContent.
(function () {
  "use strict";
  var root = document.querySelector("[data-console]");
  if (!root || !window.io) { return; }
  var ACK_TIMEOUT_MS = 15000;
  var queueBox = root.querySelector(".console-queue");
  var pane = root.querySelector(".console-conversation");
  var errorBox = root.querySelector(".console-error");
  var statusBox = root.querySelector(".console-status");
  var heartbeatMs = Number(root.dataset.heartbeatMs) || 30000;
  var socket = window.io("/console", { transports: ["websocket", "polling"] });

  function openId() {
    var thread = pane.querySelector(".console-thread");
    return thread ? thread.dataset.conversation : null;
  }

  function showError(error) {
    errorBox.hidden = !error;
    errorBox.textContent = error ? error.message : "";
  }

  function call(event, data) {
    return new Promise(function (resolve) {
      socket.timeout(ACK_TIMEOUT_MS).emit(event, data, function (err, ack) {
        resolve(err ? { ok: false, error: { message: root.dataset.offline } } : ack);
      });
    });
  }

  function markCurrent() {
    var current = openId();
    queueBox.querySelectorAll("[data-conversation]").forEach(function (item) {
      item.classList.toggle("current", item.dataset.conversation === current);
    });
  }

  function refreshQueue() {
    return call("queue", {}).then(function (ack) {
      if (!ack.ok) { showError(ack.error); return; }
      queueBox.innerHTML = ack.html;
      markCurrent();
    });
  }

  function showConversation(ack) {
    if (!ack.ok) { showError(ack.error); return false; }
    showError(null);
    var draft = pane.querySelector(".console-reply textarea");
    var unsent = draft ? draft.value : "";
    pane.innerHTML = ack.html;
    var transcript = pane.querySelector(".console-transcript");
    if (transcript) { transcript.scrollTop = transcript.scrollHeight; }
    var reply = pane.querySelector(".console-reply textarea");
    if (reply && unsent) { reply.value = unsent; }  // a live update must not eat a reply being typed
    markCurrent();
    return true;
  }

  function open(conversationId) {
    return call("open", { conversation_id: conversationId }).then(function (ack) {
      if (showConversation(ack)) {
        history.replaceState(null, "", "?c=" + encodeURIComponent(conversationId));
      }
    });
  }

  socket.on("connect", function () {
    statusBox.textContent = "";
    refreshQueue();
    if (openId()) { open(openId()); }
  });
  socket.on("disconnect", function () { statusBox.textContent = root.dataset.offline; });
  socket.on("changed", function (data) {
    refreshQueue();
    if (data && data.conversation_id === openId()) { open(data.conversation_id); }
  });
  // Keeps this console counted as online, and the wait times fresh.
  setInterval(function () {
    if (!socket.connected) { return; }
    call("heartbeat", {});
    refreshQueue();
  }, heartbeatMs);

  queueBox.addEventListener("click", function (event) {
    var item = event.target.closest("[data-conversation]");
    if (!item) { return; }
    event.preventDefault();
    open(item.dataset.conversation);
  });

  pane.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) { return; }
    var action = button.dataset.action;
    button.disabled = true;
    if (action === "save_draft") {
      call("save_draft", { message_id: Number(button.dataset.messageId) }).then(function (ack) {
        button.disabled = false;
        if (!ack.ok) { showError(ack.error); return; }
        window.location.assign(ack.url);
      });
      return;
    }
    call(action, { conversation_id: openId() }).then(function (ack) {
      button.disabled = false;
      showConversation(ack);
      refreshQueue();
      var reply = pane.querySelector(".console-reply textarea");
      if (action === "join" && reply) { reply.focus(); }
    });
  });

  pane.addEventListener("submit", function (event) {
    var form = event.target.closest(".console-reply");
    if (!form) { return; }
    event.preventDefault();
    var textarea = form.querySelector("textarea");
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    call("reply", { conversation_id: openId(), text: textarea.value }).then(function (ack) {
      button.disabled = false;
      if (!ack.ok) { showError(ack.error); return; }
      textarea.value = "";
      showConversation(ack);
      var next = pane.querySelector(".console-reply textarea");
      if (next) { next.focus(); }
    });
  });

  pane.addEventListener("keydown", function (event) {
    if (event.target.matches(".console-reply textarea") && event.key === "Enter" && !event.shiftKey &&
        !event.isComposing) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });
})();
