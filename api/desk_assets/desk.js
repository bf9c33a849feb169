// The agent's desk (issue 14): vanilla JavaScript, no framework, nothing from a CDN.
// The credential (an API key or an access token) is asked once and kept in this tab's sessionStorage; every
// call is one of the API's JSON routes with `Authorization: Bearer`. Times are shown in Asia/Shanghai (+08:00).
"use strict";

const KEY = "parcelcare.credential";
const LANG = "parcelcare.lang";
const TZ = "Asia/Shanghai";

const WORDS = {
  zh: {
    title: "工作台", login: "登录", loginHelp: "请输入您的 API 密钥或访问令牌(仅保存在本浏览器标签页中)。",
    credential: "API 密钥 / 访问令牌", signIn: "登录", signOut: "退出", mine: "我的队列", team: "团队队列",
    search: "查找工单", waybill: "运单号", phone: "电话", find: "查找", results: "查找结果", none: "没有工单",
    ticket: "工单", kind: "类型", status: "状态", station: "网点", owner: "处理人", deadline: "最近时限",
    left: "剩余时间", overdue: "已超时", breached: "已违约", take: "接手", handOver: "转交", to: "转交给(如 user:agent-7)",
    notes: "内部备注", addNote: "添加备注", noteHelp: "仅供同事查看,不会发送给任何人", parties: "当事人",
    customer: "来电人", sender: "寄件人", recipient: "收件人", stations: "网点", origin: "始发网点",
    delivery: "派送网点", responsible: "责任网点", deadlines: "时限", rule: "规则", due: "到期", state: "状态",
    steps: "处理记录", answers: "待处理的答复", noAnswers: "此工单当前不等待坐席的答复。", send: "提交",
    callback: "回访结果", outcome: "结果", resolved: "已解决", disputed: "客户有异议", unreachable: "联系不上",
    compensation: "需要赔偿(延误)", note: "说明", contact: "客户来电/联系", offer: "重发方案答复",
    accepted: "客户接受", refused: "客户拒绝", sender_decision: "寄件人决定", agreed: "寄件人同意",
    disagreed: "寄件人不同意", sent: "已提交", closedAs: "已关闭,结果:", running: "进行中", met: "已达成",
    superseded: "已失效", paused: "已暂停", outbox: "网点待办", dispatched: "派单时间", answerDue: "答复时限",
    description: "描述", round: "轮次", waybillOrPhone: "运单号或电话", nobody: "未分配", back: "返回工作台",
    error: "出错了", unknown: "未知", address: "地址", name: "姓名", mainQueue: "工单队列", opened: "开单时间",
    nodue: "无", live: "(实时)",
  },
  en: {
    title: "Desk", login: "Sign in", loginHelp: "Give your API key or access token (kept in this browser tab only).",
    credential: "API key / access token", signIn: "Sign in", signOut: "Sign out", mine: "My queue",
    team: "Team queue", search: "Find a ticket", waybill: "Waybill", phone: "Phone", find: "Find",
    results: "Results", none: "No tickets", ticket: "Ticket", kind: "Kind", status: "Status", station: "Station",
    owner: "Owner", deadline: "Next deadline", left: "Time left", overdue: "overdue", breached: "breached",
    take: "Take", handOver: "Hand over", to: "to (e.g. user:agent-7)", notes: "Internal notes", addNote: "Add note",
    noteHelp: "for colleagues only, never sent to anyone", parties: "Parties", customer: "Caller",
    sender: "Sender", recipient: "Recipient", stations: "Stations", origin: "Origin station",
    delivery: "Delivery station", responsible: "Responsible station", deadlines: "Deadlines", rule: "Rule",
    due: "Due", state: "State", steps: "Timeline", answers: "Answers the ticket waits for",
    noAnswers: "The ticket is not waiting for an agent's answer now.", send: "Send", callback: "Callback",
    outcome: "Outcome", resolved: "resolved", disputed: "disputed", unreachable: "unreachable",
    compensation: "compensation needed (delay)", note: "Note", contact: "Customer contact",
    offer: "Re-shipment offer answer", accepted: "accepted", refused: "refused", sender_decision: "Sender decision",
    agreed: "agreed", disagreed: "refused", sent: "Sent", closedAs: "Closed as:", running: "running",
    met: "met", superseded: "superseded", paused: "paused", outbox: "Station outbox", dispatched: "Dispatched",
    answerDue: "Answer due", description: "Description", round: "Round", waybillOrPhone: "waybill or phone",
    nobody: "nobody", back: "Back to the desk", error: "Error", unknown: "unknown", address: "Address",
    name: "Name", mainQueue: "Queues", opened: "Opened", nodue: "none", live: "(live)",
  },
};

const STATUS = {
  zh: {
    open: "待派单", awaiting_review: "待审核(紧急)", awaiting_station: "待网点反馈", awaiting_callback: "待回访",
    awaiting_customer: "待客户联系", awaiting_claim_details: "待补充理赔资料", awaiting_offer_answer: "待答复重发方案",
    awaiting_sender: "待寄件人决定", awaiting_penalty: "待处罚决定", awaiting_claim: "待理赔决定", closed: "已关闭",
  },
};
const KINDS = {
  zh: {
    inquiry: "查件", delay: "延误", loss: "遗失", damage: "破损", shortage: "短少", service: "服务投诉",
    pickup: "揽收", change: "改址/退回", consult: "咨询",
  },
};

// The API's 409 reasons, in plain Chinese; anything else is shown as the API wrote it.
const REASONS = [
  [/the ticket is closed/, "工单已关闭,不能再做此操作。"],
  [/waiting for a (.+), not a (.+)$/, (m) => `工单正在等待「${m[1]}」,不是「${m[2]}」。`],
  [/is (\w+) and not waiting for a (.+)$/, (m) => `工单状态为 ${m[1]},不在等待「${m[2]}」。`],
  [/is already being handled/, "同样的答复正在处理中。"],
  [/already with (.+)$/, (m) => `工单已在 ${m[1]} 名下。`],
  [/it is with (\S+): only they or a team lead/, (m) => `工单在 ${m[1]} 名下:只有本人或组长可以转交。`],
  [/it is with station (\S+), not (\S+)/, (m) => `工单属于网点 ${m[1]},不是 ${m[2]}。`],
];

let lang = pickLang();

function pickLang() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked === "en" || asked === "zh") {
    sessionStorage.setItem(LANG, asked);
    return asked;
  }
  return sessionStorage.getItem(LANG) || "zh";
}

function t(word) {
  return WORDS[lang][word] ?? WORDS.en[word] ?? word;
}

function statusWord(s) {
  return (STATUS[lang] || {})[s] || s;
}

function kindWord(k) {
  return (KINDS[lang] || {})[k] || k;
}

// --- elements --------------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function app() {
  return document.getElementById("app");
}

// --- time, +08:00 ----------------------------------------------------------------------------------

const FORMAT = new Intl.DateTimeFormat("sv-SE", {
  timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  hour12: false,
});

function when(iso) {
  if (!iso) return "";
  return `${FORMAT.format(new Date(iso))} +08:00`;
}

function span(ms) {
  const minutes = Math.floor(Math.abs(ms) / 60000);
  const d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
  if (lang === "zh") return `${d ? d + "天" : ""}${h ? h + "小时" : ""}${m}分`;
  return `${d ? d + "d " : ""}${h ? h + "h " : ""}${m}m`;
}

// The earliest promise still owed, as the record's list sorts (TicketState.owed_due_at).
function owed(ticket) {
  if (ticket.status === "closed") return null;
  const due = (ticket.deadlines || [])
    .filter((d) => !d.met_at && !d.answered_late_at && !d.superseded_at && !(d.pauses?.length && !d.pauses.at(-1).resumed_at))
    .map((d) => d.due_at).sort();
  return due.length ? due[0] : null;
}

function timeLeft(iso) {
  if (!iso) return el("span", { class: "muted" }, t("nodue"));
  const ms = new Date(iso) - Date.now();
  if (ms < 0) return el("span", { class: "overdue" }, `${t("overdue")} ${span(ms)}`);
  return el("span", {}, span(ms));
}

// --- the API -----------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, messages) {
    super(messages.join("; "));
    this.status = status;
    this.messages = messages;
  }
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY)}`, Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET", headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const body = await response.json().catch(() => null);
  if (response.status === 401) {
    sessionStorage.removeItem(KEY);
    login(plain(body) || []);
    throw new ApiError(401, plain(body));
  }
  if (!response.ok) throw new ApiError(response.status, plain(body));
  return body;
}

function plain(body) {
  const items = body && Array.isArray(body.detail) ? body.detail : [];
  return items.map((item) => {
    const msg = String(item.msg || "").replace(/^ticket [A-Za-z0-9_-]+: /, "");
    if (lang !== "zh") return msg;
    for (const [pattern, words] of REASONS) {
      const m = msg.match(pattern);
      if (m) return typeof words === "function" ? words(m) : words;
    }
    return msg;
  });
}

function problem(error) {
  const messages = error instanceof ApiError ? error.messages : [String(error)];
  return el("div", { class: "problem", role: "alert" }, `${t("error")}: `, messages.join(" "));
}

// --- sign-in and the frame ---------------------------------------------------------------------------

function login(messages = []) {
  const input = el("input", { type: "password", id: "credential", name: "credential", autocomplete: "off",
                               required: true, size: 60 });
  const form = el("form", { id: "login", onsubmit: (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, input.value.trim());
    location.reload();
  } }, el("h1", {}, t("login")), el("p", {}, t("loginHelp")),
  el("label", {}, t("credential"), " ", input), " ", el("button", { type: "submit" }, t("signIn")),
  messages.length ? el("div", { class: "problem" }, messages.join(" ")) : null);
  app().replaceChildren(form);
}

function frame() {
  const other = lang === "zh" ? "en" : "zh";
  const toggle = el("a", { href: "#", id: "lang-toggle", onclick: (e) => {
    e.preventDefault();
    sessionStorage.setItem(LANG, other);
    const url = new URL(location.href);
    url.searchParams.set("lang", other);
    location.href = url.toString();
  } }, other === "en" ? "English" : "中文");
  const out = sessionStorage.getItem(KEY) ? el("a", { href: "#", id: "sign-out", onclick: (e) => {
    e.preventDefault();
    sessionStorage.removeItem(KEY);
    location.reload();
  } }, t("signOut")) : null;
  document.getElementById("lang").replaceChildren(toggle, " ", out || "");
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = `ParcelCare ${t("title")}`;
}

// --- the queue ---------------------------------------------------------------------------------------

function ticketTable(items, id) {
  if (!items.length) return el("p", { class: "muted", id }, t("none"));
  const rows = items.map((ticket) => {
    const due = owed(ticket);
    const late = due && new Date(due) < Date.now();
    return el("tr", { class: late ? "late" : null, "data-ticket": ticket.ticket_id },
      el("td", {}, el("a", { href: `/desk/tickets/${encodeURIComponent(ticket.ticket_id)}` }, ticket.ticket_id)),
      el("td", {}, kindWord(ticket.kind)), el("td", {}, statusWord(ticket.status)), el("td", {}, ticket.waybill || ""),
      el("td", {}, ticket.station), el("td", {}, ticket.owner || el("span", { class: "muted" }, t("nobody"))),
      el("td", {}, when(due)), el("td", {}, timeLeft(due)),
      el("td", {}, (ticket.deadlines || []).some((d) => d.breached_at) ? el("span", { class: "badge" }, t("breached")) : ""));
  });
  return el("table", { id },
    el("thead", {}, el("tr", {}, ...["ticket", "kind", "status", "waybill", "station", "owner", "deadline", "left", "breached"]
      .map((w) => el("th", {}, t(w))))),
    el("tbody", {}, rows));
}

async function queue() {
  const waybill = el("input", { id: "find-waybill", name: "waybill", placeholder: t("waybill"), size: 16 });
  const phone = el("input", { id: "find-phone", name: "phone", placeholder: t("phone"), size: 16 });
  const results = el("section", { id: "results" });
  const form = el("form", { id: "find", onsubmit: async (e) => {
    e.preventDefault();
    const params = new URLSearchParams({ sort: "deadline", limit: "50" });
    if (waybill.value.trim()) params.set("waybill", waybill.value.trim());
    if (phone.value.trim()) params.set("phone", phone.value.trim());
    results.replaceChildren(el("h2", {}, t("results")));
    try {
      const page = await api(`/v1/tickets?${params}`);
      results.append(ticketTable(page.items, "found"));
    } catch (error) {
      results.append(problem(error));
    }
  } }, el("h2", {}, t("search")), waybill, " ", phone, " ", el("button", { type: "submit" }, t("find")));
  const mine = el("section", { id: "mine" }, el("h2", {}, t("mine")));
  const team = el("section", { id: "team" }, el("h2", {}, t("team")));
  app().replaceChildren(el("h1", {}, t("mainQueue")), form, results, mine, team);
  const load = async (section, params, id) => {
    try {
      const page = await api(`/v1/tickets?${new URLSearchParams(params)}`);
      section.append(ticketTable(page.items, id));
    } catch (error) {
      section.append(problem(error));
    }
  };
  await Promise.all([
    load(mine, { owner: "me", closed: "false", sort: "deadline", limit: "100" }, "mine-table"),
    load(team, { closed: "false", sort: "deadline", limit: "200" }, "team-table"),
  ]);
}

// --- one ticket --------------------------------------------------------------------------------------

function deadlineState(d) {
  // Breached first: a breach stays one, however late the answer came (records before the fix hold both).
  if (d.breached_at) return t("breached");
  if (d.met_at) return t("met");
  if (d.superseded_at) return t("superseded");
  if (d.pauses?.length && !d.pauses.at(-1).resumed_at) return t("paused");
  return new Date(d.due_at) < Date.now() ? t("overdue") : t("running");
}

function party(label, p) {
  if (!p || (!p.name && !p.phone && !p.address)) return null;  // a party nobody told us about
  const address = p.address ? [p.address.province, p.address.city, p.address.district, p.address.detail]
    .filter(Boolean).join(" ") : "";
  return el("tr", {}, el("th", {}, label), el("td", {}, p.name || ""), el("td", { class: "phone" }, p.phone || ""),
    el("td", {}, address));
}

// The answers an agent gives, by the status that waits for them (domain/flow.py AWAITS), each form sending
// the same call a client would.
const FORMS = {
  awaiting_callback: ["callbacks"],
  awaiting_customer: ["callbacks", "customer-contacts"],
  awaiting_offer_answer: ["offer-answers"],
  awaiting_sender: ["sender-decisions"],
};

function answerForm(ticket, route, after) {
  const note = el("input", { name: "note", size: 40 });
  let fields, body, title;
  if (route === "callbacks") {
    const outcome = el("select", { name: "outcome" },
      ...["resolved", "disputed", "unreachable"].map((o) => el("option", { value: o }, t(o))));
    const compensation = el("input", { type: "checkbox", name: "compensation_needed" });
    title = t("callback");
    fields = [el("label", {}, t("outcome"), " ", outcome),
      ticket.kind === "delay" ? el("label", {}, compensation, " ", t("compensation")) : null];
    body = () => ({ outcome: outcome.value, note: note.value,
                    ...(ticket.kind === "delay" ? { compensation_needed: compensation.checked } : {}) });
  } else if (route === "customer-contacts") {
    title = t("contact");
    fields = [];
    body = () => ({ note: note.value });
  } else {
    const yes = route === "offer-answers" ? "accepted" : "agreed";
    const choice = el("select", { name: yes },
      el("option", { value: "true" }, t(yes)),
      el("option", { value: "false" }, t(route === "offer-answers" ? "refused" : "disagreed")));
    title = route === "offer-answers" ? t("offer") : t("sender_decision");
    fields = [choice];
    body = () => ({ [yes]: choice.value === "true", note: note.value });
  }
  const said = el("div", { class: "said" });
  return el("form", { class: "answer", "data-route": route, onsubmit: async (e) => {
    e.preventDefault();
    said.replaceChildren();
    try {
      await api(`/v1/tickets/${encodeURIComponent(ticket.ticket_id)}/${route}`, { method: "POST", body: body() });
      said.replaceChildren(el("span", { class: "ok" }, t("sent")));
      after();
    } catch (error) {
      said.replaceChildren(problem(error));
    }
  } }, el("h3", {}, title), ...fields, el("label", {}, t("note"), " ", note), " ",
  el("button", { type: "submit" }, t("send")), said);
}

async function ticketPage(id) {
  let ticket;
  try {
    ticket = await api(`/v1/tickets/${encodeURIComponent(id)}`);
  } catch (error) {
    app().replaceChildren(el("p", {}, el("a", { href: "/desk" }, t("back"))), problem(error));
    return;
  }
  // After an answer, the workflow moves the ticket on in a moment: read it again until its status or its
  // steps change (at most ~15 s), then show it as it is now.
  const reload = async () => {
    for (let i = 0; i < 30; i++) {
      await new Promise((done) => setTimeout(done, 500));
      try {
        const now = await api(`/v1/tickets/${encodeURIComponent(id)}`);
        if (now.status !== ticket.status || now.steps.length !== ticket.steps.length || now.owner !== ticket.owner) break;
      } catch (error) {
        break;
      }
    }
    ticketPage(id);
  };
  const due = owed(ticket);
  const said = el("div", { id: "desk-said" });
  const act = async (path, body) => {
    said.replaceChildren();
    try {
      await api(`/v1/tickets/${encodeURIComponent(id)}/${path}`, { method: "POST", body });
      reload();
    } catch (error) {
      said.replaceChildren(problem(error));
    }
  };
  const to = el("input", { name: "to", id: "hand-over-to", placeholder: t("to"), size: 24 });
  const noteText = el("textarea", { name: "text", id: "note-text", rows: 2, cols: 60 });
  const forms = (FORMS[ticket.status] || []).map((route) => answerForm(ticket, route, reload));
  app().replaceChildren(
    el("p", {}, el("a", { href: "/desk" }, t("back"))),
    el("h1", {}, `${t("ticket")} ${ticket.ticket_id}`),
    el("dl", { class: "facts" },
      el("dt", {}, t("kind")), el("dd", {}, kindWord(ticket.kind)),
      el("dt", {}, t("status")), el("dd", { id: "ticket-status", "data-status": ticket.status },
        statusWord(ticket.status), ticket.resolution ? ` — ${t("closedAs")} ${ticket.resolution}` : ""),
      el("dt", {}, t("waybill")), el("dd", {}, ticket.waybill || ""),
      el("dt", {}, t("owner")), el("dd", { id: "ticket-owner" }, ticket.owner || t("nobody")),
      el("dt", {}, t("opened")), el("dd", {}, when(ticket.opened_at)),
      el("dt", {}, t("deadline")), el("dd", {}, when(due), " ", timeLeft(due)),
      el("dt", {}, t("description")), el("dd", {}, ticket.description)),
    ticket.status === "closed" ? null : el("div", { class: "actions" },
      el("button", { id: "take", type: "button", onclick: () => act("take") }, t("take")), " ", to, " ",
      el("button", { id: "hand-over", type: "button", onclick: () => act("hand-over", { to: to.value.trim() }) },
        t("handOver")), said),
    el("section", { id: "answers" }, el("h2", {}, t("answers")),
      forms.length ? forms : el("p", { class: "muted" }, ticket.status === "closed"
        ? `${statusWord("closed")} — ${t("closedAs")} ${ticket.resolution || ""}` : t("noAnswers"))),
    el("section", { id: "parties" }, el("h2", {}, t("parties")), el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", {}, t("name")), el("th", {}, t("phone")),
        el("th", {}, t("address")))),
      el("tbody", {}, party(`${t("customer")} (${t(ticket.customer.role)})`, ticket.customer),
        party(t("sender"), ticket.sender), party(t("recipient"), ticket.recipient)))),
    el("section", { id: "stations" }, el("h2", {}, t("stations")), el("dl", { class: "facts" },
      el("dt", {}, t("responsible")), el("dd", {}, el("a", { href: `/stations/${encodeURIComponent(ticket.station)}` }, ticket.station)),
      el("dt", {}, t("origin")), el("dd", {}, ticket.origin_station || ""),
      el("dt", {}, t("delivery")), el("dd", {}, ticket.delivery_station || ""))),
    el("section", { id: "deadlines" }, el("h2", {}, t("deadlines")), el("table", {},
      el("thead", {}, el("tr", {}, ...["rule", "kind", "round", "due", "state", "left"].map((w) => el("th", {}, t(w))))),
      el("tbody", {}, (ticket.deadlines || []).map((d) => el("tr", {},
        el("td", {}, d.rule), el("td", {}, d.kind), el("td", {}, d.round), el("td", {}, when(d.due_at)),
        el("td", { class: `state-${deadlineState(d)}` }, deadlineState(d)),
        el("td", {}, d.met_at || d.superseded_at || d.breached_at ? "" : timeLeft(d.due_at))))))),
    el("section", { id: "notes" }, el("h2", {}, t("notes")),
      el("ul", {}, (ticket.notes || []).map((n) => el("li", {}, `${when(n.at)} ${n.actor}: `, n.text))),
      ticket.status === "closed" ? null : el("form", { id: "note-form", onsubmit: (e) => {
        e.preventDefault();
        act("notes", { text: noteText.value });
      } }, noteText, el("br"), el("button", { type: "submit" }, t("addNote")), " ",
      el("span", { class: "muted" }, t("noteHelp")))),
    el("section", { id: "timeline" }, el("h2", {}, t("steps")), el("ol", {},
      (ticket.steps || []).map((s) => el("li", { "data-action": s.action },
        el("time", {}, when(s.at)), " ", el("strong", {}, s.action), s.note ? ` — ${s.note}` : "",
        s.data?.actor ? el("span", { class: "muted" }, ` (${s.data.actor})`) : "",
        s.action === "note_added" && s.data?.text ? el("div", { class: "note" }, s.data.text) : "")))),
  );
}

// --- a station's outbox ------------------------------------------------------------------------------

async function stationPage(code) {
  app().replaceChildren(el("h1", {}, `${t("outbox")} ${code}`));
  try {
    const page = await api(`/v1/stations/${encodeURIComponent(code)}/dispatches?pending=true&limit=500`);
    const items = page.items.filter((d) => d.due_at);  // live ones: still owed an answer, with a deadline
    items.sort((a, b) => (a.priority === b.priority ? a.due_at.localeCompare(b.due_at) : a.priority ? -1 : 1));
    app().append(items.length ? el("table", { id: "outbox" },
      el("thead", {}, el("tr", {}, ...["ticket", "kind", "waybill", "round", "dispatched", "answerDue", "deadline", "left"]
        .map((w) => el("th", {}, t(w))))),
      el("tbody", {}, items.map((d) => el("tr", { class: new Date(d.due_at) < Date.now() ? "late" : null,
                                                  "data-ticket": d.ticket_id },
        el("td", {}, d.ticket_id), el("td", {}, kindWord(d.kind)), el("td", {}, d.waybill || ""),
        el("td", {}, d.round), el("td", {}, when(d.dispatched_at)), el("td", {}, when(d.answer_due_at)),
        el("td", {}, when(d.due_at)), el("td", {}, timeLeft(d.due_at))))))
      : el("p", { class: "muted", id: "outbox" }, t("none")));
  } catch (error) {
    app().append(problem(error));
  }
}

// --- start -------------------------------------------------------------------------------------------

function start() {
  frame();
  if (!sessionStorage.getItem(KEY)) {
    login();
    return;
  }
  const page = document.body.dataset.page;
  const id = document.body.dataset.id;
  if (page === "ticket") ticketPage(id);
  else if (page === "station") stationPage(id);
  else queue();
}

document.addEventListener("DOMContentLoaded", start);
