/*
 * Times on server-rendered pages arrive in UTC (<time datetime="…Z" data-local>); everyone reads them in
 * their own time zone, as the chat widget and the console already show live messages. Without JavaScript
 * the UTC text stays, marked "UTC".
 */
(function () {
  "use strict";

  const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const compact = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "short" }); // in tables
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";

  function localize(root) {
    for (const time of (root || document).querySelectorAll("time[data-local]")) {
      const date = new Date(time.getAttribute("datetime"));
      if (Number.isNaN(date.getTime())) continue;
      time.textContent = (time.closest("table") ? compact : format).format(date);
      time.title = `${zone} time`;
      time.removeAttribute("data-local");
    }
  }

  window.ccrLocalTime = { localize, format: (iso) => format.format(new Date(iso)), zone };
  localize(document);
})();
