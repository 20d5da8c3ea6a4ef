// Forum enhancements: Markdown preview, "already asked?" suggestions, live replies.
// Progressive: every form posts and every page reads without this file.
(function () {
  "use strict";
  var CoKnow = window.CoKnow || {};
  var debounce = CoKnow.debounce;

  // A thread page counts as seen (view count, read marker) once shown: GET requests write nothing.
  var shown = document.querySelector(".forum-thread[data-thread-id]");
  // Links made before threads had pages (#reply-N alone, e.g. in older notifications) name a reply that may be
  // on another page: ask the server for the page holding it (?reply=), once.
  var wanted = /^#reply-(\d+)$/.exec(window.location.hash);
  if (shown && wanted && !document.getElementById("reply-" + wanted[1]) && !/[?&]reply=/.test(window.location.search)) {
    window.location.replace(window.location.pathname + "?reply=" + wanted[1] + window.location.hash);
    return;
  }
  if (shown) {
    fetch("/forum/t/" + shown.getAttribute("data-thread-id") + "/seen", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": CoKnow.csrfToken ? CoKnow.csrfToken() : "" }
    }).catch(function () {});
  }

  // Live preview: the server renders with the same sanitizer as published posts.
  document.querySelectorAll(".md-editor").forEach(function (form) {
    var textarea = form.querySelector("textarea[name=body]");
    var preview = form.querySelector(".md-preview");
    if (!textarea || !preview) { return; }
    var render = debounce(function () {
      var text = textarea.value;
      if (!text.trim()) { preview.hidden = true; preview.innerHTML = ""; return; }
      var data = new FormData();
      data.append("body", text);
      fetch("/forum/preview", {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": CoKnow.csrfToken ? CoKnow.csrfToken() : "", "Accept": "application/json" }
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (json) {
        if (!json) { return; }
        preview.innerHTML = json.html;  // already sanitized by the server's allow-list
        preview.hidden = false;
      }).catch(function () {});
    }, 300);
    textarea.addEventListener("input", render);
    if (textarea.value.trim()) { render(); }
  });

  // Suggest existing threads while a new thread's title is typed.
  var threadForm = document.getElementById("thread-form");
  if (threadForm) {
    var title = threadForm.querySelector("input[name=title]");
    var box = threadForm.querySelector(".similar-box");
    var list = threadForm.querySelector(".similar-list");
    var suggest = debounce(function () {
      var q = title.value.trim();
      if (q.length < 8) { box.hidden = true; return; }
      fetch("/forum/similar?q=" + encodeURIComponent(q), { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { threads: [] }; })
        .then(function (json) {
          list.textContent = "";
          json.threads.forEach(function (t) {
            var li = document.createElement("li");
            var a = document.createElement("a");
            a.href = t.url;
            a.textContent = t.title;
            a.target = "_blank";
            li.appendChild(a);
            if (t.answered) {
              var tag = document.createElement("span");
              tag.className = "tag solved";
              tag.textContent = "✓";
              li.appendChild(document.createTextNode(" "));
              li.appendChild(tag);
            }
            list.appendChild(li);
          });
          box.hidden = json.threads.length === 0;
        }).catch(function () {});
    }, 400);
    title.addEventListener("input", suggest);
  }

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });

  // New replies arrive over Socket.IO while the thread is open on its last page (earlier pages end with a
  // link to the newer replies instead).
  var threadEl = document.querySelector(".forum-thread[data-thread-id][data-last-page]");
  if (threadEl && CoKnow.live) {
    var socket = CoKnow.live();
    if (!socket) { return; }
    var threadId = parseInt(threadEl.dataset.threadId, 10);
    var replies = document.getElementById("replies");
    var watch = function () {
      socket.emit("watch_thread", { thread_id: threadId }, function (ack) {
        var note = document.querySelector(".live-note");
        if (note && ack && ack.ok) { note.hidden = false; threadEl.dataset.live = "1"; }
      });
    };
    socket.on("connect", watch);
    if (socket.connected) { watch(); }
    socket.on("thread_reply", function (data) {
      if (data.thread_id !== threadId || document.getElementById("reply-" + data.reply_id)) { return; }
      replies.insertAdjacentHTML("beforeend", data.html);  // rendered by the server's sanitizer
    });
    window.addEventListener("pagehide", function () { socket.emit("unwatch_thread", { thread_id: threadId }); });
  }
})();
