// tcplab's page: the ladder of Figure 2, animated, from the JSON-lines events of
// docs/json.md. The page never decodes or tracks: it only draws what tcplab concluded.
// Every piece of text from a capture goes in with textContent or createTextNode, never
// as markup. Events come from the file itself (`--html`) or from the server's
// Server-Sent Events (`--serve`).
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  // Geometry of the figure (user units of the SVG's viewBox).
  const WIDTH = 900, LEFT = 230, RIGHT = 670, TOP = 130, ROW = 124, SMALL = 62, DROP = 22;
  // How long an arrow takes to cross at 1×, and the pause after it (ms): slow enough for
  // a class to follow one segment at a time.
  const CROSS_MS = 1400, GAP_MS = 700;
  // Only this many rows of a long connection are drawn at once: the newest ones.
  const WINDOW = 300;
  // The picker lists only the newest connections: a busy live capture makes
  // hundreds a second, and a <select> re-measures every option whenever one is added.
  const PICKER = 200;
  const COLORS = { syn: "#2e7d32", fin: "#1565c0", rst: "#c62828", other: "#757575", tw: "#e69f00", kernel: "#8e24aa" };

  // The page's own few words (buttons); everything that explains TCP comes from the
  // binary's catalogue (`dict`).
  const UI = {
    en: { connection: "connection", speed: "speed", follow: "follow the newest", play: "▶ play",
      pause: "❚❚ pause", back: "◀ back", forward: "step ▶", restart: "|◀ restart", exportSvg: "export SVG",
      other: "中文", waiting: "waiting for the first segment…", segment: "segment", of: "of",
      press: "space or → steps, ← goes back", header: "header of frame", frame: "frame",
      time: "time", src: "source", dst: "destination", len: "payload length", notes: "notes",
      options: "options", optionsNone: "not in the events: tcplab inspect FILE FRAME shows them", none: "none",
      bytes: "the header's bytes, 32 bits a row as in Figure 1",
      partial: "this file holds the first {held} of the capture's {total} connections", cut: "the capture kept only these bytes of the header",
      live: "live", left: "s left", relative: "relative", raw: "on the wire", earlier: "earlier, not listed" },
    zh: { connection: "连接", speed: "速度", follow: "跟随最新", play: "▶ 播放", pause: "❚❚ 暂停",
      back: "◀ 后退", forward: "单步 ▶", restart: "|◀ 重新开始", exportSvg: "导出 SVG", other: "English",
      waiting: "等待第一个报文段……", segment: "报文段", of: "/", press: "空格或 → 前进，← 后退",
      header: "报文段首部，帧", frame: "帧", time: "时间", src: "源", dst: "目的", len: "数据长度",
      notes: "提示", options: "选项", optionsNone: "事件中没有：tcplab inspect 文件 帧号 可显示", none: "无",
      bytes: "首部的字节，如图 1 每行 32 位", partial: "本文件只包含抓包中 {total} 个连接的前 {held} 个", cut: "抓包只保留了首部的这些字节",
      live: "实时", left: "秒后结束", relative: "相对值", raw: "线上值", earlier: "个较早的连接未列出" },
  };

  const $ = (id) => document.getElementById(id);
  const conns = new Map(); // key → connection
  const order = []; // keys in order of first appearance
  // `--kernel`'s changes that came before their connection's first segment (a connect).
  const kernelEarly = new Map();
  let input = 0; // which input (file) the events belong to: `conn` restarts per input
  const sources = []; // each input's name, from its closing `capture` line
  const partial = []; // per input, when the file holds only some of its connections
  let dict = null;
  let lang = "en";
  let selected = null; // key of the connection shown
  let pos = 0; // rows of the selected connection shown
  let anim = null; // { row, t, start, raf } while an arrow travels
  let playing = false;
  let timer = null;
  let live = false;
  let token = null;
  let wantHeader = null; // a row whose header `#frame=F` asked to open
  // Lines ingested so far, shown as `data-events` on body (live, once per message):
  // how a benchmark (benches/compare.rs, page-live) tells whether the page keeps up.
  let events = 0;
  // A redraw asked for by new events or a new selection, done once in the next
  // animation frame: a live burst of hundreds of messages a second costs one draw a
  // frame, not one a message.
  let drawSoon = 0;

  function say(key) { return UI[lang][key]; }
  function text(tag, cls, content) {
    const el = document.createElement(tag);
    if (cls) el.className = cls;
    if (content !== undefined) el.textContent = content;
    return el;
  }
  function svg(tag, attrs, content) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    if (content !== undefined) el.textContent = content;
    return el;
  }
  // The tracker's label as Figure 2 writes it: `SYN,ACK seq=y ack=x+1` becomes
  // `SYN=1 ACK=1 seq=y ack=x+1` (the same rule as render::textbook in Rust).
  function textbook(label) {
    const at = label.indexOf(" ");
    const flags = at < 0 ? label : label.slice(0, at);
    const rest = at < 0 ? "" : label.slice(at + 1);
    return (flags.split(",").map((f) => f + "=1").join(" ") + " " + rest).trim();
  }
  // Flags as the timeline writes them, lowest bit first (`SYN,ACK`); the JSON lists
  // them in header order (`ACK,SYN`).
  function flagText(seg) { return seg.flags.slice().reverse().join(","); }
  function numbers(seg) {
    let s = "#" + seg.frame + " [" + flagText(seg) + "] seq=" + seg.seq;
    if (seg.ack !== null) s += " ack=" + seg.ack;
    s += " win=" + seg.win;
    if (seg.len) s += " len=" + seg.len;
    return s;
  }
  function colorOf(seg) {
    if (seg.flags.includes("RST")) return COLORS.rst;
    if (seg.flags.includes("SYN")) return COLORS.syn;
    if (seg.flags.includes("FIN")) return COLORS.fin;
    return COLORS.other;
  }
  // Each connection's own colour (src/render/palette.rs, through the dictionary), once
  // there is more than one to tell apart; a lone connection keeps black lanes.
  function connColor(c) {
    if (!dict || !dict.conn_colors || order.length < 2) return null;
    return dict.conn_colors[c.id % dict.conn_colors.length];
  }
  function routine(seg) { return seg.step === "data" || seg.step === "ack"; }
  function sender(seg) { return seg.dir === "c2s" ? "client" : "server"; }
  function stepName(step) { return (dict && dict[lang].steps[step]) || step; }
  function sideName(side) { return (dict && dict[lang].sides[side]) || side; }

  // ---- events in ----

  function ingest(ev) {
    events += 1;
    const key = input + ":" + ev.conn;
    let c = conns.get(key);
    if (ev.type === "capture") {
      // `--html` keeps the first connections of a big capture: say how many it left out.
      const held = order.filter((k) => conns.get(k).input === input).length;
      sources[input] = ev.source;
      if (ev.connections > held) partial[input] = { held, total: ev.connections };
      input += 1;
      return;
    }
    if (ev.type === "kernel_state") { kernelState(key, c, ev); return; }
    if (!c && ev.type !== "segment") return;
    if (ev.type === "segment") {
      if (!c) {
        const client = ev.dir === "c2s" ? ev.src : ev.dst;
        const server = ev.dir === "c2s" ? ev.dst : ev.src;
        c = { key, input, id: ev.conn, client, server, rows: [], late: [], summary: null, kernelBefore: kernelEarly.get(key) || [] };
        kernelEarly.delete(key);
        conns.set(key, c);
        order.push(key);
        addOption(c);
        if (selected === null || (live && $("follow").checked && finished())) select(key);
      }
      c.rows.push({ seg: ev, trans: [], kernel: null, kernelStates: [], arrived: Date.now() });
    } else if (ev.type === "transition") {
      const row = c.rows.length && c.rows[c.rows.length - 1];
      // Live, the kernel letting TIME-WAIT go comes a minute later with the same frame.
      if (row && row.seg.frame === ev.frame && row.seg.ts === ev.ts) row.trans.push(ev);
      else c.late.push(ev);
    } else if (ev.type === "kernel") {
      const row = c.rows[c.rows.length - 1];
      if (row) row.kernel = ev;
    } else if (ev.type === "connection") {
      c.summary = ev;
    }
  }

  // A change the kernel reported (`--kernel`) goes with the frame it came after; a
  // socket that is no captured connection's (the listener) has no lane.
  function kernelState(key, c, ev) {
    if (ev.conn === null || ev.side === null) return;
    let row = null;
    if (c && ev.after_frame !== null) {
      for (let i = c.rows.length - 1; i >= 0 && !row; i--) if (c.rows[i].seg.frame === ev.after_frame) row = c.rows[i];
    }
    if (row) row.kernelStates.push(ev);
    else if (c) c.kernelBefore.push(ev);
    else { if (!kernelEarly.has(key)) kernelEarly.set(key, []); kernelEarly.get(key).push(ev); }
  }

  function addOption(c) {
    const opt = document.createElement("option");
    opt.value = c.key;
    // Tagged as the terminal tags the connection's lines: [n].
    opt.textContent = "[" + c.id + "]  " + c.client + " ⇄ " + c.server;
    const pick = $("conn");
    pick.appendChild(opt);
    // Past PICKER, the oldest listed one goes (never the one shown), and the first
    // line counts those not listed; `#conn=K` still reaches them.
    let earlier = pick.querySelector("option.earlier");
    if (pick.options.length > PICKER + (earlier ? 1 : 0)) {
      if (!earlier) {
        earlier = text("option", "earlier");
        earlier.disabled = true;
        earlier.dataset.count = "0";
        pick.insertBefore(earlier, pick.firstChild);
      }
      const old = earlier.nextSibling.value === selected ? earlier.nextSibling.nextSibling : earlier.nextSibling;
      old.remove();
      earlier.dataset.count = String(Number(earlier.dataset.count) + 1);
      earlier.textContent = "+" + earlier.dataset.count + " " + say("earlier");
    }
    $("conn-label").hidden = order.length < 2;
  }

  function current() { return selected === null ? null : conns.get(selected); }
  function finished() { const c = current(); return !c || (pos >= c.rows.length && !anim); }

  function select(key) {
    stopAnim();
    selected = key;
    pos = 0;
    $("conn").value = key;
    $("header-panel").hidden = true;
    redraw();
    schedule(0);
  }
  function redraw() {
    if (!drawSoon) drawSoon = requestAnimationFrame(() => { drawSoon = 0; if (!anim) draw(); });
  }

  // ---- playback ----

  function speed() { return Number($("speed").value) || 1; }
  function schedule(delay) {
    clearTimeout(timer);
    if (playing) timer = setTimeout(tick, delay);
  }
  function tick() {
    const c = current();
    if (!playing || anim || !c) return;
    if (pos < c.rows.length) travel();
    else if (live && $("follow").checked) {
      // This one is done: the newest connection with something to show goes next.
      for (let i = order.indexOf(selected) + 1; i < order.length; i++) {
        if (conns.get(order[i]).rows.length) { select(order[i]); break; }
      }
    }
  }
  // The next arrow leaves its sender's lane and crosses; `instant` skips the travel.
  function travel(instant) {
    const c = current();
    if (!c || pos >= c.rows.length) return;
    pos += 1;
    if (instant) { draw(true); return; }
    anim = { row: pos - 1, t: 0, start: performance.now() };
    const frame = (now) => {
      if (!anim) return;
      anim.t = Math.min(1, (now - anim.start) / (CROSS_MS / speed()));
      draw();
      if (anim.t < 1) anim.raf = requestAnimationFrame(frame);
      else { anim = null; draw(); schedule(GAP_MS / speed()); }
    };
    draw();
    anim.raf = requestAnimationFrame(frame);
  }
  function stopAnim() {
    if (anim) cancelAnimationFrame(anim.raf);
    anim = null;
    clearTimeout(timer);
  }
  function forward() {
    if (anim) { stopAnim(); draw(); return; }
    travel(false);
  }
  function back() {
    stopAnim();
    pos = Math.max(0, pos - 1);
    draw(true);
  }
  function restart() {
    stopAnim();
    pos = 0;
    draw();
    schedule(GAP_MS / speed());
  }
  function setPlaying(on) {
    playing = on;
    $("play").textContent = playing ? say("pause") : say("play");
    if (playing) schedule(0); else { clearTimeout(timer); }
  }

  // ---- drawing ----

  // Each side's state before the connection's first segment: the `from` of its first
  // transition, else the state the first segment left it in.
  function initial(c, side) {
    for (const row of c.rows) {
      const t = row.trans.find((x) => x.side === side);
      if (t) return t.from;
    }
    return c.rows.length ? c.rows[0].seg[side + "_state"] : "";
  }
  // The transitions of a row that have happened at travel progress `t`: the sender's
  // as the segment leaves, the receiver's when it arrives.
  function applied(row, t) {
    return row.trans.filter((x) => (x.side === sender(row.seg) && !afterLeaving(row, x)) || t >= 1);
  }
  // A change of the sender's that came after its segment left: the arrival of a RST
  // that the segment crossed (`rst_crossed`). Its lane is not CLOSED as it sends, so
  // the change shows once the arrow has landed, at the row's foot.
  function afterLeaving(row, x) {
    const seg = row.seg;
    return x.side === sender(seg) && x.to === "CLOSED" && !seg.flags.includes("RST")
      && seg.notes.includes("rst_crossed");
  }

  function draw(follow) {
    const c = current();
    // For tests and tools: whether an arrow is on its way.
    document.body.dataset.moving = anim ? "yes" : "no";
    const fig = $("ladder");
    while (fig.firstChild) fig.removeChild(fig.firstChild);
    renderSide(c);
    if (!c) { fig.setAttribute("viewBox", "0 0 " + WIDTH + " 200"); return; }
    const first = Math.max(0, pos - WINDOW);
    const rows = c.rows.slice(first, pos);
    let height = TOP;
    for (const row of rows) height += routine(row.seg) ? SMALL : ROW;
    height += 120;
    fig.setAttribute("viewBox", "0 0 " + WIDTH + " " + height);
    fig.setAttribute("width", WIDTH);
    fig.setAttribute("height", height);
    fig.appendChild(svg("rect", { width: WIDTH, height, fill: "#fff" }));
    fig.appendChild(defs());
    const state = { client: initial(c, "client"), server: initial(c, "server") };
    const own = connColor(c);
    $("conn").style.borderLeft = own ? "0.8rem solid " + own : "";
    // The lanes, with each end's name and address; in the connection's colour.
    for (const [x, side, addr] of [[LEFT, "client", c.client], [RIGHT, "server", c.server]]) {
      fig.appendChild(svg("line", { x1: x, y1: 86, x2: x, y2: height - 20, stroke: own || "#111", "stroke-width": own ? 5 : 3, class: "lane" }));
      fig.appendChild(svg("text", { x, y: 34, "font-size": 26, "font-weight": "bold", "text-anchor": "middle", class: "lane-name" }, sideName(side)));
      fig.appendChild(svg("text", { x, y: 60, "font-size": 16, fill: "#444", "text-anchor": "middle" }, addr));
    }
    if (own) fig.appendChild(svg("text", { x: 16, y: 34, "font-size": 26, "font-weight": "bold", fill: own, class: "conn-tag" }, "[" + c.id + "]"));
    const stateY = {};
    stateLabel(fig, "client", state.client, 108, "state-initial");
    stateLabel(fig, "server", state.server, 108, "state-initial");
    kernelMarks(fig, c.kernelBefore, TOP - 4);
    let y = TOP;
    let timeWait = null;
    rows.forEach((row, i) => {
      const index = first + i;
      const t = anim && anim.row === index ? anim.t : 1;
      const seg = row.seg;
      const small = routine(seg);
      const h = small ? SMALL : ROW;
      const color = colorOf(seg);
      const [x1, x2] = sender(seg) === "client" ? [LEFT, RIGHT] : [RIGHT, LEFT];
      const ay = y + (small ? 22 : 46);
      const drop = small ? DROP / 2 : DROP;
      const g = svg("g", { class: "arrow", "data-row": index, "data-frame": seg.frame });
      // The whole row between the lanes answers a click, not only the thin arrow.
      g.appendChild(svg("rect", { x: LEFT, y, width: RIGHT - LEFT, height: h, fill: "transparent" }));
      const ex = x1 + (x2 - x1) * t, ey = ay + drop * t;
      const line = svg("line", { x1, y1: ay, x2: ex, y2: ey, stroke: color, "stroke-width": small ? 2.5 : 4, "marker-end": "url(#head)" });
      if (small) line.setAttribute("stroke-dasharray", "8 5");
      g.appendChild(line);
      const mid = (LEFT + RIGHT) / 2;
      if (small) {
        g.appendChild(svg("text", { x: mid, y: y + 14, "font-size": 15, fill: "#444", "text-anchor": "middle", class: "numbers" }, numbers(seg)));
      } else {
        g.appendChild(svg("text", { x: mid, y: y + 10, "font-size": 17, fill: "#333", "text-anchor": "middle", class: "step" }, stepName(seg.step)));
        g.appendChild(svg("text", { x: mid, y: y + 34, "font-size": 21, "font-weight": "bold", fill: color, "text-anchor": "middle", class: "textbook" }, textbook(seg.label)));
        g.appendChild(svg("text", { x: mid, y: ay + drop + 26, "font-size": 15, fill: "#444", "text-anchor": "middle", class: "numbers" }, numbers(seg)));
      }
      g.addEventListener("click", () => showHeader(row));
      fig.appendChild(g);
      for (const tr of applied(row, t)) {
        const at = tr.side === sender(seg) && !afterLeaving(row, tr) ? ay : ay + drop;
        // Two changes of one side on one row (a merged close) stack downwards.
        const ty = stateY[tr.side] === y ? at + 22 : at;
        stateY[tr.side] = y;
        stateLabel(fig, tr.side, tr.to, ty + 6, "state");
        state[tr.side] = tr.to;
        if (tr.to === "TIME-WAIT") timeWait = { side: tr.side, y: ty, row };
      }
      // The kernel's word once the segment has arrived, at the foot of its row.
      if (t >= 1) kernelMarks(fig, row.kernelStates, y + h - 6);
      y += h;
    });
    // The newest arrow stays in view on a long ladder: scrolled to as it sets off, not
    // on every frame of its travel (each scroll makes the browser lay out the page).
    const newest = fig.querySelector('g.arrow[data-row="' + (pos - 1) + '"]');
    if (newest && ((anim && anim.t === 0) || follow)) newest.scrollIntoView({ block: "nearest" });
    if (timeWait) {
      const gone = pos === c.rows.length && c.late.find((x) => x.side === timeWait.side && x.from === "TIME-WAIT");
      timeWaitBar(fig, timeWait, height - 30, gone);
    }
  }

  function defs() {
    const d = svg("defs");
    const m = svg("marker", { id: "head", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
    m.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "context-stroke" }));
    d.appendChild(m);
    return d;
  }

  function stateLabel(fig, side, name, y, cls) {
    const left = side === "client";
    fig.appendChild(svg("text", {
      x: left ? LEFT - 14 : RIGHT + 14, y, "font-size": 19, "font-weight": "bold",
      "text-anchor": left ? "end" : "start", fill: name === "TIME-WAIT" ? "#8a5a00" : "#111",
      class: cls, "data-side": side,
    }, name));
  }

  // The kernel's changes of one row, a mark per side on the inner edge of its lane:
  // `⚙ SYN-RECEIVED* → ESTABLISHED`, a star where tcplab shows another state then (the
  // side panel says why).
  function kernelMarks(fig, changes, y) {
    for (const side of ["client", "server"]) {
      const mine = changes.filter((k) => k.side === side);
      if (!mine.length) continue;
      const left = side === "client";
      const x = left ? LEFT : RIGHT;
      fig.appendChild(svg("circle", { cx: x, cy: y - 5, r: 6, fill: COLORS.kernel, class: "kernel-dot", "data-side": side }));
      const mark = svg("text", { x: left ? x + 12 : x - 12, y, "font-size": 14, fill: COLORS.kernel,
        "text-anchor": left ? "start" : "end", class: "kernel-mark", "data-side": side });
      mark.appendChild(svg("tspan", {}, "⚙ "));
      mine.forEach((k, i) => {
        if (i) mark.appendChild(svg("tspan", {}, " → "));
        const state = svg("tspan", { class: "kernel-to", "data-differs": k.differs || "" }, k.to + (k.differs ? "*" : ""));
        if (k.differs) state.setAttribute("font-style", "italic");
        mark.appendChild(state);
      });
      fig.appendChild(mark);
    }
  }

  // TIME-WAIT is never on the wire: a bar down the holder's lane, with how long it lasts
  // (and, live, how long is left).
  function timeWaitBar(fig, tw, bottom, gone) {
    const x = tw.side === "client" ? LEFT : RIGHT;
    fig.appendChild(svg("rect", { x: x - 7, y: tw.y + 12, width: 14, height: Math.max(20, bottom - tw.y - 12), fill: COLORS.tw, class: "time-wait", "data-side": tw.side }));
    let words = dict ? dict[lang].time_wait.replace("{until}", (tw.row.seg.ts + dict.time_wait_secs).toFixed(3)) : "TIME-WAIT";
    if (gone) words += " → " + gone.to;
    else if (live) {
      const left = tw.row.kernel && tw.row.kernel.time_left !== null
        ? tw.row.kernel.time_left - (Date.now() - tw.row.arrived) / 1000
        : dict.time_wait_secs - (Date.now() - tw.row.arrived) / 1000;
      words += " · " + Math.max(0, Math.round(left)) + " " + say("left");
    }
    // The words go between the lanes, where the figure is free below the last arrow.
    const left = tw.side === "client";
    fig.appendChild(svg("text", { x: left ? x + 14 : x - 14, y: bottom, "font-size": 14, fill: "#8a5a00", "text-anchor": left ? "start" : "end", class: "time-wait-words" }, words));
  }

  // The panel beside the figure: where we are, the step's name and meaning, the notes.
  function renderSide(c) {
    // The capture's name is whatever the file was called: text, like everything else.
    $("title").textContent = c && sources[c.input] ? "tcplab — " + sources[c.input] : "tcplab";
    const row = c && pos > 0 ? c.rows[pos - 1] : null;
    $("status").textContent = !c || !c.rows.length ? say("waiting")
      : say("segment") + " " + pos + " " + say("of") + " " + c.rows.length + (live ? " · " + say("live") : "") + " — " + say("press");
    const part = c && partial[c.input];
    if (part) $("status").textContent += " · " + say("partial").replace("{held}", part.held).replace("{total}", part.total);
    $("step-name").textContent = row ? stepName(row.seg.step) : "";
    $("step-label").textContent = row ? textbook(row.seg.label) : "";
    let explain = "";
    // As the timeline: a refused or stale SYN, a RST its receiver did not take or one
    // that answers, and a SYN-ACK that reaches a closed client are told by their notes
    // (the dictionary names them); the step's generic words would mislead.
    const toldByNote = row && dict && (row.seg.notes.some((n) => dict.told_by_note.includes(n))
      || (row.seg.flags.includes("SYN") && row.seg.flags.includes("ACK") && row.seg.client_state === "CLOSED"));
    if (row && dict && !toldByNote) {
      const tpl = dict[lang].explain[row.seg.step + "|" + sender(row.seg)];
      explain = tpl ? tpl.replace("{len}", String(row.seg.len)) : "";
    }
    $("step-explain").textContent = explain;
    const notes = $("step-notes");
    while (notes.firstChild) notes.removeChild(notes.firstChild);
    if (row) {
      const port = c.server.slice(c.server.lastIndexOf(":") + 1);
      for (const n of notesToTell(row.seg)) {
        const holder = row.trans.find((t) => t.to === "TIME-WAIT");
        const key = n === "time_wait" && holder ? n + "|" + holder.side : n;
        const words = dict && dict[lang].notes[key] ? fillNote(dict[lang].notes[key], row.seg, port) : n;
        notes.appendChild(text("li", "note", words));
      }
      const changes = (pos === 1 ? c.kernelBefore : []).concat(row.kernelStates);
      if (dict) for (const k of changes) notes.appendChild(text("li", "kernel-state", kernelWords(k)));
      if (row.kernel && dict) {
        const k = row.kernel;
        notes.appendChild(text("li", "kernel", dict[lang].kernel[k.side].replace("{local}", k.local).replace("{remote}", k.remote)
          .replace("{left}", k.time_left === null ? "?" : String(k.time_left))));
      }
    }
  }

  // The notes told in words, by the rule of SegmentEvent::notes_to_tell in Rust: not
  // those the step already names, and not the plain retransmission when a more telling
  // one (fast, spurious, a SYN's) names the same resend.
  function notesToTell(seg) {
    const named = seg.notes.some((n) => n === "fast_retransmission" || n === "spurious_retransmission" || n === "syn_retransmission");
    return seg.notes.filter((n) => !["simultaneous_close", "simultaneous_open", "merged_close"].includes(n)
      && !(named && n === "retransmission"));
  }
  // A note's sentence with this segment's numbers, from the objects that come with it.
  function fillNote(words, seg, port) {
    const r = seg.retransmission, syn = seg.syn_retransmission, dup = seg.dup_ack;
    const until = dict ? (seg.ts + dict.time_wait_secs).toFixed(6) : "";
    return words.replace("{port}", port).replace("{until}", until)
      .replace("{of}", String(r ? r.of_frame : dup ? dup.of_frame : "?"))
      .replace("{ms}", r ? r.after_ms.toFixed(1) : "?")
      .replace("{attempt}", syn ? String(syn.attempt) : "?")
      .replace("{s}", syn ? syn.after_s.toFixed(3) : "?")
      .replace("{count}", dup ? String(dup.count) : "?");
  }

  // A kernel change in the catalogue's words, as the terminal's ⚙ line says it.
  function kernelWords(k) {
    const words = dict[lang];
    const when = k.after_frame === null ? "before" : "after";
    let s = "⚙ " + words.kernel_state[when + "|" + k.side].replace("{from}", k.from).replace("{to}", k.to)
      .replace("{frame}", String(k.after_frame)).replace("{ms}", k.after_ms === null ? "" : k.after_ms.toFixed(3));
    if (k.differs) s += " — " + words.differs[k.differs + "|" + k.side].replace("{shown}", k.tcplab_state || "");
    return s;
  }

  // Figure 1 filled in: the clicked segment's header fields, as the events carry them.
  function showHeader(row) {
    const seg = row.seg;
    const f = dict ? dict[lang].fields : {};
    $("header-title").textContent = say("header") + " " + seg.frame;
    const body = $("header-fields").tBodies[0];
    while (body.firstChild) body.removeChild(body.firstChild);
    const rel = (r, w) => r === null ? String(w) : r + " (" + say("relative") + ") · " + w + " (" + say("raw") + ")";
    const fields = [
      ["frame", say("frame"), String(seg.frame)],
      ["time", say("time"), seg.ts.toFixed(6) + " s"],
      ["src", say("src"), seg.src],
      ["dst", say("dst"), seg.dst],
      ["seq", f.Sequence || "Sequence Number", rel(seg.seq, seg.seq_raw)],
      ["ack", f.Acknowledgment || "Acknowledgment Number", seg.ack === null ? "— · " + seg.ack_raw + " (" + say("raw") + ")" : rel(seg.ack, seg.ack_raw)],
      ["flags", f.Flags || "Flags", flagText(seg)],
      ["win", f.Window || "Window", String(seg.win)],
      ["len", say("len"), String(seg.len)],
      ["options", f.Options || say("options"), !seg.options ? say("optionsNone") : seg.options.length ? seg.options.join(", ") : say("none")],
      ["notes", say("notes"), seg.notes.join(", ")],
    ];
    for (const [key, name, value] of fields) {
      const tr = document.createElement("tr");
      tr.dataset.field = key;
      tr.appendChild(text("th", null, name));
      tr.appendChild(text("td", null, value));
      body.appendChild(tr);
    }
    headerBytes(seg, f);
    $("header-panel").hidden = false;
  }

  // The header's bytes as hex, four to a row as Figure 1 draws the header, each field
  // in its own tint and each row named by the fields it holds.
  function headerBytes(seg, f) {
    const box = $("header-bytes");
    while (box.firstChild) box.removeChild(box.firstChild);
    box.hidden = !seg.header;
    if (!seg.header) return;
    const bytes = seg.header.match(/../g) || [];
    const fieldOf = (i) => i < 4 ? "ports" : i < 8 ? "seq" : i < 12 ? "ack" : i < 14 ? "offset-flags" : i < 16 ? "window"
      : i < 18 ? "checksum" : i < 20 ? "urgent" : "options";
    const rowNames = [
      [f.SourcePort, f.DestinationPort], [f.Sequence], [f.Acknowledgment], [f.DataOffset, f.Flags, f.Window],
      [f.Checksum, f.UrgentPointer],
    ];
    box.appendChild(text("caption", null, say("bytes")));
    for (let at = 0; at < bytes.length; at += 4) {
      const tr = document.createElement("tr");
      tr.appendChild(text("th", "offset", String(at).padStart(2, "0")));
      for (let i = at; i < at + 4; i++) {
        const td = text("td", i < bytes.length ? "byte f-" + fieldOf(i) : "byte", i < bytes.length ? bytes[i] : "");
        if (i < bytes.length) td.dataset.field = fieldOf(i);
        tr.appendChild(td);
      }
      tr.appendChild(text("td", "row-name", (rowNames[at / 4] || [f.Options]).filter(Boolean).join(" · ")));
      box.appendChild(tr);
    }
    const expected = parseInt(bytes[12] || "50", 16) >> 4;
    if (bytes.length < expected * 4) box.appendChild(text("caption", "cut", say("cut")));
  }

  function applyLang() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    $("conn-word").textContent = say("connection");
    $("speed-word").textContent = say("speed");
    $("follow-word").textContent = say("follow");
    $("back").textContent = say("back");
    $("forward").textContent = say("forward");
    $("restart").textContent = say("restart");
    $("export").textContent = say("exportSvg");
    $("lang").textContent = say("other");
    $("play").textContent = playing ? say("pause") : say("play");
    const earlier = document.querySelector("#conn option.earlier");
    if (earlier) earlier.textContent = "+" + earlier.dataset.count + " " + say("earlier");
    $("header-panel").hidden = true;
    draw();
    if (wantHeader) { showHeader(wantHeader); wantHeader = null; }
  }

  // The figure as it is now, as a file of its own.
  function exportSvg() {
    const copy = $("ladder").cloneNode(true);
    copy.setAttribute("xmlns", SVG);
    copy.setAttribute("font-family", "DejaVu Sans, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif");
    const blob = new Blob([new XMLSerializer().serializeToString(copy)], { type: "image/svg+xml" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "tcplab-ladder.svg";
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  function keys(e) {
    if (e.target && (e.target.tagName === "SELECT" || e.target.tagName === "INPUT")) return;
    if (e.key === " ") { setPlaying(!playing); e.preventDefault(); }
    else if (e.key === "ArrowRight" || e.key === "PageDown" || e.key === "ArrowDown") { forward(); e.preventDefault(); }
    else if (e.key === "ArrowLeft" || e.key === "PageUp" || e.key === "ArrowUp") { back(); e.preventDefault(); }
    else if (e.key === "Home") { restart(); e.preventDefault(); }
  }

  // `#step=N` (or `end`), `#lang=zh`, `#conn=K`, `#play`, `#speed=2`, `#frame=F` (its
  // header open): a slide can open where it wants.
  function fromHash() {
    const h = new URLSearchParams(location.hash.slice(1));
    if (h.get("lang") === "zh" || h.get("lang") === "en") lang = h.get("lang");
    if (h.has("conn")) { const k = order.find((x) => String(conns.get(x).id) === h.get("conn")); if (k) select(k); }
    const c = current();
    if (c && h.has("step")) pos = h.get("step") === "end" ? c.rows.length : Math.min(c.rows.length, Math.max(0, parseInt(h.get("step"), 10) || 0));
    if (h.has("play")) playing = true;
    if (h.has("speed")) $("speed").value = h.get("speed");
    if (c && h.has("frame")) { const row = c.rows.find((r) => String(r.seg.frame) === h.get("frame")); if (row) wantHeader = row; }
  }

  function connect() {
    const query = token ? "?token=" + encodeURIComponent(token) : "";
    // EventSource reconnects by itself and sends Last-Event-ID: the server resumes
    // after the last event this page has, so nothing comes twice.
    const source = new EventSource("events" + query);
    source.onmessage = (m) => {
      for (const line of m.data.split("\n")) if (line) ingest(JSON.parse(line));
      document.body.dataset.events = events;
      if (playing && !anim) schedule(0);
      if (!anim) redraw();
    };
  }

  function start() {
    $("lang").addEventListener("click", () => { lang = lang === "en" ? "zh" : "en"; applyLang(); });
    $("play").addEventListener("click", () => setPlaying(!playing));
    $("forward").addEventListener("click", forward);
    $("back").addEventListener("click", back);
    $("restart").addEventListener("click", restart);
    $("export").addEventListener("click", exportSvg);
    $("conn").addEventListener("change", (e) => { select(e.target.value); e.target.blur(); });
    $("speed").addEventListener("change", (e) => e.target.blur());
    // A clicked button gives the focus back: space and the arrows then drive the page,
    // instead of pressing that button again.
    for (const b of document.querySelectorAll("#controls button")) b.addEventListener("click", () => b.blur());
    document.addEventListener("keydown", keys);
    window.addEventListener("hashchange", () => { stopAnim(); fromHash(); applyLang(); });
    const embedded = $("events");
    if (embedded) {
      dict = JSON.parse($("dict").textContent);
      for (const line of embedded.textContent.split("\n")) if (line.trim()) ingest(JSON.parse(line));
      document.body.dataset.events = events;
      fromHash();
      applyLang();
      if (playing) setPlaying(true);
      document.body.dataset.ready = "yes";
      return;
    }
    live = true;
    playing = true;
    token = new URLSearchParams(location.search).get("token");
    fetch("dict.json").then((r) => r.json()).then((d) => {
      dict = d;
      fromHash();
      applyLang();
      connect();
      // The TIME-WAIT countdown moves once a second.
      setInterval(() => { if (!anim) draw(); }, 1000);
      document.body.dataset.ready = "yes";
    });
  }

  start();
})();
