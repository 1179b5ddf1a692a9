/*
 * The admin's report charts, drawn by Chart.js (node_modules/chart.js, served at /vendor/chart.umd.min.js)
 * from the numbers the page carries in #report-data's data-report. Every chart has its sentence in the figcaption (read
 * by screen readers through aria-labelledby) and its numbers in a table; the busiest-hours table is moved
 * from UTC into the reader's time zone and shaded.
 */
(function () {
  "use strict";

  const source = document.getElementById("report-data");
  if (!source) return;
  const report = JSON.parse(source.dataset.report);
  const REASONS = {
    customer_request: "Asked for a person",
    low_confidence: "Bot not sure",
    repeated_fallback: "Bot did not understand",
    bot_error: "Bot error",
  };
  const COLORS = ["#2456d3", "#1f8a5b", "#b86e00", "#b3261e", "#6b3fa0", "#00798c"];

  shadeHeatmap();
  if (typeof window.Chart !== "function") return; // the tables and sentences still tell everything

  const Chart = window.Chart;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
  Chart.defaults.maintainAspectRatio = false; // the .chart-box decides the height, on a phone too
  if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) Chart.defaults.animation = false;

  const charts = (window.ccrCharts = {});
  const byId = (id) => document.getElementById(id);

  charts.volume = new Chart(byId("chart-volume"), {
    type: "line",
    data: {
      labels: report.days,
      datasets: [
        { label: "Conversations", data: report.conversations_per_day, borderColor: COLORS[0], backgroundColor: COLORS[0] },
        { label: "Tickets", data: report.tickets_per_day, borderColor: COLORS[2], backgroundColor: COLORS[2] },
      ],
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { maxTicksLimit: 8 } } } },
  });

  const reasons = Object.keys(report.handoff_reasons);
  charts.reasons = new Chart(byId("chart-reasons"), {
    type: "doughnut",
    data: {
      labels: ["Resolved by the bot"].concat(reasons.map((r) => `Handoff: ${REASONS[r] || r}`)),
      datasets: [
        {
          data: [report.contained].concat(reasons.map((r) => report.handoff_reasons[r])),
          backgroundColor: ["#1f8a5b", "#2456d3", "#b86e00", "#b3261e", "#6b3fa0"],
        },
      ],
    },
    options: { plugins: { legend: { position: "bottom" } } },
  });

  const TIMES = [
    ["chat_first_response", "Chat: first reply"],
    ["chat_resolution", "Chat: resolved"],
    ["ticket_first_response", "Ticket: first reply"],
    ["ticket_resolution", "Ticket: resolved"],
  ];
  // One unit for the chart, the largest that keeps the longest bar above a few units.
  const longest = Math.max(0, ...TIMES.map(([key]) => report.times[key].p90 || 0));
  const [unit, perUnit] = longest < 180 ? ["seconds", 1] : longest < 3 * 3600 ? ["minutes", 60] : ["hours", 3600];
  const inUnit = (seconds) => (seconds === null ? null : Math.round((seconds / perUnit) * 10) / 10);
  charts.times = new Chart(byId("chart-times"), {
    type: "bar",
    data: {
      labels: TIMES.map(([, label]) => label),
      datasets: [
        { label: `Median (${unit})`, data: TIMES.map(([key]) => inUnit(report.times[key].median)), backgroundColor: COLORS[0] },
        { label: `90th percentile (${unit})`, data: TIMES.map(([key]) => inUnit(report.times[key].p90)), backgroundColor: COLORS[3] },
      ],
    },
    options: { indexAxis: "y", scales: { x: { beginAtZero: true, title: { display: true, text: unit } } } },
  });

  charts.csat = new Chart(byId("chart-csat"), {
    type: "line",
    data: {
      labels: report.days,
      datasets: [
        { label: "Average rating", data: report.csat_per_day, borderColor: COLORS[1], backgroundColor: COLORS[1], spanGaps: true },
      ],
    },
    options: { scales: { y: { min: 1, max: 5, ticks: { stepSize: 1 } }, x: { ticks: { maxTicksLimit: 8 } } } },
  });

  charts.agents = new Chart(byId("chart-agents"), {
    type: "bar",
    data: {
      labels: report.agents.map((a) => a.name),
      datasets: [
        { label: "Open chats", data: report.agents.map((a) => a.open_chats), backgroundColor: COLORS[0] },
        { label: "Chats taken", data: report.agents.map((a) => a.chats_taken), backgroundColor: COLORS[1] },
        { label: "Open tickets", data: report.agents.map((a) => a.open_tickets), backgroundColor: COLORS[2] },
      ],
    },
    options: { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });

  /** Rewrites the UTC weekday x hour counts in the reader's time zone and shades each cell by its count. */
  function shadeHeatmap() {
    const table = document.getElementById("heatmap");
    if (!table) return;
    const offset = -new Date().getTimezoneOffset(); // minutes east of UTC, today's
    const shift = Math.round(offset / 60);
    const local = Array.from({ length: 7 }, () => new Array(24).fill(0));
    report.busiest_hours_utc.forEach((row, day) =>
      row.forEach((count, hour) => {
        const total = day * 24 + hour + shift;
        const wrapped = ((total % 168) + 168) % 168;
        local[Math.floor(wrapped / 24)][wrapped % 24] += count;
      })
    );
    const max = Math.max(1, ...local.flat());
    const rows = table.tBodies[0].rows;
    local.forEach((row, day) =>
      row.forEach((count, hour) => {
        const cell = rows[day].cells[hour + 1];
        cell.textContent = String(count);
        const strength = count / max;
        cell.style.backgroundColor = `rgba(36, 86, 211, ${(0.08 + strength * 0.92).toFixed(2)})`;
        cell.style.color = strength > 0.5 ? "#fff" : "";
        cell.title = `${count} message${count === 1 ? "" : "s"}`;
      })
    );
    const zone = document.getElementById("heatmap-zone");
    if (zone) zone.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  }
})();
