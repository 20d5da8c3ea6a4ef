// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  var toggle = document.querySelector(".nav-toggle");
  var nav = document.getElementById("site-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      nav.classList.toggle("open", !open);
    });
  }
  window.CoKnow = window.CoKnow || {};
  // One shared connection for live updates; features subscribe with CoKnow.live().
  var liveSocket = null;
  window.CoKnow.live = function () {
    if (!liveSocket && window.io) {
      liveSocket = window.io("/live", { transports: ["websocket", "polling"] });
    }
    return liveSocket;
  };
  if (document.body.dataset.signedIn === "1") {
    document.addEventListener("DOMContentLoaded", function () {
      var socket = window.CoKnow.live();
      var badge = document.querySelector(".bell-count");
      if (!socket || !badge) { return; }
      socket.on("notification", function (data) {
        badge.textContent = String(data.unread);
        badge.dataset.unread = String(data.unread);
        badge.hidden = !data.unread;
      });
    });
  }
  // Run fn once the calls stop for ms (live previews and suggestions while typing).
  window.CoKnow.debounce = function (fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  };

  window.CoKnow.csrfToken = function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  };
})();
