// gobento dashboard. Every string from the server is written with
// textContent or setAttribute, never parsed as HTML.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const W = 300, H = 50, PADL = 34, PADB = 11;
  const state = { epoch: 0, seq: 0, points: 900, window: 10, t: [], groups: new Map(), rows: new Map() };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function sv(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  // fmt formats v in unit: "s" (shown as ms below 1 s), "bytes", "ratio"
  // (shown as %), "cores" or a plain count.
  function fmt(v, unit) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    switch (unit) {
      case "s": return v < 1 ? (v * 1000).toPrecision(3) + " ms" : v.toPrecision(3) + " s";
      case "bytes": return (v / 1048576).toFixed(1) + " MiB";
      case "ratio": return (v * 100).toFixed(v < 0.1 ? 2 : 1) + " %";
      case "ms/s": return (v * 1000).toPrecision(3) + " ms/s";
      default:
        if (Math.abs(v) >= 1000) return v.toFixed(0);
        return Number(v.toPrecision(3)).toString();
    }
  }
  function axisFmt(v, unit) {
    if (unit === "s") return v < 1 ? +(v * 1000).toPrecision(2) + "ms" : +v.toPrecision(2) + "s";
    if (unit === "bytes") return +(v / 1048576).toPrecision(3) + "Mi";
    if (unit === "ratio") return +(v * 100).toPrecision(2) + "%";
    if (unit === "ms/s") return +(v * 1000).toPrecision(2);
    return +v.toPrecision(2) + "";
  }
  function niceMax(m) {
    if (!(m > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(m)));
    for (const f of [1, 2, 2.5, 5, 10]) if (m <= f * p) return f * p;
    return 10 * p;
  }

  // Chart is one small line chart over the last 15 minutes, or a bar chart
  // of a distribution.
  class Chart {
    constructor(parent, title, unit, series, opts) {
      this.unit = unit; this.series = series; this.opts = opts || {};
      const box = el("div", "chart");
      // one line: the title with its unit, then the legend with current values
      const head = el("div", "title");
      const name = el("span", "name", title);
      const u = this.opts.unitLabel || unitLabel(unit);
      if (u) name.append(" ", el("span", "unit", "(" + u + ")"));
      this.svg = sv("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" });
      this.svg.setAttribute("aria-label", title);
      this.legend = el("span", "legend");
      this.vals = series.map((s, i) => {
        const k = el("span", "key c" + (s.color !== undefined ? s.color : i), s.label);
        const v = el("span", "v", "–");
        v.dataset.line = s.line;
        k.append(" ", v);
        this.legend.append(k);
        return v;
      });
      head.append(name, this.legend);
      box.append(head, this.svg);
      parent.append(box);
    }
    draw(g) {
      while (this.svg.firstChild) this.svg.firstChild.remove();
      if (this.opts.bars) return this.drawBars(g);
      const t = state.t, n = t.length;
      const now = n ? t[n - 1] : Date.now();
      // the x axis spans the data kept, at least a minute, at most 15 minutes
      const span = Math.min(state.points * state.interval * 1000, Math.max(60000, n ? now - t[0] : 0));
      let max = 0;
      const data = this.series.map((s) => (g && g.lines[s.line]) || []);
      for (const d of data) for (const v of d) if (v !== null && v > max) max = v;
      if (this.unit === "ratio" && max > 0) max = Math.min(1, max);
      max = niceMax(max);
      const x = (ms) => PADL + (W - PADL) * (1 - (now - ms) / span);
      const y = (v) => (H - PADB) * (1 - v / max);
      for (const f of [0, 0.5, 1]) {
        const yy = y(max * f) + (f === 1 ? 1 : 0);
        this.svg.append(sv("line", { class: "gridline", x1: PADL, x2: W, y1: yy, y2: yy }));
        const lab = sv("text", { x: PADL - 2, y: Math.min(H - PADB, yy + 3 + (f === 1 ? 5 : 0)), "text-anchor": "end" });
        lab.textContent = axisFmt(max * f, this.unit);
        this.svg.append(lab);
      }
      for (const f of [1, 2 / 3, 1 / 3, 0]) {
        const ago = span * f;
        const lab = sv("text", { x: x(now - ago), y: H - 1, "text-anchor": f === 0 ? "end" : f === 1 ? "start" : "middle" });
        lab.textContent = f === 0 ? "now" : ago >= 120000 ? "−" + Math.round(ago / 60000) + " min" : "−" + Math.round(ago / 1000) + " s";
        this.svg.append(lab);
      }
      data.forEach((d, i) => {
        let path = "", pen = false;
        for (let k = 0; k < d.length && k < n; k++) {
          const v = d[k];
          if (v === null || v === undefined) { pen = false; continue; }
          path += (pen ? "L" : "M") + x(t[k]).toFixed(1) + "," + y(Math.min(v, max)).toFixed(1);
          pen = true;
        }
        const s = this.series[i];
        if (path) this.svg.append(sv("path", { class: "line c" + (s.color !== undefined ? s.color : i), d: path }));
        const cur = lastValue(d);
        this.vals[i].textContent = fmt(cur, this.unit);
        this.vals[i].dataset.value = cur === null ? "" : String(cur);
      });
    }
    drawBars(g) {
      const dist = (g && g.dist) || [];
      let max = 0, total = 0, over1 = 0, prevLe = 0;
      for (const [le, c] of dist) { if (c > max) max = c; total += c; if (le === null || le > 1) over1 += c; }
      max = niceMax(max);
      const n = Math.max(dist.length, 1), bw = (W - PADL) / n;
      for (const f of [0, 1]) {
        const yy = (H - PADB) * (1 - f) + (f === 1 ? 1 : 0);
        this.svg.append(sv("line", { class: "gridline", x1: PADL, x2: W, y1: yy, y2: yy }));
        const lab = sv("text", { x: PADL - 2, y: yy + 3 + (f === 1 ? 5 : 0), "text-anchor": "end" });
        lab.textContent = axisFmt(max * f, "");
        this.svg.append(lab);
      }
      dist.forEach(([le, c], i) => {
        const h = (H - PADB) * (c / max);
        this.svg.append(sv("rect", { class: "bar", x: PADL + i * bw + 1, y: H - PADB - h, width: Math.max(bw - 2, 1), height: h }));
        const lab = sv("text", { x: PADL + i * bw + bw / 2, y: H - 1, "text-anchor": "middle" });
        lab.textContent = le === null ? "+Inf" : (prevLe + 1 >= le ? String(le) : "≤" + le);
        prevLe = le;
        this.svg.append(lab);
      });
      this.vals[0].textContent = total ? fmt(over1 / total, "ratio") : "–";
      this.vals[0].dataset.value = total ? String(over1 / total) : "";
      this.vals[1].textContent = String(total);
      this.vals[1].dataset.value = String(total);
    }
  }
  function unitLabel(u) {
    // seconds and bytes carry their unit in each value (ms, s, MiB)
    return { s: "", bytes: "", ratio: "%", cores: "cores", "ms/s": "ms per s", "": "" }[u] ?? u;
  }
  function lastValue(d) {
    for (let k = d.length - 1; k >= 0; k--) if (d[k] !== null && d[k] !== undefined) return d[k];
    return null;
  }

  // Rows: one per API, runner method, runner and the process.
  function apiRow(parent, g) {
    const name = el("div", "name", g.name);
    name.append(el("small", "", "API"));
    parent.append(name);
    return [
      new Chart(parent, "Requests", "req/s", [{ label: "req/s", line: "rps" }], { unitLabel: "per s" }),
      new Chart(parent, "Errors", "ratio", [{ label: "4xx", line: "err4xx", color: 1 }, { label: "5xx", line: "err5xx", color: 2 }]),
      new Chart(parent, "Latency", "s", [{ label: "p50", line: "p50" }, { label: "p95", line: "p95", color: 1 }, { label: "p99", line: "p99", color: 2 }]),
      new Chart(parent, "In progress", "", [{ label: "requests", line: "inprog", color: 4 }], { unitLabel: "requests" }),
    ];
  }
  function methodRow(parent, g) {
    const name = el("div", "name", g.name + "." + g.method);
    name.append(el("small", "", "runner method"));
    parent.append(name);
    return [
      new Chart(parent, "Batch sizes, last 10 s", "", [{ label: "> 1", line: "batch_gt1" }, { label: "batches", line: "batch_n", color: 3 }], { bars: true, unitLabel: "batches" }),
      new Chart(parent, "Batch size and queue", "", [{ label: "mean batch", line: "batch_size_mean" }, { label: "queued", line: "queued", color: 1 }, { label: "in progress", line: "inprog", color: 4 }], { unitLabel: "items" }),
      new Chart(parent, "Queue wait vs batch", "s", [{ label: "wait p50", line: "qwait_p50" }, { label: "p99", line: "qwait_p99", color: 1 }, { label: "batch p50", line: "batch_p50", color: 3 }, { label: "p99", line: "batch_p99", color: 2 }]),
      new Chart(parent, "Throughput", "", [{ label: "calls", line: "rps" }, { label: "batches", line: "batches_per_s", color: 3 }], { unitLabel: "per s" }),
      new Chart(parent, "Shed, dispatch", "", [{ label: "shed", line: "shed", color: 2 }, { label: "full", line: "dispatch_full" }, { label: "cost", line: "dispatch_cost", color: 3 }, { label: "deadline", line: "dispatch_deadline", color: 1 }, { label: "drain", line: "dispatch_drain", color: 4 }], { unitLabel: "per s" }),
    ];
  }
  function runnerRow(parent, g) {
    const name = el("div", "name", g.name);
    name.append(el("small", "", "runner workers"));
    parent.append(name);
    return [new Chart(parent, "Workers", "", [{ label: "busy", line: "workers_busy", color: 1 }, { label: "total", line: "workers", color: 0 }])];
  }
  function processRow(parent, g) {
    const name = el("div", "name", "process");
    parent.append(name);
    return [
      new Chart(parent, "CPU", "cores", [{ label: "used", line: "cpu" }]),
      new Chart(parent, "Resident memory", "bytes", [{ label: "RSS", line: "rss", color: 3 }]),
      new Chart(parent, "Goroutines", "", [{ label: "now", line: "goroutines", color: 4 }]),
      new Chart(parent, "GC pauses", "ms/s", [{ label: "paused", line: "gc", color: 1 }]),
    ];
  }

  function rowFor(g) {
    const key = g.kind + "\u0000" + g.name + "\u0000" + (g.method || "");
    let row = state.rows.get(key);
    if (row) return row;
    const wrap = el("div", "row");  // display: contents, so its cells join the grid
    wrap.dataset.kind = g.kind;
    wrap.dataset.name = g.name;
    if (g.method) wrap.dataset.method = g.method;
    let charts;
    switch (g.kind) {
      case "api": charts = apiRow(wrap, g); document.getElementById("api-grid").append(wrap); break;
      case "method": charts = methodRow(wrap, g); runnerGrid().append(wrap); break;
      case "runner": charts = runnerRow(wrap, g); runnerGrid().append(wrap); break;
      default: charts = processRow(wrap, g); document.getElementById("process-grid").append(wrap);
    }
    row = { charts };
    state.rows.set(key, row);
    return row;
  }
  function runnerGrid() {
    const g = document.getElementById("runner-grid");
    g.classList.add("runner");
    return g;
  }

  function merge(d) {
    if (d.epoch !== state.epoch) {
      state.epoch = d.epoch; state.t = []; state.groups = new Map();
    }
    state.seq = d.seq; state.points = d.points; state.interval = d.interval_s; state.window = d.window_s;
    const before = state.t.length;
    state.t.push(...d.t);
    const after = state.t.length, drop = Math.max(0, after - state.points);
    for (const g of d.groups) {
      const key = g.kind + "\u0000" + g.name + "\u0000" + (g.method || "");
      let cur = state.groups.get(key);
      if (!cur) { cur = { kind: g.kind, name: g.name, method: g.method, lines: {} }; state.groups.set(key, cur); }
      cur.dist = g.dist || [];
      for (const ln in g.lines) {
        let arr = cur.lines[ln];
        if (!arr) arr = cur.lines[ln] = new Array(before).fill(null);
        arr.push(...g.lines[ln]);
      }
    }
    for (const g of state.groups.values()) {
      for (const ln in g.lines) {
        const arr = g.lines[ln];
        while (arr.length < after) arr.push(null);
        if (drop) arr.splice(0, drop);
      }
    }
    if (drop) state.t.splice(0, drop);
    renderCustom(d);
  }

  function renderCustom(d) {
    const body = document.getElementById("custom-body");
    const rows = [];
    for (const c of d.custom) {
      const tr = el("tr");
      tr.append(el("td", "", c.name));
      const labels = el("td", "labels");
      (c.labels || []).forEach(([k, v], i) => {
        if (i) labels.append(", ");
        labels.append(el("code", "", k + "=" + JSON.stringify(v)));
      });
      tr.append(labels, el("td", "", c.type), el("td", "", fmt(c.value, "")));
      let extra = "";
      if (c.rate !== undefined && c.rate !== null) extra = fmt(c.rate, "") + " /s";
      if (c.q) extra = Object.keys(c.q).sort().map((k) => k + " " + fmt(c.q[k], "")).join(" · ");
      tr.append(el("td", "", extra));
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    const note = [];
    if (!d.custom.length) note.push("No custom metrics.");
    if (d.custom_omitted) note.push(d.custom_omitted + " more series not shown.");
    if (d.lines_omitted) note.push(d.lines_omitted + " chart lines not drawn (too many).");
    document.getElementById("custom-note").textContent = note.join(" ");
  }

  function render() {
    for (const g of state.groups.values()) {
      // requests to undeclared paths get a row once there are some
      if (g.kind === "api" && g.name === "<unmatched>" && !(g.lines.rps || []).some((v) => v > 0)) continue;
      const row = rowFor(g);
      for (const c of row.charts) c.draw(g);
    }
    const kinds = new Set([...state.groups.values()].map((g) => g.kind));
    document.getElementById("api-empty").hidden = kinds.has("api");
    document.getElementById("runner-empty").hidden = kinds.has("method") || kinds.has("runner");
    document.getElementById("window-note").textContent =
      `rates and quantiles over the last ${state.window} s, like rate(x[${state.window}s]) · sampled every ${state.interval} s · last 15 min`;
  }

  let failures = 0;
  async function poll() {
    const status = document.getElementById("status");
    try {
      const r = await fetch("dashboard/data?since=" + state.seq, { cache: "no-store" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      const d = await r.json();
      if (d.epoch !== state.epoch && state.seq) {
        state.seq = 0;
        const r2 = await fetch("dashboard/data?since=0", { cache: "no-store" });
        merge(await r2.json());
      } else {
        merge(d);
      }
      render();
      failures = 0;
      status.textContent = "live · " + new Date(state.t[state.t.length - 1] || Date.now()).toLocaleTimeString() + (d.error ? " · gather error: " + d.error : "");
      document.body.dataset.seq = String(state.seq);
      document.body.dataset.t = String(state.t[state.t.length - 1] || "");
    } catch (e) {
      failures++;
      status.textContent = "disconnected (" + e.message + "), retrying";
    }
    setTimeout(poll, failures ? Math.min(10000, 1000 * failures) : 1000);
  }
  poll();
})();
