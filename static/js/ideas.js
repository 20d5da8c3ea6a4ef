// Ideas: while the title is typed, suggest existing ideas that mean the same, so people vote instead of duplicating.
(function () {
  "use strict";
  var box = document.getElementById("idea-suggestions");
  var title = document.getElementById("title");
  var template = document.getElementById("idea-suggestion-template");
  if (!box || !title || !template) { return; }
  var list = box.querySelector("ul");
  // Interface strings come from a data attribute: the page has no inline script (Content-Security-Policy).
  var holder = document.querySelector("[data-ideas-text]");
  var text = holder ? JSON.parse(holder.dataset.ideasText) : {};
  var signedIn = document.body.dataset.signedIn === "1";
  var timer = null;
  var lastQuery = "";
  var inflight = null;

  function votesLabel(n) { return (text.votes || "{n} votes").replace("{n}", String(n)); }

  function render(ideas) {
    list.textContent = "";
    ideas.forEach(function (idea) {
      var item = template.content.firstElementChild.cloneNode(true);
      var link = item.querySelector('[data-field="title"]');
      link.textContent = idea.title;
      link.href = idea.url;
      var status = item.querySelector('[data-field="status"]');
      status.textContent = idea.status_label;
      status.className = "idea-status status-" + idea.status;
      var votes = item.querySelector('[data-field="votes"]');
      votes.textContent = votesLabel(idea.vote_count);
      var button = item.querySelector('[data-action="vote"]');
      if (!signedIn) {
        button.textContent = text.login || "Log in to vote";
        button.addEventListener("click", function () { window.location.href = "/login?next=" + encodeURIComponent(idea.url); });
      } else {
        setVoted(button, idea.voted);
        button.addEventListener("click", function () { vote(idea, button, votes); });
      }
      list.appendChild(item);
    });
    box.hidden = ideas.length === 0;
  }

  function setVoted(button, voted) {
    button.textContent = voted ? (text.voted || "Voted") : (text.vote || "Vote");
    button.setAttribute("aria-pressed", voted ? "true" : "false");
    button.classList.toggle("secondary", voted);
    button.dataset.voted = voted ? "1" : "0";
  }

  function vote(idea, button, votes) {
    var voted = button.dataset.voted === "1";
    button.disabled = true;
    fetch(idea.url + (voted ? "/unvote" : "/vote"), {
      method: "POST",
      headers: { "Accept": "application/json", "X-CSRFToken": window.CoKnow.csrfToken() },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      button.disabled = false;
      if (!result.ok) {
        button.title = (result.data.error && result.data.error.message) || "";
        return;
      }
      setVoted(button, result.data.voted);
      votes.textContent = votesLabel(result.data.idea.vote_count);
    }).catch(function () { button.disabled = false; });
  }

  function lookup() {
    var q = title.value.trim();
    if (q === lastQuery) { return; }
    lastQuery = q;
    if (q.length < 4) { render([]); return; }
    if (inflight && inflight.abort) { inflight.abort(); }
    inflight = window.AbortController ? new AbortController() : null;
    fetch(box.dataset.similarUrl + "?q=" + encodeURIComponent(q), {
      headers: { "Accept": "application/json" },
      signal: inflight ? inflight.signal : undefined
    }).then(function (r) { return r.ok ? r.json() : { ideas: [] }; })
      .then(function (data) { if (q === lastQuery) { render(data.ideas || []); } })
      .catch(function () { /* aborted by a newer keystroke, or offline: keep the form usable */ });
  }

  title.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(lookup, 300);
  });
  if (title.value) { lookup(); }
})();
