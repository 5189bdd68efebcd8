/* Wall screens: rotation, clock, ages, and keeping the last good data when the server does not answer.
   No inline script or style anywhere (strict CSP): state lives in classes and the `hidden` attribute.
   htmx polls #wall-screens; this file only listens to its events:
   - it sends the last ETag as If-None-Match, so an unchanged wall costs the server a 304;
   - a 5xx, a timeout or no connection keeps what is shown and marks it stale until an answer comes;
   - 404/410 (the display was revoked) blanks the screen, and it keeps asking in case that was a mistake;
   - a different X-Wall-Build (a deploy) reloads the page, once the page itself answers. */
(function () {
  "use strict";

  var body = document.body;
  var screensBox = document.getElementById("wall-screens");
  var conn = document.getElementById("wall-conn");
  var connText = document.getElementById("wall-conn-text");
  var clock = document.getElementById("wall-clock");
  var seconds = Math.max(1, parseFloat(body.dataset.seconds) || 20);
  var pauseOnProblem = body.dataset.pause === "true";
  var build = body.dataset.build;
  var etag = body.dataset.etag || null; // the page's own: its data is what the first poll would bring
  var index = 0;
  var shownAt = Date.now();
  var lastAnswer = Date.now();
  var skew = 0; // server clock minus this TV's clock, in ms (from the Date header)
  var dead = false;
  var reloading = false;

  function screens() {
    return screensBox.querySelectorAll(".wall-screen");
  }

  function show() {
    var list = screens();
    var dots = screensBox.querySelectorAll(".wall-dots li");
    if (!list.length) return;
    index = index % list.length;
    for (var i = 0; i < list.length; i++) {
      list[i].classList.toggle("is-current", i === index);
      if (dots[i]) dots[i].classList.toggle("is-current", i === index);
    }
    var paused = document.getElementById("wall-paused");
    if (paused) paused.hidden = !(pauseOnProblem && list.length > 1 && problemShown());
  }

  function problemShown() {
    var current = screens()[index];
    return !!current && current.dataset.problem === "true";
  }

  function rotate(now) {
    if (now - shownAt < seconds * 1000) return;
    shownAt = now;
    if (pauseOnProblem && problemShown()) return;
    index += 1;
    show();
  }

  function two(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function ageText(ms) {
    var minutes = Math.floor(Math.max(0, ms) / 60000);
    if (minutes < 1) return "< 1 min";
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " h " + two(minutes % 60) + " min";
    return Math.floor(hours / 24) + " days " + (hours % 24) + " h";
  }

  function tick() {
    var now = Date.now();
    var serverNow = new Date(now + skew);
    clock.textContent = two(serverNow.getHours()) + ":" + two(serverNow.getMinutes()) + ":" + two(serverNow.getSeconds());
    clock.setAttribute("datetime", serverNow.toISOString());
    var ages = document.querySelectorAll("[data-since]");
    for (var i = 0; i < ages.length; i++) {
      var since = Date.parse(ages[i].dataset.since);
      if (!isNaN(since)) ages[i].textContent = ageText(now + skew - since);
    }
    if (!conn.hidden && !dead) {
      connText.textContent = "Stale: no answer for " + ageText(now - lastAnswer);
    }
    rotate(now);
  }

  function markStale(stale) {
    conn.hidden = !stale;
    body.classList.toggle("is-stale", stale);
    if (stale) tick();
  }

  function markDead() {
    dead = true;
    etag = null;
    body.classList.add("is-dead");
    conn.hidden = false;
    connText.textContent = "This display's URL no longer works: it was revoked.";
    var list = screens();
    for (var i = 0; i < list.length; i++) list[i].remove();
  }

  function reloadWhenServed() {
    if (reloading) return;
    reloading = true;
    fetch(window.location.href, { method: "HEAD", cache: "no-store" })
      .then(function (answer) {
        if (answer.ok) window.location.reload();
        else reloading = false;
      })
      .catch(function () {
        reloading = false;
      });
  }

  screensBox.addEventListener("htmx:configRequest", function (event) {
    if (etag) event.detail.headers["If-None-Match"] = etag;
  });

  screensBox.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    var status = xhr ? xhr.status : 0;
    if (status === 200 || status === 204 || status === 304) {
      lastAnswer = Date.now();
      var date = Date.parse(xhr.getResponseHeader("Date") || "");
      if (!isNaN(date)) skew = date - Date.now();
      etag = xhr.getResponseHeader("ETag") || etag;
      if (dead && status === 200) {
        dead = false;
        body.classList.remove("is-dead");
      }
      markStale(false);
      var served = xhr.getResponseHeader("X-Wall-Build");
      if (served && build && served !== build) reloadWhenServed();
    } else if (status === 404 || status === 410) {
      markDead();
    } else {
      markStale(true);
    }
  });

  screensBox.addEventListener("htmx:afterSwap", function () {
    show();
    tick();
  });

  show();
  tick();
  setInterval(tick, 1000);
})();
