// AIOps.Trace dashboard: one card per container, longest p99 run-queue latency first, fed by
// GET /api/v1/containers (figures), /api/v1/containers/{id} (diagnosis) and the SSE stream
// /api/v1/stream (per-window histogram deltas, read with fetch so a bearer token can be sent).
// Every string from the server is inserted with textContent or as an attribute value, never
// parsed as HTML: a container named "<img src=x onerror=...>" is shown as those characters.
'use strict';

(() => {
  const HISTORY = 120;            // heatmap columns (frames) kept per container
  const DETAIL_EVERY_MS = 4000;   // how often a shown container's diagnosis is fetched again
  const LIST_EVERY_MS = 2000;     // how often exact p50/p99 and identities are refreshed
  const TOKEN_KEY = 'aiops-trace-token';

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    bounds: [],
    node: '',
    seq: 0,
    frames: 0,
    engine: null,
    window: null,
    containers: new Map(),   // id -> entry
    stream: null,            // AbortController of the open stream
    timers: [],
    filter: '',
    started: false,
  };

  const $ = (id) => document.getElementById(id);
  const cardTemplate = $('card-template');

  class Unauthorized extends Error {}
  class NotFound extends Error {}

  function authHeaders(extra) {
    const h = Object.assign({}, extra || {});
    if (state.token) h.Authorization = 'Bearer ' + state.token;
    return h;
  }

  async function getJson(url) {
    const r = await fetch(url, { headers: authHeaders(), cache: 'no-store' });
    if (r.status === 401) throw new Unauthorized();
    if (r.status === 404) throw new NotFound(url + ': HTTP 404');
    if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
    return r.json();
  }

  // ---- formatting ----------------------------------------------------------------------------

  function fmtUs(us) {
    if (us === null || us === undefined || !isFinite(us)) return '–';
    if (us < 1000) return (us < 10 ? us.toFixed(1) : us.toFixed(0)) + ' µs';
    if (us < 1e6) return (us < 10000 ? (us / 1000).toFixed(2) : (us / 1000).toFixed(0)) + ' ms';
    return (us / 1e6).toFixed(2) + ' s';
  }

  function fmtNum(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    return Number(v).toFixed(digits);
  }

  function fmtValue(v) {
    if (v === null || v === undefined || !isFinite(v)) return 'n/a';
    const a = Math.abs(v);
    return a >= 100 ? v.toFixed(0) : String(Math.round(v * 1000) / 1000);
  }

  function fmtBound(us) {
    if (us < 1000) return us + 'µs';
    if (us < 1e6) return Math.round(us / 1000) + 'ms';
    return Math.round(us / 1e6) + 's';
  }

  const OUTCOME_CLASS = {
    cap_throttled: 'bad', oom_at_limit: 'bad', throttle_limited: 'bad', bandwidth_limited: 'bad',
    cpuset_throttled: 'warn', share_throttled: 'warn', physical_cpu_throttled: 'warn',
    limit_reclaim: 'warn', high_throttled: 'warn', host_pressure: 'warn', contention: 'warn', device_saturated: 'warn',
    not_throttled_dig_further: 'info',
    not_throttled: 'ok', not_limited: 'ok',
  };

  function setBadge(el, outcome) {
    el.className = 'badge outcome ' + (OUTCOME_CLASS[outcome] || '');
    el.textContent = outcome || 'not diagnosed';
    el.dataset.outcome = outcome || '';
  }

  // ---- state updates -------------------------------------------------------------------------

  function entryFor(id) {
    let e = state.containers.get(id);
    if (!e) {
      e = { id, info: { id }, heat: [], frame: null, detail: null, detailAt: 0, el: null };
      state.containers.set(id, e);
    }
    return e;
  }

  function applyList(list) {
    state.node = list.node || state.node;
    state.seq = Math.max(state.seq, list.seq || 0);
    if (Array.isArray(list.bounds_us)) state.bounds = list.bounds_us;
    state.engine = list.engine || state.engine;
    state.window = list.window || state.window;
    const seen = new Set();
    for (const c of list.containers || []) {
      seen.add(c.id);
      entryFor(c.id).info = c;
    }
    for (const [id, e] of state.containers) {
      if (!seen.has(id)) removeEntry(id, e);
    }
  }

  function removeEntry(id, e) {
    if (e.el) e.el.card.remove();
    state.containers.delete(id);
  }

  function onHello(h) {
    state.node = h.node || state.node;
    if (Array.isArray(h.bounds_us)) state.bounds = h.bounds_us;
  }

  function onFrame(f) {
    state.frames++;
    state.seq = f.seq;
    if (state.window) {
      state.window = Object.assign({}, state.window, { seq: f.seq, window_s: f.window_s, lost_events: f.lost_events });
    }
    const width = state.bounds.length + 1;
    const ran = new Set();
    for (const c of f.containers || []) {
      ran.add(c.id);
      const e = entryFor(c.id);
      // Identity and outcome travel in every frame: a container new since the last list is shown at once.
      e.info = Object.assign({}, e.info, {
        id: c.id, cgroup: c.cgroup, name: c.name, container: c.container, pod: c.pod,
        namespace: c.namespace, ended: c.ended, cpu_outcome: c.cpu_outcome,
      });
      const column = new Float64Array(width);
      for (const k of Object.keys(c.runq || {})) {
        const i = Number(k);
        if (i >= 0 && i < width) column[i] = c.runq[k];
      }
      e.frame = c;
      pushColumn(e, column);
    }
    for (const [id, e] of state.containers) {
      if (!ran.has(id)) {
        e.frame = null;
        pushColumn(e, null);
      }
    }
    for (const id of f.removed || []) {
      const e = state.containers.get(id);
      if (e) removeEntry(id, e);
    }
    if (f.dropped_frames > 0) refreshList();   // frames were lost: resynchronise
    render();
  }

  function pushColumn(e, column) {
    e.heat.push(column);
    if (e.heat.length > HISTORY) e.heat.shift();
    e.heatDirty = true;
  }

  // ---- network -------------------------------------------------------------------------------

  async function refreshList() {
    try {
      applyList(await getJson('/api/v1/containers'));
      setStatus(state.stream ? 'live' : 'down', state.stream ? null : 'stream reconnecting…');
      render();
    } catch (err) {
      handleError(err);
    }
  }

  async function refreshDetails() {
    const now = Date.now();
    const due = sorted().filter(e => !e.info.ended && now - e.detailAt > DETAIL_EVERY_MS).slice(0, 8);
    await Promise.all(due.map(async e => {
      e.detailAt = now;
      try {
        e.detail = await getJson('/api/v1/containers/' + encodeURIComponent(e.id));
        if (e.detail && e.detail.container) e.info = Object.assign({}, e.info, e.detail.container);
        e.detailDirty = true;
      } catch (err) {
        if (err instanceof Unauthorized) handleError(err);
      }
    }));
    render();
  }

  async function openStream() {
    if (state.stream) state.stream.abort();
    const ctrl = new AbortController();
    state.stream = ctrl;
    try {
      const r = await fetch('/api/v1/stream', {
        headers: authHeaders({ Accept: 'text/event-stream' }), cache: 'no-store', signal: ctrl.signal,
      });
      if (r.status === 401) throw new Unauthorized();
      if (!r.ok || !r.body) throw new Error('stream: HTTP ' + r.status);
      setStatus('live');
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          dispatch(block);
        }
      }
    } catch (err) {
      if (ctrl.signal.aborted) return;
      if (err instanceof Unauthorized) { handleError(err); return; }
    }
    if (state.stream !== ctrl) return;
    state.stream = null;
    setStatus('down', 'stream closed, reconnecting…');
    setTimeout(() => { if (!state.stream) { refreshList(); openStream(); } }, 2000);
  }

  function dispatch(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length === 0) return;
    let msg;
    try { msg = JSON.parse(data.join('\n')); } catch { return; }
    if (event === 'hello') onHello(msg);
    else if (event === 'frame') onFrame(msg);
  }

  function handleError(err) {
    if (err instanceof Unauthorized) {
      stop();
      askToken(state.token !== null);
      return;
    }
    setStatus('down', String(err.message || err));
  }

  function stop() {
    if (state.stream) { state.stream.abort(); state.stream = null; }
    for (const t of state.timers) clearInterval(t);
    state.timers = [];
    state.started = false;
  }

  async function start() {
    if (state.started) return;
    try {
      applyList(await getJson('/api/v1/containers'));
    } catch (err) {
      if (err instanceof NotFound) {
        // An analysis-only host (analyze --listen): no engine, no containers; the verdicts panel is the page.
        $('summary').hidden = true;
        $('empty').hidden = true;
        setStatus('live', 'analysis only');
        return;
      }
      handleError(err);
      if (!(err instanceof Unauthorized)) setTimeout(start, 3000);
      return;
    }
    state.started = true;
    render();
    openStream();
    refreshDetails();
    state.timers.push(setInterval(refreshList, LIST_EVERY_MS));
    state.timers.push(setInterval(refreshDetails, 1000));
  }

  function askToken(refused) {
    setStatus('down', 'token required');
    const dialog = $('token-dialog');
    $('token-error').hidden = !refused;
    if (!dialog.open) dialog.showModal();
    $('token-input').focus();
  }

  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = $('token-input').value.trim();
    if (!token) return;
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token-dialog').close();
    $('token-input').value = '';
    start();
  });

  $('filter').addEventListener('input', (ev) => {
    state.filter = ev.target.value.trim().toLowerCase();
    render();
  });

  // ---- rendering -----------------------------------------------------------------------------

  function setStatus(kind, text) {
    const dot = $('live-dot');
    dot.className = 'dot ' + (kind === 'live' ? 'live' : 'down');
    $('live-text').textContent = text || (kind === 'live' ? 'live · ' + state.frames + ' frames' : 'disconnected');
  }

  function p99(e) {
    const w = e.info.last_window;
    return w && isFinite(w.runq_p99_us) ? w.runq_p99_us : 0;
  }

  function sorted() {
    return Array.from(state.containers.values())
      .filter(e => e.info.cgroup !== undefined)
      .sort((a, b) => (a.info.ended === b.info.ended ? 0 : a.info.ended ? 1 : -1)
        || p99(b) - p99(a)
        || String(a.info.name || a.info.cgroup).localeCompare(String(b.info.name || b.info.cgroup)));
  }

  function matches(e) {
    if (!state.filter) return true;
    const i = e.info;
    return [i.name, i.cgroup, i.pod, i.namespace, i.container]
      .some(s => typeof s === 'string' && s.toLowerCase().includes(state.filter));
  }

  function render() {
    const eng = state.engine;
    const win = state.window;
    $('node').textContent = state.node || '–';
    $('tier').textContent = eng ? (eng.mode === 'procfs' ? 'procfs sampling' : eng.attach + ' + ' + eng.ring) : '–';
    $('window').textContent = win ? fmtNum(win.window_s, 2) + ' s' : '–';
    $('seq').textContent = String(state.seq);
    $('idle').textContent = win && isFinite(win.host_idle_ratio) ? Math.round(win.host_idle_ratio * 100) + '% of ' + win.cpus + ' CPUs' : '–';
    $('lost').textContent = eng ? String(eng.lost_events_total) : '–';
    if (state.stream && state.started) setStatus('live');

    const list = sorted();
    $('count').textContent = String(list.length);
    $('empty').hidden = list.length > 0;
    const main = $('containers');
    let previous = null;
    for (const e of list) {
      if (!e.el) e.el = buildCard(e);
      const show = matches(e);
      e.el.card.hidden = !show;
      updateCard(e);
      // Keep DOM order equal to the sorted order, moving only cards that are out of place.
      const want = previous ? previous.nextSibling : main.firstChild;
      if (want !== e.el.card) main.insertBefore(e.el.card, want);
      previous = e.el.card;
    }
  }

  function buildCard(e) {
    const card = cardTemplate.content.firstElementChild.cloneNode(true);
    const q = (sel) => card.querySelector(sel);
    return {
      card, badge: q('.outcome'), name: q('.name'), meta: q('.meta'), cgroup: q('.cgroup'),
      canvas: q('.heatmap'), p50: q('.p50'), p99: q('.p99'), waits: q('.waits'), cpu: q('.cpu'),
      throttled: q('.throttled'), throttledTime: q('.throttled-time'), preemptTotal: q('.preempt-total'),
      segs: { same: q('.seg.same'), other: q('.seg.other'), host: q('.seg.host'), unknown: q('.seg.unknown') },
      counts: { same: q('.n-same'), other: q('.n-other'), host: q('.n-host'), unknown: q('.n-unknown') },
      neighbours: q('.neighbours'), diagnoses: q('.diagnoses'),
    };
  }

  function updateCard(e) {
    const el = e.el;
    const i = e.info;
    el.card.dataset.id = e.id;
    el.card.dataset.cgroup = i.cgroup || '';
    el.card.classList.toggle('ended', !!i.ended);
    const cpuDiagnosis = e.detail && e.detail.diagnosis && e.detail.diagnosis.cpu;
    setBadge(el.badge, (cpuDiagnosis && cpuDiagnosis.outcome) || i.cpu_outcome);
    el.name.textContent = i.name || i.cgroup || e.id;
    el.name.title = i.name || '';
    const meta = [i.runtime, i.namespace && i.pod ? i.namespace + '/' + i.pod : i.pod, i.qos, i.ended ? 'ended' : null]
      .filter(Boolean);
    el.meta.textContent = meta.join(' · ');
    el.cgroup.textContent = i.cgroup || '';
    el.cgroup.title = i.cgroup || '';

    const w = i.last_window;
    el.p50.textContent = w ? fmtUs(w.runq_p50_us) : '–';
    el.p99.textContent = w ? fmtUs(w.runq_p99_us) : '–';
    const f = e.frame;
    const seconds = f && f.window_s > 0 ? f.window_s : 1;
    el.waits.textContent = f ? fmtNum(f.runq_count / seconds, 0) : '0';
    const cores = f ? f.cpu_usage_cores : (w ? w.cpu_usage_cores : null);
    el.cpu.textContent = cores === null || cores === undefined ? '–' : fmtNum(cores, 2) + ' cores';
    const periods = f ? f.periods : 0;
    el.throttled.textContent = periods > 0 ? Math.round(100 * f.throttled_periods / periods) + '%' : (f ? 'no quota' : '–');
    el.throttledTime.textContent = f ? fmtNum(1000 * f.throttled_s / seconds, 1) + ' ms/s' : '–';

    const p = (f && f.preempted) || { same: 0, other: 0, host: 0, unknown: 0 };
    const total = p.same + p.other + p.host + p.unknown;
    const cumulative = i.cumulative && i.cumulative.preempted;
    const since = cumulative ? cumulative.same + cumulative.other + cumulative.host + cumulative.unknown : null;
    el.preemptTotal.textContent = '· ' + total + (since !== null ? ' (' + since + ' since start)' : '');
    for (const k of ['same', 'other', 'host', 'unknown']) {
      el.segs[k].style.width = total > 0 ? (100 * p[k] / total) + '%' : '0';
      el.counts[k].textContent = String(p[k]);
    }
    const top = e.detail && Array.isArray(e.detail.top_preemptors) ? e.detail.top_preemptors.slice(0, 3) : [];
    el.neighbours.textContent = top.length ? 'top preemptors: ' + top.map(t => t.cgroup + ' (' + t.count + ')').join(', ') : '';
    el.neighbours.title = el.neighbours.textContent;

    if (e.heatDirty) { drawHeatmap(el.canvas, e.heat); e.heatDirty = false; }
    if (e.detailDirty) { renderDiagnoses(el.diagnoses, e.detail); e.detailDirty = false; }
  }

  function renderDiagnoses(root, detail) {
    root.replaceChildren();
    const d = detail && detail.diagnosis;
    if (!d || Object.keys(d).length === 0) {
      const p = document.createElement('div');
      p.className = 'muted';
      p.textContent = 'no diagnosis yet (it has not run in a window)';
      root.append(p);
      return;
    }
    // CPU first, its path open; the other resources one line each, the path on click.
    const order = ['cpu'].concat(Object.keys(d).filter(k => k !== 'cpu').sort());
    for (const resource of order) {
      const r = d[resource];
      if (!r) continue;
      root.append(diagnosisBlock(resource, r, resource !== 'cpu'));
    }
  }

  function diagnosisBlock(resource, r, secondary) {
    const box = document.createElement('div');
    box.className = 'diagnosis ' + resource + (secondary ? ' secondary' : '');
    box.dataset.resource = resource;
    const head = document.createElement('div');
    head.className = 'head';
    const label = document.createElement('span');
    label.className = 'resource';
    label.textContent = resource;
    const badge = document.createElement('span');
    setBadge(badge, r.outcome);
    const summary = document.createElement('span');
    summary.className = 'summary-text';
    // An undecidable verdict's summary already says why ("cannot decide: <reason>"): the reason once, not twice.
    const reason = r.undecidable_reason;
    summary.textContent = reason && !(r.summary || '').includes(reason) ? (r.summary ? r.summary + ' (' + reason + ')' : reason) : (r.summary || '');
    head.append(label, badge, summary);
    box.append(head);
    if (secondary) head.addEventListener('click', () => box.classList.toggle('open'));

    const steps = document.createElement('ol');
    steps.className = 'path';
    for (const s of r.path || []) {
      const li = document.createElement('li');
      li.dataset.metric = s.metric;
      li.dataset.result = s.result ? 'yes' : 'no';
      const answer = document.createElement('span');
      answer.className = 'answer ' + (s.result ? 'yes' : 'no');
      answer.textContent = s.result ? 'yes' : 'no';
      const step = document.createElement('span');
      step.className = 'step';
      step.textContent = s.step + '?';
      const metric = document.createElement('span');
      metric.className = 'metric';
      metric.textContent = s.metric + ' = ' + fmtValue(s.value) + ' (threshold ' + fmtValue(s.threshold) + ')';
      li.append(answer, step, metric);
      steps.append(li);
    }
    box.append(steps);
    return box;
  }

  // Heatmap: x = the last HISTORY frames (now at the right), y = run-queue latency bucket
  // (1 µs at the bottom, powers of two up), colour = waits in that bucket in that window,
  // on a log scale relative to the busiest cell shown.
  const RAMP = [[0, [40, 30, 90]], [0.35, [110, 45, 140]], [0.6, [195, 70, 120]], [0.8, [240, 130, 60]], [1, [250, 225, 75]]];

  function rampColour(t) {
    for (let k = 1; k < RAMP.length; k++) {
      if (t <= RAMP[k][0]) {
        const [t0, c0] = RAMP[k - 1];
        const [t1, c1] = RAMP[k];
        const u = (t - t0) / (t1 - t0);
        return 'rgb(' + c0.map((v, j) => Math.round(v + u * (c1[j] - v))).join(',') + ')';
      }
    }
    return 'rgb(250,225,75)';
  }

  function drawHeatmap(canvas, heat) {
    const dpr = window.devicePixelRatio || 1;
    const cssWidth = canvas.clientWidth || 480;
    const cssHeight = canvas.clientHeight || 150;
    if (canvas.width !== Math.round(cssWidth * dpr)) canvas.width = Math.round(cssWidth * dpr);
    if (canvas.height !== Math.round(cssHeight * dpr)) canvas.height = Math.round(cssHeight * dpr);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssWidth, cssHeight);
    const rows = state.bounds.length + 1;
    const axis = 34;
    const plotWidth = cssWidth - axis;
    const cellW = plotWidth / HISTORY;
    const cellH = cssHeight / rows;
    let max = 0;
    for (const col of heat) if (col) for (const v of col) if (v > max) max = v;
    const offset = HISTORY - heat.length;
    if (max > 0) {
      const logMax = Math.log1p(max);
      heat.forEach((col, x) => {
        if (!col) return;
        for (let y = 0; y < col.length && y < rows; y++) {
          if (col[y] <= 0) continue;
          ctx.fillStyle = rampColour(Math.log1p(col[y]) / logMax);
          ctx.fillRect(axis + (offset + x) * cellW, cssHeight - (y + 1) * cellH, Math.ceil(cellW), Math.ceil(cellH));
        }
      });
    }
    const muted = getComputedStyle(document.documentElement).getPropertyValue('--muted') || '#888';
    ctx.fillStyle = muted;
    ctx.font = '10px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    for (const i of [0, 10, 20]) {
      if (i >= state.bounds.length) continue;
      const y = cssHeight - (i + 0.5) * cellH;
      ctx.fillText('≤' + fmtBound(state.bounds[i]), 0, y);
      ctx.fillRect(axis - 3, y, 3, 1);
    }
  }

  // What the verdicts panel (verdicts.js, loaded after this file) shares with the containers view.
  window.aiopsDashboard = Object.freeze({ tokenKey: TOKEN_KEY, authHeaders, fmtNum });

  start();
})();
