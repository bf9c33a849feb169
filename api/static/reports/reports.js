// The reports page (issue 15): every number comes from the API, asked with the reader's credential.
"use strict";

const TEXT = {
  zh: {
    title: "质量报表", credential: "访问令牌", period: "月份", load: "查看", lang: "English",
    indicators: "六项质量指标", indicatorsNote: "分子/分母;被流程取代的时限不计为及时或超时。",
    trend: "每周趋势", ranking: "站点评分排名", exceptions: "本期超时与升级工单", rulings: "待处理判责单",
    target: "目标", atMost: "不高于", atLeast: "不低于", noData: "无数据", loading: "加载中…",
    loaded: "已加载", failed: "加载失败", needCredential: "请输入访问令牌", rate: "比率",
    rank: "排名", station: "站点", province: "省份", score: "总分", complete: "数据完整", yes: "是", no: "否",
    ticket: "工单", what: "情况", state: "状态", due: "时限", unit: "责任单位", issued: "判责时间",
    breached: "超时", escalated: "升级", tz: "(北京时间 +08:00)",
    states: { awaiting_unit: "待责任单位确认", in_arbitration: "总部仲裁中" },
  },
  en: {
    title: "Quality reports", credential: "Access token", period: "Month", load: "Show", lang: "中文",
    indicators: "The six quality indicators", indicatorsNote: "Numerator/denominator; deadlines superseded by the flow count neither as met nor as breached.",
    trend: "Trend per week", ranking: "Stations ranked by score", exceptions: "Breached and escalated tickets of the period",
    rulings: "Open liability rulings", target: "Target", atMost: "at most", atLeast: "at least", noData: "no data",
    loading: "Loading…", loaded: "Loaded", failed: "Failed to load", needCredential: "Enter an access token",
    rate: "Rate", rank: "Rank", station: "Station", province: "Province", score: "Score", complete: "Complete",
    yes: "yes", no: "no", ticket: "Ticket", what: "What", state: "State", due: "Due", unit: "Unit",
    issued: "Issued", breached: "breached", escalated: "escalated", tz: "(China Standard Time, +08:00)",
    states: { awaiting_unit: "awaiting the unit", in_arbitration: "in HQ arbitration" },
  },
};
const DEADLINE_KPIS = { feedback_48h: "R-CLK-4", direct_dispatch_2h: "R-CLK-2", associated_dispatch_4h: "R-CLK-3" };

let lang = localStorage.getItem("parcelcare.lang") || "zh";
let data = null;
const charts = {};

const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[lang][key];

function pct(rate) {
  return rate === null || rate === undefined ? "—" : (Number(rate) * 100).toFixed(2) + "%";
}

// An instant in China Standard Time, whatever the browser's zone: 2026-11-23 09:30 +08:00.
function cst(iso) {
  if (!iso) return "—";
  const d = new Date(new Date(iso).getTime() + 8 * 3600 * 1000);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} +08:00`;
}

function isoWeek(date) {  // date: a UTC midnight Date of a Shanghai calendar day
  const d = new Date(date.getTime());
  const day = (d.getUTCDay() + 6) % 7;
  d.setUTCDate(d.getUTCDate() - day + 3);
  const year = d.getUTCFullYear();
  const first = new Date(Date.UTC(year, 0, 4));
  const week = 1 + Math.round(((d - first) / 86400000 - 3 + ((first.getUTCDay() + 6) % 7)) / 7);
  return `${year}-W${String(week).padStart(2, "0")}`;
}

// The ISO weeks that touch the month, in order.
function weeksOf(month) {
  const [y, m] = month.split("-").map(Number);
  const weeks = [];
  for (let d = new Date(Date.UTC(y, m - 1, 1)); d.getUTCMonth() === m - 1; d.setUTCDate(d.getUTCDate() + 1)) {
    const w = isoWeek(d);
    if (!weeks.includes(w)) weeks.push(w);
  }
  return weeks;
}

async function api(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${$("credential").value.trim()}` } });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function head(table, names) {
  const tr = document.createElement("tr");
  for (const n of names) {
    const th = document.createElement("th");
    th.textContent = n;
    tr.appendChild(th);
  }
  table.tHead.replaceChildren(tr);
}

function ticketLink(row, id) {
  const td = document.createElement("td");
  const a = document.createElement("a");
  a.href = `#ticket-${id}`;
  a.textContent = id;
  a.className = "ticket-link";
  a.addEventListener("click", () => showTicket(id));
  td.appendChild(a);
  row.appendChild(td);
}

async function showTicket(id) {
  try {
    const ticket = await api(`/v1/tickets/${encodeURIComponent(id)}`);
    const lines = [`${ticket.ticket_id}  ${ticket.kind}  ${ticket.station}  ${ticket.status}`];
    for (const s of ticket.steps || []) lines.push(`${cst(s.at)}  ${s.action}  ${s.note || ""}`);
    $("ticket").textContent = lines.join("\n");
  } catch (err) {
    $("ticket").textContent = `${id}: ${err.message}`;
  }
}

function label(item) {
  return lang === "zh" ? item.label_zh : item.label_en;
}

function renderKpis() {
  const box = $("kpis");
  box.replaceChildren();
  for (const k of data.indicators.indicators) {
    const o = k.overall;
    const card = document.createElement("div");
    card.className = "card " + (o.meets_target === null ? "" : o.meets_target ? "ok" : "bad");
    card.dataset.name = k.name;
    card.dataset.numerator = o.numerator;
    card.dataset.denominator = o.denominator;
    const bound = k.at_most ? t("atMost") : t("atLeast");
    card.innerHTML = "";
    for (const [cls, text] of [["name", label(k)], ["rate", pct(o.rate)], ["fraction", `${o.numerator}/${o.denominator}`],
                               ["target", `${t("target")}: ${bound} ${pct(k.target)}`], ["rule", k.rule]]) {
      const div = document.createElement("div");
      div.className = cls;
      div.textContent = text;
      card.appendChild(div);
    }
    box.appendChild(card);
  }
  const names = data.indicators.indicators.map(label);
  chart("kpi-chart").setOption({
    tooltip: {}, legend: { data: [t("rate"), t("target")] },
    grid: { left: 50, right: 20, bottom: 80 },
    xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: 20 } },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    series: [
      { name: t("rate"), type: "bar", data: data.indicators.indicators.map((k) => k.overall.rate === null ? null : Number(k.overall.rate) * 100) },
      { name: t("target"), type: "line", data: data.indicators.indicators.map((k) => Number(k.target) * 100) },
    ],
  }, true);
}

function renderTrend() {
  const weeks = data.weeks.map((w) => w.period);
  chart("trend-chart").setOption({
    tooltip: { trigger: "axis" }, legend: { type: "scroll" }, grid: { left: 50, right: 20, top: 40 },
    xAxis: { type: "category", data: weeks },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    series: data.indicators.indicators.map((k, i) => ({
      name: label(k), type: "line", connectNulls: false,
      data: data.weeks.map((w) => { const r = w.indicators[i].overall.rate; return r === null ? null : Number(r) * 100; }),
    })),
  }, true);
}

function renderScores() {
  const table = $("scores");
  const components = data.scorecard.stations.length ? data.scorecard.stations[0].components : [];
  head(table, [t("rank"), t("station"), t("province"), t("score"),
               ...components.map((c) => lang === "zh" ? c.label.split(" / ")[0] : (c.label.split(" / ")[1] || c.label)),
               t("complete")]);
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const s of data.scorecard.stations) {
    const tr = document.createElement("tr");
    tr.dataset.station = s.station;
    cell(tr, s.rank ?? "—", "num");
    cell(tr, s.station);
    cell(tr, s.province || "—");
    cell(tr, s.score ?? "—", "num score");
    for (const c of s.components) cell(tr, c.score === null ? "—" : `${c.score} (${c.numerator}/${c.denominator})`, "num");
    cell(tr, s.complete ? t("yes") : t("no"));
    body.appendChild(tr);
  }
  const ranked = data.scorecard.stations.filter((s) => s.score !== null);
  chart("score-chart").setOption({
    tooltip: {}, grid: { left: 90, right: 30 },
    xAxis: { type: "value", min: 0, max: 100 },
    yAxis: { type: "category", inverse: true, data: ranked.map((s) => s.station) },
    series: [{ type: "bar", name: t("score"), data: ranked.map((s) => Number(s.score)), label: { show: true, position: "right" } }],
  }, true);
}

function renderExceptions() {
  const table = $("exceptions");
  head(table, [t("ticket"), t("what")]);
  const body = table.tBodies[0];
  body.replaceChildren();
  const found = new Map();
  for (const k of data.indicators.indicators) {
    const ids = k.name === "escalation" ? k.overall.numerator_ids : DEADLINE_KPIS[k.name] ? k.overall.missed_ids : [];
    const what = k.name === "escalation" ? t("escalated") : `${DEADLINE_KPIS[k.name]} ${t("breached")}`;
    for (const id of ids || []) found.set(id, [...(found.get(id) || []), what]);
  }
  for (const [id, whats] of [...found.entries()].sort()) {
    const tr = document.createElement("tr");
    tr.dataset.ticket = id;
    ticketLink(tr, id);
    cell(tr, whats.join(", "));
    body.appendChild(tr);
  }
}

function renderRulings() {
  const table = $("rulings");
  head(table, [t("ticket"), t("unit"), t("province"), t("state"), t("issued"), `${t("due")} ${t("tz")}`]);
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const r of data.rulings.items) {
    const tr = document.createElement("tr");
    tr.dataset.ticket = r.ticket_id;
    ticketLink(tr, r.ticket_id);
    cell(tr, r.station);
    cell(tr, r.province || "—");
    cell(tr, t("states")[r.state] || r.state);
    cell(tr, cst(r.issued_at));
    cell(tr, cst(r.arbitration_due_at || r.unit_due_at), "due");
    body.appendChild(tr);
  }
}

function chart(id) {
  if (!charts[id]) charts[id] = echarts.init($(id));
  return charts[id];
}

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  $("lang").textContent = t("lang");
  document.title = `${t("title")} - ParcelCare`;
  if (data) render();
}

function render() {
  renderKpis();
  renderTrend();
  renderScores();
  renderExceptions();
  renderRulings();
}

async function load(event) {
  if (event) event.preventDefault();
  if (!$("credential").value.trim()) {
    $("status").textContent = t("needCredential");
    return;
  }
  sessionStorage.setItem("parcelcare.credential", $("credential").value.trim());
  const month = $("period").value;
  $("status").textContent = t("loading");
  document.body.dataset.state = "loading";
  try {
    const [indicators, scorecard, rulings, ...weeks] = await Promise.all([
      api(`/v1/quality/indicators?period=${month}&ids=true`),
      api(`/v1/quality/scorecard?period=${month}`),
      api("/v1/rulings?state=open&limit=500"),
      ...weeksOf(month).map((w) => api(`/v1/quality/indicators?period=${w}`).then((r) => ({ period: w, indicators: r.indicators }))),
    ]);
    data = { indicators, scorecard, rulings, weeks };
    render();
    $("status").textContent = `${t("loaded")}: ${month}`;
    document.body.dataset.state = "loaded";
  } catch (err) {
    $("status").textContent = `${t("failed")}: ${err.message}`;
    document.body.dataset.state = "failed";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const now = new Date(Date.now() + 8 * 3600 * 1000);
  const params = new URLSearchParams(location.search);
  $("period").value = params.get("period") || `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
  $("credential").value = sessionStorage.getItem("parcelcare.credential") || "";
  $("controls").addEventListener("submit", load);
  $("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("parcelcare.lang", lang);
    applyLanguage();
  });
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  applyLanguage();
  if ($("credential").value) load();
});
