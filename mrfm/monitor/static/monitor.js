// mrfm monitor page: polls /state.json and swaps the server-rendered figures when the
// scan file changed. Every text from the file is inserted with textContent (never as HTML).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const LABELS = {
    running: "running", complete: "complete", fault: "stopped by a fault",
    interrupted: "interrupted", unknown: "unknown status",
  };
  let version = -1;
  let channel = null;
  let shownChannel = null;
  let pollMs = 1000;

  function setText(id, text) {
    const el = $(id);
    if (el.textContent !== text) el.textContent = text;
  }

  function duration(s) {
    if (s === null || s === undefined || !isFinite(s)) return "-";
    s = Math.max(0, s);
    if (s < 60) return s.toFixed(1) + " s";
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
    const mm = String(m).padStart(2, "0"), ss = String(sec).padStart(2, "0");
    return h > 0 ? h + ":" + mm + ":" + ss : m + ":" + ss;
  }

  function perPoint(s) {
    if (s === null || s === undefined) return "-";
    return s < 1 ? (1000 * s).toPrecision(3) + " ms" : s.toPrecision(3) + " s";
  }

  function swapImage(id, url) {
    const next = new Image();
    next.onload = () => { $(id).src = url; };
    next.src = url;
  }

  function row(cells) {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.appendChild(td);
    }
    return tr;
  }

  function fillRows(tbody, rows, emptyText, ncols) {
    const parts = rows.length ? rows.map(row) : [emptyRow(emptyText, ncols)];
    tbody.replaceChildren(...parts);
  }

  function emptyRow(text, ncols) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = ncols;
    td.className = "empty";
    td.textContent = text;
    tr.appendChild(td);
    return tr;
  }

  function updateState(s) {
    const stale = s.state === "running" && s.stale_s !== null;
    const badge = $("state");
    badge.className = "state state-" + (stale ? "stale" : s.state);
    setText("state", stale ? "running? (no new data)" : (LABELS[s.state] || s.state));
    const msg = $("message");
    let text = "", note = false;
    if (s.state === "fault") {
      text = "Fault: " + s.message;
    } else if (s.state === "interrupted") {
      text = "The scan was interrupted (its data are kept; 'mrfm scan ... --resume' continues it)."
        + (s.message ? "\n" + s.message : "");
      note = true;
    } else if (stale) {
      text = "No new data for " + duration(s.stale_s) + " while the file says 'running': "
        + "the scan may be waiting (temperature, field) or its process may have been killed.";
      note = true;
    } else if (s.state === "unknown") {
      text = "Status recorded in the file: " + s.status;
      note = true;
    } else if (s.message) {
      text = s.message;
      note = true;
    }
    msg.hidden = text === "";
    msg.className = note ? "message note" : "message";
    setText("message", text);
  }

  function updateProgress(s) {
    const p = s.progress;
    const pct = p.fraction === null ? 0 : 100 * p.fraction;
    $("bar-fill").style.width = pct.toFixed(2) + "%";
    $("bar-fill").className = "fill-" + s.state;
    setText("points", p.done + " / " + p.total + " (" + pct.toFixed(1) + " %)");
    setText("elapsed", duration(p.elapsed_s));
    setText("rate", perPoint(p.s_per_point));
    setText("eta", s.state === "running" ? duration(p.eta_s) : "-");
    if (p.last_point_s === null) {
      setText("updated", "-");
    } else {
      const t = new Date(1000 * (s.t0_unix + p.last_point_s));
      setText("updated", t.toLocaleTimeString() + " (" + duration(Date.now() / 1000 - t / 1000)
        + " ago)");
    }
    document.title = pct.toFixed(0) + "% " + (LABELS[s.state] || s.state) + " - " + s.file;
  }

  function updateChannels(s) {
    const select = $("channel");
    const names = s.channels.map((c) => c.name);
    if (select.options.length !== names.length) {
      select.replaceChildren(...s.channels.map((c) => {
        const o = document.createElement("option");
        o.value = c.name;
        o.textContent = c.name + (c.unit ? " (" + c.unit + ")" : "");
        return o;
      }));
      channel = names.includes(s.signal) ? s.signal : names[0];
      select.value = channel;
    }
    fillRows($("readings").tBodies[0], s.channels.map((c) => [c.long_name, c.value]),
      "no channel", 2);
  }

  function updateFile(s) {
    setText("title", s.title);
    setText("file", s.file + (s.created ? " - created " + s.created : ""));
    const info = Object.entries(s.info).map(([k, v]) => [k.replace(/_/g, " "), v]);
    info.push(["sessions", String(s.sessions)]);
    fillRows($("info").tBodies[0], info, "", 2);
    updateSettings(s.settings);
    const items = s.identities.map((line) => {
      const li = document.createElement("li");
      li.textContent = line;
      return li;
    });
    $("identities").replaceChildren(...items);
    setText("config", s.config);
  }

  function updateSettings(settings) {
    const groups = new Map();
    for (const x of settings) {
      if (x.name === "idn") continue; // listed under "Instruments"
      if (!groups.has(x.instrument)) groups.set(x.instrument, []);
      groups.get(x.instrument).push([x.name, x.value + (x.unit ? " " + x.unit : "")]);
    }
    const blocks = [];
    for (const [name, rows] of groups) {
      const div = document.createElement("div");
      div.className = "inst";
      const h = document.createElement("h3");
      h.textContent = name;
      const table = document.createElement("table");
      const tbody = document.createElement("tbody");
      fillRows(tbody, rows, "", 2);
      table.appendChild(tbody);
      div.append(h, table);
      blocks.push(div);
    }
    if (!blocks.length) {
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = "no settings recorded in this file";
      blocks.push(p);
    }
    $("settings").replaceChildren(...blocks);
  }

  function updateFigures(s) {
    if (!channel) return;
    const q = "?channel=" + encodeURIComponent(channel) + "&v=" + s.version;
    swapImage("map", "/map.png" + q);
    swapImage("line", "/line.png" + q);
    swapImage("channels", "/channels.png?v=" + s.version);
    shownChannel = channel;
  }

  let last = null;
  function update(s) {
    last = s;
    pollMs = s.poll_ms || pollMs;
    updateState(s);
    updateProgress(s);
    updateChannels(s);
    if (s.version !== version) {
      updateFile(s);
      updateFigures(s);
      version = s.version;
    }
    setText("conn", s.read_error ? "(file busy; retrying)" : "");
  }

  $("channel").addEventListener("change", (e) => {
    channel = e.target.value;
    if (last && channel !== shownChannel) updateFigures(last);
  });

  async function poll() {
    try {
      const r = await fetch("/state.json", { cache: "no-store" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      update(await r.json());
    } catch (e) {
      setText("conn", "monitor not reachable; retrying");
    }
    setTimeout(poll, pollMs);
  }
  poll();
})();
