// Support chat: the chat page and the launcher on every page.
// Progressive: without this file the page's forms post and the launcher is a link to the chat page.
// Messages arrive as HTML rendered (and escaped) by the server's one message template; anything
// this file builds from text uses textContent.
(function () {
  "use strict";
  var API = "/api/v1/chat";
  var ACK_TIMEOUT_MS = 15000;
  var SUGGEST_DELAY_MS = 300;
  var boxes = [];
  var socket = null;

  function text(el, value) { el.textContent = value; return el; }

  var debounce = window.CoKnow.debounce;

  function newClientId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // The same events over HTTP, for browsers whose socket cannot connect (the replies are identical).
  function overHttp(event, data) {
    var routes = {
      message: ["POST", "/messages"], choose: ["POST", "/choices"], feedback: ["POST", "/feedback"],
      handoff: ["POST", "/handoff"], history: ["GET", "/messages"],
      idea_vote: ["POST", "/ideas/vote"], idea_follow: ["POST", "/ideas/follow"],
      suggest: ["GET", "/suggestions?q=" + encodeURIComponent((data && data.text) || "")]
    };
    var route = routes[event];
    var options = { method: route[0], credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (route[0] === "POST") {
      options.headers["Content-Type"] = "application/json";
      // The API refuses writes without the page's token: another page cannot read it.
      options.headers["X-CSRFToken"] = window.CoKnow && window.CoKnow.csrfToken ? window.CoKnow.csrfToken() : "";
      options.body = JSON.stringify(data || {});
    }
    return fetch(API + route[1], options).then(function (response) {
      return response.json().then(function (json) {
        if (!response.ok) { return { ok: false, error: json.error }; }
        if (event === "feedback") { return { ok: true, feedback: json }; }
        json.ok = true;
        return json;
      });
    }).catch(function () {
      var box = document.querySelector("[data-chat]");
      return { ok: false, error: { message: box ? box.dataset.offline : "Offline" } };
    });
  }

  // Settles once the visitor's chat key is in the session cookie. The chat page stored it when it
  // rendered; the launcher stores it with its first HTTP request. Nothing goes over the socket before
  // that: a socket opened earlier would carry a session without the key and talk in a conversation
  // this browser can never find again.
  var sessionReady = Promise.resolve();

  function call(event, data) {
    return sessionReady.then(function () {
      var s = connect();
      if (!s) { return overHttp(event, data); }
      return new Promise(function (resolve) {
        // Buffered while the socket (re)connects; a timeout falls back to HTTP, and the client_id
        // makes a message that did arrive come back as the stored reply instead of a second one.
        s.timeout(ACK_TIMEOUT_MS).emit(event, data, function (err, ack) {
          resolve(err ? overHttp(event, data) : ack);
        });
      });
    });
  }

  function connect() {
    if (!socket && window.io) {
      socket = window.io("/chat", { transports: ["websocket", "polling"] });
      socket.on("typing", function (data) {
        boxes.forEach(function (box) { box.typing.hidden = !data.typing; });
      });
      socket.on("messages", function (data) {
        boxes.forEach(function (box) { box.add(data.customer); box.add(data.reply); });
      });
      // Also after a reconnect: show anything said while this window was away.
      socket.on("connect", function () { boxes.forEach(function (box) { box.reload(); }); });
    }
    return socket;
  }

  function ChatBox(root) {
    var self = this;
    this.root = root;
    this.log = root.querySelector(".chat-log");
    this.empty = root.querySelector(".chat-empty");
    this.typing = root.querySelector(".chat-typing");
    this.error = root.querySelector(".chat-error");
    this.form = root.querySelector(".chat-form");
    this.input = this.form.querySelector("textarea");
    this.sendButton = this.form.querySelector("button[type=submit]");
    this.suggestions = root.querySelector(".chat-suggestions");
    this.suggestionList = root.querySelector(".chat-suggestion-list");

    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.send();
    });
    this.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        self.send();
      }
    });
    var suggest = debounce(function () { self.suggest(); }, SUGGEST_DELAY_MS);
    this.input.addEventListener("input", suggest);
    this.log.addEventListener("click", function (event) { self.clicked(event); });
    // The abstain reply's "Contact support" and the box's "Talk to a person" ask for a person alike.
    root.addEventListener("submit", function (event) {
      if (event.target.classList.contains("chat-handoff")) {
        event.preventDefault();
        self.handoff(event.target);
      }
    });
  }

  ChatBox.prototype.showError = function (error) {
    this.error.hidden = !error;
    text(this.error, error ? error.message : "");
  };

  ChatBox.prototype.scroll = function () {
    this.log.scrollTop = this.log.scrollHeight;
    var last = this.log.lastElementChild;
    if (last && this.root.closest(".chat-page")) { last.scrollIntoView({ block: "nearest" }); }
  };

  // Insert (or refresh) one server-rendered message, in id order, once.
  ChatBox.prototype.add = function (message) {
    if (!message) { return; }
    var template = document.createElement("template");
    template.innerHTML = message.html.trim();
    var node = template.content.firstElementChild;
    var existing = this.log.querySelector('[data-id="' + String(Number(message.id)) + '"]');
    if (existing) {
      existing.replaceWith(node);
    } else {
      var after = null;
      Array.prototype.forEach.call(this.log.children, function (child) {
        if (!after && child.dataset.id && Number(child.dataset.id) > message.id) { after = child; }
      });
      this.log.insertBefore(node, after);
    }
    this.empty.hidden = true;
    this.scroll();
  };

  // On (re)connect, catch up with the history: new messages are added, messages already shown stay as they
  // are (the visitor may be choosing a thumbs-down reason in one). refresh = true re-renders them all.
  ChatBox.prototype.reload = function (refresh) {
    var self = this;
    call("history", {}).then(function (ack) {
      if (!ack.ok) { return; }
      var ids = {};
      ack.messages.forEach(function (m) { ids[String(m.id)] = true; });
      self.log.querySelectorAll("[data-id]").forEach(function (li) {
        if (refresh || !ids[li.dataset.id]) { li.remove(); }
      });
      ack.messages.forEach(function (m) {
        if (refresh || !self.log.querySelector('[data-id="' + m.id + '"]')) { self.add(m); }
      });
    });
  };

  ChatBox.prototype.exchange = function (ack) {
    if (!ack.ok) { this.showError(ack.error); return false; }
    this.showError(null);
    this.add(ack.customer);
    this.add(ack.reply);
    return true;
  };

  ChatBox.prototype.send = function () {
    var self = this;
    var value = this.input.value;
    if (this.sendButton.disabled) { return; }
    var pending = document.createElement("li");
    pending.className = "chat-msg chat-customer chat-pending";
    pending.appendChild(text(document.createElement("p"), value.trim()));
    if (value.trim()) { this.log.appendChild(pending); this.scroll(); }
    this.sendButton.disabled = true;
    this.hideSuggestions();
    this.input.value = "";
    // The server tells only the conversation's other windows that the bot is typing.
    if (value.trim()) { this.typing.hidden = false; }
    call("message", { text: value, client_id: newClientId() }).then(function (ack) {
      pending.remove();
      self.sendButton.disabled = false;
      self.typing.hidden = true;
      if (!self.exchange(ack)) { self.input.value = value; }
      self.input.focus();
    });
  };

  ChatBox.prototype.suggest = function () {
    var self = this;
    var value = this.input.value.trim();
    if (value.length < 3) { this.hideSuggestions(); return; }
    call("suggest", { text: value }).then(function (ack) {
      if (self.input.value.trim() !== value) { return; }  // an older answer
      var articles = (ack && ack.articles) || [];
      self.suggestionList.textContent = "";
      articles.forEach(function (article) {
        if (typeof article.url !== "string" || article.url.charAt(0) !== "/" || article.url.charAt(1) === "/") { return; }
        var li = document.createElement("li");
        var a = text(document.createElement("a"), article.title);
        a.href = article.url;
        li.appendChild(a);
        self.suggestionList.appendChild(li);
      });
      self.suggestions.hidden = !self.suggestionList.children.length;
    });
  };

  ChatBox.prototype.hideSuggestions = function () {
    this.suggestions.hidden = true;
    this.suggestionList.textContent = "";
  };

  ChatBox.prototype.clicked = function (event) {
    var button = event.target.closest("button");
    if (!button || !this.log.contains(button)) { return; }
    var item = button.closest(".chat-msg");
    var messageId = Number(item.dataset.id);
    var self = this;
    if (button.name === "choice") {
      event.preventDefault();
      button.disabled = true;
      call("choose", { choice: button.value, message_id: messageId, client_id: newClientId() }).then(function (ack) {
        button.disabled = false;
        self.exchange(ack);
      });
    } else if (button.name === "idea_action") {
      event.preventDefault();
      button.disabled = true;
      var form = button.closest("form");
      var ideaId = Number(form.querySelector("input[name=idea_id]").value);
      call(button.value === "vote" ? "idea_vote" : "idea_follow", { idea_id: ideaId }).then(function (ack) {
        button.disabled = false;
        if (!ack.ok) { self.showError(ack.error); return; }
        self.showError(null);
        self.reload(true);  // the server re-renders the idea's votes and this viewer's vote / follow
      });
    } else if (button.classList.contains("chat-thumb")) {
      event.preventDefault();
      this.feedback(item, { message_id: messageId, helpful: button.value === "1" });
    } else if (button.hasAttribute("data-send-reason")) {
      event.preventDefault();
      var reason = item.querySelector("input[name=reason]:checked");
      var comment = item.querySelector("textarea[name=comment]");
      this.feedback(item, { message_id: messageId, helpful: false, reason: reason ? reason.value : null,
                            comment: comment ? comment.value : "" }, true);
    }
  };

  ChatBox.prototype.feedback = function (item, data, final) {
    var status = item.querySelector(".chat-feedback-status");
    var reasons = item.querySelector(".chat-reasons");
    var self = this;
    call("feedback", data).then(function (ack) {
      if (!ack.ok) { self.showError(ack.error); return; }
      self.showError(null);
      item.querySelectorAll(".chat-thumb").forEach(function (thumb) {
        thumb.setAttribute("aria-pressed", String((thumb.value === "1") === data.helpful));
      });
      reasons.hidden = data.helpful || Boolean(final);
      var ask = item.querySelector(".chat-ask-community");
      if (ask) { ask.hidden = data.helpful; }
      text(status, final ? status.dataset.done : status.dataset.thanks);
      if (!reasons.hidden) {
        var first = reasons.querySelector("input");
        if (first) { first.focus(); }
      }
    });
  };

  ChatBox.prototype.handoff = function (form) {
    var self = this;
    var button = form.querySelector("button");
    button.disabled = true;
    call("handoff", {}).then(function (ack) {
      button.disabled = false;
      if (!ack.ok) { self.showError(ack.error); return; }
      self.add(ack.reply);
    });
  };

  function start(root) {
    var box = new ChatBox(root);
    boxes.push(box);
    if (socket && socket.connected) { box.reload(); }
    connect();
    return box;
  }

  document.querySelectorAll(".chat-page [data-chat]").forEach(start);

  // The launcher opens the chat in place; the socket connects only once it is opened.
  document.querySelectorAll("[data-chat-launcher]").forEach(function (launcher) {
    var button = launcher.querySelector(".chat-launcher-button");
    var panel = launcher.querySelector(".chat-panel");
    var box = null;
    function toggle(open) {
      panel.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      launcher.classList.toggle("open", open);
      if (open) {
        if (!box) {
          var root = panel.querySelector("[data-chat]");
          box = new ChatBox(root);
          // Over HTTP first: that request stores the visitor's chat key in the session cookie, which
          // the socket (and every reconnect) then reads; a socket cannot set cookies itself.
          sessionReady = overHttp("history", {}).then(function (ack) {
            if (ack.ok) { ack.messages.forEach(function (m) { box.add(m); }); }
            boxes.push(box);
            connect();
          });
        }
        box.input.focus();
      } else {
        button.focus();
      }
    }
    button.addEventListener("click", function (event) {
      event.preventDefault();
      toggle(panel.hidden);
    });
    panel.querySelector(".chat-close").addEventListener("click", function () { toggle(false); });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { toggle(false); }
    });
  });
})();
