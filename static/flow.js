/* idflow hosted flow: live camera, upload progress and status polling on top of plain forms.
   Every page works without this file; it only adds what the browser supports. */
(function () {
  "use strict";

  /* The page's sentences in its language, from the catalog (base.html's <body data-text>). */
  var TEXT = JSON.parse(document.body.getAttribute("data-text"));

  /* Show one or more lines of text as the page's error notice. */
  function notify(form, text) {
    var box = document.querySelector("[data-notice]");
    if (!box) { return; }
    var lines = [].concat(text);
    box.textContent = "";
    var notice = document.createElement("div");
    notice.className = "notice error";
    notice.setAttribute("role", "alert");
    for (var i = 0; i < lines.length; i++) {
      var p = document.createElement("p");
      p.textContent = lines[i];
      notice.appendChild(p);
    }
    box.appendChild(notice);
    box.scrollIntoView({ block: "center" });
  }

  /* The server's own words on an error page (error.html, flow/gone.html): its heading and lead. */
  function pageMessage(page) {
    var lines = [];
    var heading = page.querySelector("h1");
    var lead = page.querySelector(".lead") || page.querySelector("main p");
    if (heading && heading.textContent.trim()) { lines.push(heading.textContent.trim()); }
    if (lead && lead.textContent.trim()) { lines.push(lead.textContent.trim()); }
    return lines.length ? lines : [TEXT.upload_failed];
  }

  /* Same words as the server's 413 page. */
  var TOO_LARGE = [TEXT.too_large_title, TEXT.too_large_text];
  /* The server's limit is on the whole request: leave room for the form's other fields. */
  var FORM_OVERHEAD = 8192;

  function tooLarge(form, file) {
    var max = parseInt(form.getAttribute("data-max-bytes"), 10);
    return Boolean(file) && max > 0 && file.size > max - FORM_OVERHEAD;
  }

  function sameUrl(a, b) {
    return a.split("#")[0] === b.split("#")[0];
  }

  /* POST the form with XMLHttpRequest so the person sees the upload progress. The server answers
     as it does without JavaScript: a redirect to the next step, the same page (422) saying what
     to fix, whose message replaces ours, or an error page, whose heading and text are shown (a
     link that is gone is opened, so its page says what to do). A photo over the server's limit
     is refused here: the server would cut the connection before the browser could read why. */
  function upload(form, blob, prepared) {
    var input = form.querySelector("input[type=file]");
    if (tooLarge(form, blob || (input && input.files && input.files[0]))) {
      if (input) { input.value = ""; }
      notify(form, TOO_LARGE);
      return;
    }
    var bar = form.querySelector("[data-progress]");
    var buttons = form.querySelectorAll("button, input[type=submit]");
    var action = form.action || window.location.href;
    var data = prepared || new FormData(form);
    if (blob) { data.set("photo", blob, "camera.jpg"); }
    function busy(on) {
      bar.hidden = !on;
      bar.value = 0;
      for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = on; }
      /* Refused: empty the input, or choosing the same photo again would not be a change. */
      if (!on && input) { input.value = ""; }
    }
    function send(renewed) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", action);
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) { bar.value = Math.round(100 * event.loaded / event.total); }
      });
      xhr.addEventListener("load", function () {
        if (!renewed && xhr.status === 400 && xhr.getResponseHeader(FORM_EXPIRED)) {
          /* Only the form's token was stale: the same photo again, with a fresh one. */
          renewToken(form, data).then(function () { send(true); }, function () {
            busy(false);
            notify(form, TEXT.upload_failed);
          });
          return;
        }
        if (!xhr.responseURL) { window.location.reload(); return; }
        if (!sameUrl(xhr.responseURL, action)) { window.location.assign(xhr.responseURL); return; }
        if (xhr.status === 404 || xhr.status === 410) { window.location.assign(action); return; }
        var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var fresh = page.querySelector("[data-notice]");
        var box = document.querySelector("[data-notice]");
        busy(false);
        if (!fresh) { notify(form, pageMessage(page)); return; }
        if (box) {
          box.innerHTML = fresh.innerHTML;
          box.scrollIntoView({ block: "center" });
        }
      });
      xhr.addEventListener("error", function () {
        busy(false);
        notify(form, TEXT.connection);
      });
      xhr.send(data);
    }
    busy(true);
    send(false);
  }

  /* What the server answers a POST refused for its form token alone (views.FORM_EXPIRED_HEADER). */
  var FORM_EXPIRED = "Idflow-Form-Expired";

  /* A form token goes stale when the page stays open for long or the browser lost its cookie.
     The page itself, fetched again as a reload would, has a fresh one: the form and the prepared
     upload get it. Another site cannot read the page, so the protection stays. */
  function renewToken(form, data) {
    if (!window.fetch) { return Promise.reject(new Error("no fetch")); }
    return window.fetch(window.location.href, {
      headers: { Accept: "text/html" }, cache: "no-store", credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) { throw new Error("page " + response.status); }
      return response.text();
    }).then(function (text) {
      var page = new DOMParser().parseFromString(text, "text/html");
      var fresh = page.querySelector("input[name=csrf_token]");
      if (!fresh || !fresh.value) { throw new Error("no token"); }
      var field = form.querySelector("input[name=csrf_token]");
      if (field) { field.value = fresh.value; }
      data.set("csrf_token", fresh.value);
    });
  }

  function attachDataTransfer(input, blob) {
    /* Where supported, the photo goes into the file input too, like a chosen file. */
    try {
      var transfer = new DataTransfer();
      transfer.items.add(new File([blob], "camera.jpg", { type: "image/jpeg" }));
      input.files = transfer.files;
    } catch (ignored) { /* older browsers: FormData carries the blob on its own */ }
  }

  /* Live hints from the preview, worked out here on a small copy of each frame: too dark, too
     far (the document does not fill the guide), hold still (the frame moves); once the frame
     is steady, bright and the document fills the guide for a moment, `ready` is called (the
     page takes the photo by itself, once; the button stays). The thresholds come from real
     specimens and clips played as the camera (docs/quality-thresholds.md, "Live capture
     hints"; scripts/measure_capture_hints.py). */
  var HINT_SIDE = 160;
  var HINT_MS = 250;
  var DARK = 90;            /* the brightest 5% of the preview (the document's white) under
                               this grey level, 0-255, and it is too dark */
  var CONTRAST = 20;        /* a document stands out from the dark surface by at least this */
  var FILLS = 0.74;         /* its width and height against the guide's, to count as filling:
                               held at 90% of the guide it measures 0.80-0.89, at 70% (where
                               the server starts to warn) 0.64-0.68 */
  var STILL = 2.5;          /* mean grey change between two samples of a steady hand */
  var SHARP = 3;            /* mean grey step between neighbours on a document in focus */
  var READY_TICKS = 4;      /* about a second of all of the above before the photo is taken */

  function guidance(root, video, ready) {
    var viewer = root.querySelector("[data-viewer]");
    var guide = root.querySelector(".guide");
    var hint = root.querySelector("[data-hint]");
    if (!hint || !guide) { return function () {}; }
    var canvas = document.createElement("canvas");
    var context = canvas.getContext("2d", { willReadFrequently: true });
    var previous = null, steady = 0, shown = "", fired = false;
    function say(key) {
      if (key !== shown) { shown = key; hint.textContent = key ? TEXT[key] : ""; }
    }
    function measure() {
      var width = HINT_SIDE, height = Math.round(HINT_SIDE * video.videoHeight / video.videoWidth);
      canvas.width = width;
      canvas.height = height;
      context.drawImage(video, 0, 0, width, height);
      var rgba = context.getImageData(0, 0, width, height).data;
      var grey = new Float32Array(width * height), total = 0, i;
      var histogram = new Uint32Array(256);
      for (i = 0; i < grey.length; i++) {
        grey[i] = 0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2];
        total += grey[i];
        histogram[Math.min(255, Math.round(grey[i]))]++;
      }
      var bright = 255;
      for (var brighter = 0; bright > 0; bright--) {
        brighter += histogram[bright];
        if (brighter >= 0.05 * grey.length) { break; }
      }
      var area = viewer.getBoundingClientRect(), box = guide.getBoundingClientRect();
      var x0 = Math.max(0, Math.floor((box.left - area.left) / area.width * width));
      var x1 = Math.min(width, Math.ceil((box.right - area.left) / area.width * width));
      var y0 = Math.max(0, Math.floor((box.top - area.top) / area.height * height));
      var y1 = Math.min(height, Math.ceil((box.bottom - area.top) / area.height * height));
      var inside = 0, count = 0, step = 0, x, y;
      for (y = y0; y < y1; y++) {
        for (x = x0; x < x1; x++) {
          inside += grey[y * width + x];
          count++;
          if (x > x0) { step += Math.abs(grey[y * width + x] - grey[y * width + x - 1]); }
        }
      }
      inside /= Math.max(1, count);
      var outside = (total - inside * count) / Math.max(1, grey.length - count);
      /* The document's extent: rows and columns where most samples are lighter than halfway
         between the surface and the guide's inside. */
      var cut = (inside + outside) / 2, columns = [], rows = [];
      for (x = 0; x < width; x++) {
        var light = 0;
        for (y = 0; y < height; y++) { if (grey[y * width + x] > cut) { light++; } }
        if (light > 0.3 * (y1 - y0)) { columns.push(x); }
      }
      for (y = 0; y < height; y++) {
        var lit = 0;
        for (x = 0; x < width; x++) { if (grey[y * width + x] > cut) { lit++; } }
        if (lit > 0.3 * (x1 - x0)) { rows.push(y); }
      }
      var fill = columns.length && rows.length ? Math.min(
        (columns[columns.length - 1] - columns[0]) / Math.max(1, x1 - x0),
        (rows[rows.length - 1] - rows[0]) / Math.max(1, y1 - y0)) : 0;
      var change = Infinity;
      if (previous) {
        change = 0;
        for (i = 0; i < grey.length; i++) { change += Math.abs(grey[i] - previous[i]); }
        change /= grey.length;
      }
      previous = grey;
      return { light: bright, contrast: inside - outside, fill: fill,
               change: change, sharp: step / Math.max(1, count) };
    }
    var timer = window.setInterval(function () {
      if (!video.videoWidth || video.paused) { return; }
      var seen = measure();
      var key = "hint_ready";
      if (seen.light < DARK) { key = "hint_dark"; }
      else if (seen.contrast < CONTRAST || seen.fill < FILLS) { key = "hint_far"; }
      else if (seen.change > STILL || seen.sharp < SHARP) { key = "hint_still"; }
      steady = key === "hint_ready" ? steady + 1 : 0;
      say(key);
      /* What the hint was worked out from, for tests and anyone tuning the thresholds. */
      root.setAttribute("data-seen", JSON.stringify(seen));
      if (steady >= READY_TICKS && !fired) { fired = true; ready(); }
    }, HINT_MS);
    return function () { window.clearInterval(timer); say(""); };
  }

  function camera(form, input) {
    var root = document.querySelector("[data-camera]");
    var start = form.querySelector("[data-camera-start]");
    var shoot = form.querySelector("[data-shoot]");
    if (!root || !start || !shoot || !navigator.mediaDevices ||
        !navigator.mediaDevices.getUserMedia || !window.HTMLCanvasElement) { return; }
    var video = root.querySelector("video");
    var viewer = root.querySelector("[data-viewer]");
    var stream = null;
    var quiet = function () {};
    function stop() {
      quiet();
      if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
      stream = null;
    }
    start.hidden = false;
    start.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: root.getAttribute("data-facing") },
                 width: { ideal: 1920 }, height: { ideal: 1080 } }
      }).then(function (media) {
        stream = media;
        video.srcObject = media;
        root.hidden = false;
        start.hidden = true;
        shoot.hidden = false;
        root.scrollIntoView({ block: "start", behavior: "smooth" });
        quiet = guidance(root, video, function () { shoot.click(); });
        return video.play();
      }).catch(function () {
        stop();
        root.hidden = true;
        start.hidden = true;
        shoot.hidden = true;
        notify(form, TEXT.camera_fallback);
      });
    });
    video.addEventListener("loadedmetadata", function () {
      if (video.videoWidth && video.videoHeight) {
        viewer.style.setProperty("--ratio", String(video.videoWidth / video.videoHeight));
      }
    });
    shoot.addEventListener("click", function () {
      var width = video.videoWidth, height = video.videoHeight;
      if (!width || !height) { return; }
      var canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      canvas.getContext("2d").drawImage(video, 0, 0, width, height);
      canvas.toBlob(function (blob) {
        if (!blob) { notify(form, TEXT.shot_failed); return; }
        attachDataTransfer(input, blob);
        upload(form, blob);
      }, "image/jpeg", 0.92);
    });
    window.addEventListener("pagehide", stop);
  }

  function capturePage(form) {
    var input = form.querySelector("input[type=file]");
    var submit = form.querySelector("input[type=submit]");
    if (!input || !window.FormData || !window.XMLHttpRequest) { return; }
    if (submit) { submit.hidden = true; }
    input.addEventListener("change", function () {
      if (input.files && input.files.length) { upload(form, null); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (input.files && input.files.length) { upload(form, null); }
    });
    camera(form, input);
  }

  /* The live selfie: fetch a head-turn challenge, show it, film BURST_FRAMES frames BURST_STEP_MS
     apart with their capture times, and upload them together. Without a camera the page's
     hand-off to a phone stays shown. */
  var BURST_FRAMES = 10;
  var BURST_STEP_MS = 300;
  var BURST_SIDE = 640;
  /* The server honours a challenge for 120 s: one older than this is fetched afresh at Start. */
  var CHALLENGE_FRESH_MS = 90000;

  function wait(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  function liveSelfie(form) {
    var root = document.querySelector("[data-camera]");
    var fallback = document.querySelector("[data-no-camera]");
    var start = form.querySelector("[data-burst-start]");
    var instruction = form.querySelector("[data-instruction]");
    if (!root || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia ||
        !window.fetch || !window.Promise || !window.FormData || !window.HTMLCanvasElement) {
      return;
    }
    var video = root.querySelector("video");
    var stream = null;
    var used = false;
    var fetchedAt = 0;
    function stop() {
      if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
      stream = null;
    }
    function noCamera() {
      stop();
      root.hidden = true;
      form.hidden = true;
      if (fallback) { fallback.hidden = false; }
    }
    function challenge() {
      return window.fetch(form.getAttribute("data-challenge-url"), {
        headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin"
      }).then(function (response) {
        if (!response.ok) { throw new Error("challenge " + response.status); }
        return response.json();
      }).then(function (issued) {
        form.querySelector("input[name=challenge]").value = issued.token;
        instruction.textContent = issued.instruction;
        instruction.setAttribute("data-direction", issued.direction);
        used = false;
        fetchedAt = Date.now();
      });
    }
    function grab(frames, times, first) {
      var width = video.videoWidth, height = video.videoHeight;
      var scale = Math.min(1, BURST_SIDE / Math.max(width, height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      var at = window.performance.now();
      times.push(Math.round(at - (first === null ? at : first)));
      return new Promise(function (resolve, reject) {
        canvas.toBlob(function (blob) {
          if (blob) { frames.push(blob); resolve(at); } else { reject(new Error("frame")); }
        }, "image/jpeg", 0.9);
      });
    }
    function film() {
      var frames = [], times = [], first = null, chain = Promise.resolve();
      for (var i = 0; i < BURST_FRAMES; i++) {
        chain = chain.then(function () {
          return grab(frames, times, first).then(function (at) {
            if (first === null) { first = at; }
            return wait(BURST_STEP_MS);
          });
        });
      }
      return chain.then(function () {
        stop();
        root.hidden = true;
        used = true;
        var data = new FormData(form);
        data.set("times", times.join(","));
        frames.forEach(function (blob, index) {
          data.append("frames", blob, "frame" + index + ".jpg");
        });
        start.textContent = TEXT.try_again;
        upload(form, null, data);
      });
    }
    form.hidden = false;
    if (fallback) { fallback.hidden = true; }
    challenge().catch(function () { notify(form, TEXT.selfie_unprepared); });
    start.addEventListener("click", function () {
      start.disabled = true;
      var stale = used || Date.now() - fetchedAt > CHALLENGE_FRESH_MS;
      (stale ? challenge().then(function () { return wait(2000); }) : Promise.resolve())
        .then(function () {
          return navigator.mediaDevices.getUserMedia({
            audio: false,
            video: { facingMode: { ideal: "user" }, width: { ideal: 640 }, height: { ideal: 480 } }
          });
        })
        .then(function (media) {
          stream = media;
          video.srcObject = media;
          root.hidden = false;
          return video.play();
        })
        .then(function () { return wait(700); })
        .then(film)
        .catch(function () {
          start.disabled = false;
          noCamera();
          notify(form, TEXT.camera_missing);
        });
    });
    window.addEventListener("pagehide", stop);
  }

  /* The processing page: ask for the status every quarter of a second for the first 3 s (a
     verdict prepared before Submit is often ready within a second, and one worked out after it
     within two or three; each answer takes the server a few milliseconds), then every 0.5 s to
     4 s and every 1.5 s after; go on once it is decided. Without JavaScript the page's
     <noscript> refresh does the same, more slowly; with it nothing else reloads the page. */
  var POLL_MS = [250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250, 500, 500, 1500];

  function poll(element) {
    var url = element.getAttribute("data-poll");
    var asked = 0;
    function later() {
      window.setTimeout(tick, POLL_MS[Math.min(asked, POLL_MS.length - 1)]);
      asked += 1;
    }
    function tick() {
      window.fetch(url, { headers: { Accept: "application/json" }, cache: "no-store",
                          credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (state) {
          if (state.next && state.status !== "processing") { window.location.replace(state.next); }
          else { later(); }
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    }
    if (window.fetch) { later(); }
  }

  /* On a computer: ask every few seconds where the person is, and move to that page once they
     got further on their phone (or anywhere else). The step the page was drawn at is compared,
     not the page itself, so an earlier step opened here (a retake) stays open. */
  var FOLLOW_MS = 2500;

  function follow(url, at) {
    var timer = null;
    function later(ms) {
      window.clearTimeout(timer);
      timer = window.setTimeout(tick, ms);
    }
    function tick() {
      window.fetch(url, { headers: { Accept: "application/json" }, cache: "no-store",
                          credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (state) {
          if (state.url && state.step !== at) { window.location.assign(state.url); }
          else { later(FOLLOW_MS); }
        })
        .catch(function () { later(2 * FOLLOW_MS); });
    }
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { later(0); }
    });
    later(FOLLOW_MS);
  }

  function start() {
    var followUrl = document.body.getAttribute("data-follow");
    if (followUrl && window.fetch) { follow(followUrl, document.body.getAttribute("data-at")); }
    var form = document.querySelector("form[data-upload]");
    if (form) { capturePage(form); }
    var burst = document.querySelector("form[data-burst]");
    if (burst) { liveSelfie(burst); }
    var waiting = document.querySelector("[data-poll]");
    if (waiting) { poll(waiting); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
