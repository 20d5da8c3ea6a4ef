// Beta report form: while the title is typed, show open reports that mean the same, so testers say "me too".
(function () {
  "use strict";
  var box = document.getElementById("beta-similar");
  var title = document.getElementById("title");
  if (!box || !title || !window.CoKnow) { return; }
  var list = box.querySelector("ul");
  // Translated words come from the page (no inline script: the CSP forbids it).
  var holder = document.getElementById("beta-text");
  var text = { meToo: holder ? holder.dataset.meToo : "Me too" };
  var last = "";

  function item(report) {
    var li = document.createElement("li");
    li.appendChild(document.createTextNode("#" + report.id + " " + report.title + " (" + report.state + ") "));
    var form = document.createElement("form");
    form.method = "post";
    form.action = report.me_too_url;
    form.className = "inline";
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = window.CoKnow.csrfToken();
    var button = document.createElement("button");
    button.type = "submit";
    button.className = "button small secondary";
    button.textContent = text.meToo || "Me too";
    form.appendChild(token);
    form.appendChild(button);
    li.appendChild(form);
    return li;
  }

  var lookUp = window.CoKnow.debounce(function () {
    var q = title.value.trim();
    if (q === last) { return; }
    last = q;
    if (q.length < 8) { list.textContent = ""; box.hidden = true; return; }
    fetch(box.dataset.similarUrl + "?q=" + encodeURIComponent(q), {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {reports: []}; })
      .then(function (data) {
        if (title.value.trim() !== q) { return; }
        list.textContent = "";
        data.reports.forEach(function (report) { list.appendChild(item(report)); });
        box.hidden = data.reports.length === 0;
      })
      .catch(function () { /* suggestions are a help, never a blocker */ });
  }, 350);
  title.addEventListener("input", lookUp);
})();
