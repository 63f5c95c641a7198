// Beacon watch page: plays the channel's adaptive HLS stream with hls.js
// (or the browser's own HLS where hls.js is unsupported) and lists renditions.
(function () {
  "use strict";
  var video = document.getElementById("video");
  var status = document.getElementById("status");
  var quality = document.getElementById("quality");
  var src = video.dataset.src;
  function say(text) { status.textContent = text; status.hidden = !text; }

  if (window.Hls && window.Hls.isSupported()) {
    var hls = new window.Hls({ lowLatencyMode: true, liveSyncDurationCount: 3 });
    var retries = 0;
    hls.on(window.Hls.Events.MANIFEST_PARSED, function (_e, data) {
      retries = 0;
      say("");
      data.levels.forEach(function (l, i) {
        var o = document.createElement("option");
        o.value = String(i);
        o.textContent = l.height ? l.height + "p" : (l.name || "source");
        quality.appendChild(o);
      });
      video.play().catch(function () { say("Press play to start"); });
    });
    hls.on(window.Hls.Events.ERROR, function (_e, data) {
      if (!data.fatal) { return; }
      if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }
      say("Stream offline — retrying…");
      setTimeout(function () { hls.loadSource(src); }, Math.min(10000, 1000 * Math.pow(2, retries++)));
    });
    quality.addEventListener("change", function () { hls.currentLevel = Number(quality.value); });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = src;
    video.addEventListener("loadedmetadata", function () { say(""); });
  } else {
    say("This browser cannot play HLS.");
  }
  video.addEventListener("playing", function () { say(""); });

  // Channel details from the directory API, refreshed for the viewer count.
  function details() {
    fetch("/v1/streams/" + encodeURIComponent(video.dataset.channel), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d || !d.stream) { return; }
        var s = d.stream;
        if (s.title) { document.getElementById("title").textContent = s.title; document.title = s.title + " · Beacon"; }
        var parts = [];
        if (s.display_name || s.login) { parts.push(s.display_name || s.login); }
        if (s.category_name) { parts.push(s.category_name); }
        parts.push(s.live ? (Number(s.viewer_count || 0) + " watching") : "offline");
        if (s.tags && s.tags.length) { parts.push(s.tags.map(function (t) { return "#" + t; }).join(" ")); }
        document.getElementById("meta").textContent = parts.join(" · ");
      })
      .catch(function () {});
  }
  details();
  setInterval(details, 15000);
})();
