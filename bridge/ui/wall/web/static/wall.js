// The wall's page: textual-serve's client (textual.js) draws the terminal; this
// keeps a kiosk honest and alive with no one at hand. While the page is not
// connected, STALE covers the whole screen; when the session ends or the server
// goes away, it waits for the server (GET /alive) and connects again in place,
// without navigating (a navigation to a server that is down would leave the
// browser's error page, which never comes back by itself).
(function () {
  "use strict";

  var RETRY_FIRST_MS = 1000;
  var RETRY_MAX_MS = 15000;
  var WATCH_MS = 5000;      // while live, ask the server how it is this often
  var MISSES_ALLOWED = 2;   // a link that died without closing: this many failed asks

  var state = {
    live: false, lostAt: null, retryMs: RETRY_FIRST_MS, misses: 0, timer: null, closed: false
  };
  var body = null;
  var template = null;

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function clock(d) { return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds()); }

  function showStale(why) {
    document.getElementById("stale-why").textContent = why;
    var since = state.lostAt ? "since " + clock(state.lostAt) : "";
    document.getElementById("stale-since").textContent = since;
    body.classList.add("-wall-stale");
    body.dataset.wallState = "stale";
  }

  function showLive() {
    state.live = true;
    state.lostAt = null;
    state.retryMs = RETRY_FIRST_MS;
    state.misses = 0;
    body.classList.remove("-wall-stale");
    body.dataset.wallState = "live";
  }

  function aliveUrl() { return body.dataset.aliveUrl || "/alive"; }

  function ask() {
    // 200: a browser may connect now; 503: the server is full; no answer: it is down.
    return fetch(aliveUrl(), { cache: "no-store" }).then(
      function (r) { return r.status; },
      function () { return 0; }
    );
  }

  function fullText() {
    return "the wall server is full (" + (body.dataset.maxBrowsers || "?") + " browsers)";
  }

  function lost(why) {
    state.live = false;
    if (!state.lostAt) { state.lostAt = new Date(); }
    showStale(why);
    // A refusal for want of a place says so at once, not at the next retry.
    ask().then(function (status) { if (status === 503 && !state.live) { showStale(fullText()); } });
    schedule();
  }

  function schedule() {
    clearTimeout(state.timer);
    state.timer = setTimeout(retry, state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, RETRY_MAX_MS);
  }

  function retry() {
    ask().then(function (status) {
      if (status === 200) {
        connect();
      } else {
        showStale(status === 503 ? fullText() : "the wall server does not answer");
        schedule();
      }
    });
  }

  function wsUrl(path) {
    return (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + path;
  }

  function connect() {
    // A fresh terminal element, and textual.js's own start-up run again on it.
    var old = document.getElementById("terminal");
    var fresh = template.cloneNode(false);
    old.parentNode.replaceChild(fresh, old);
    body.classList.remove("-closed", "-first-byte", "-loaded");
    state.closed = false;
    body.dataset.wallConnects = String(Number(body.dataset.wallConnects || "0") + 1);
    showStale("connecting to the wall server");
    if (typeof window.onload === "function") { window.onload(new Event("load")); }
  }

  function watch() {
    if (!state.live) { return; }
    ask().then(function (status) {
      if (!state.live) { return; }
      if (status === 0) {
        state.misses += 1;
        if (state.misses >= MISSES_ALLOWED) { lost("the wall server does not answer"); }
      } else {
        state.misses = 0;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    body = document.body;
    var term = document.getElementById("terminal");
    term.dataset.sessionWebsocketUrl = wsUrl(term.dataset.wsPath);
    template = term.cloneNode(false);
    body.dataset.wallConnects = "1";
    showStale(body.dataset.full ? fullText() : "connecting to the wall server");
    // textual.js marks the body: -first-byte once the terminal draws, -closed when
    // its socket closes (the session ended, the server went away, or it refused).
    new MutationObserver(function () {
      var c = body.classList;
      if (c.contains("-closed")) {
        if (state.closed) { return; }
        state.closed = true;
        lost(state.live ? "disconnected from the wall server" : "the wall server refused or is down");
      } else if (c.contains("-first-byte") && !state.live) {
        showLive();
      }
    }).observe(body, { attributes: true, attributeFilter: ["class"] });
    setInterval(watch, WATCH_MS);
  });
})();
