// AIOps.Trace dashboard. The answer first (GET /api/v1/summary: how many containers are held
// back, by what, worst first, with the next step), then every container in one virtualised,
// sortable, filterable list (GET /api/v1/containers every 2 s, live figures from the SSE stream
// /api/v1/stream, read with fetch so a bearer token can be sent), and one container at a time in
// the detail view: its heatmap, figures and the wizard (GET /api/v1/containers/{id}/wizard), each
// question of each tree with its evidence, the branch not taken, and the action where it ends.
// Every string from the server is inserted with textContent or as an attribute value, never
// parsed as HTML: a container named "<img src=x onerror=...>" is shown as those characters.
'use strict';

(() => {
  const HISTORY = 120;            // heatmap columns (frames) kept per container
  const LIST_EVERY_MS = 2000;     // exact p50/p99, identities and the host's answer
  const DETAIL_EVERY_MS = 2000;   // the open container's diagnosis and wizard
  const ROW_HEIGHT = 34;          // px, fixed: the list renders only the rows in view
  const ANSWER_ROWS = 8;          // affected containers listed in the answer
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
    order: [],               // entries, sorted and filtered, as the list shows them
    orderDirty: true,
    sort: { key: 'severity', desc: true },
    filter: '',
    summary: null,           // the last /api/v1/summary answer
    severityById: new Map(), // id -> the answer's severity for that container
    selected: null,          // id of the container in the detail view
    detail: null,            // its /api/v1/containers/{id}
    wizard: null,            // its /api/v1/containers/{id}/wizard
    card: null,              // the detail view's card elements
    stream: null,            // AbortController of the open stream
    timers: [],
    started: false,
    renderQueued: false,
  };

  const $ = (id) => document.getElementById(id);

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
    cap_throttled: 'bad', oom_at_limit: 'bad', throttle_limited: 'bad', bandwidth_limited: 'bad', limit_reclaim: 'bad',
    cpuset_throttled: 'warn', share_throttled: 'warn', physical_cpu_throttled: 'warn',
    high_throttled: 'warn', host_pressure: 'warn', contention: 'warn', device_saturated: 'warn',
    not_throttled_dig_further: 'info', undecidable: 'info',
    not_throttled: 'ok', not_limited: 'ok',
  };
  // The CPU outcome's severity as the server's guide has it (DiagnosisGuide): used until the
  // host's answer names a container's worst verdict over every resource.
  const CPU_SEVERITY = {
    cap_throttled: 3, cpuset_throttled: 2, share_throttled: 2, physical_cpu_throttled: 2, not_throttled_dig_further: 1, not_throttled: 0,
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
      e = { id, info: { id }, heat: [], frame: null, row: null };
      state.containers.set(id, e);
      state.orderDirty = true;
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
    for (const id of Array.from(state.containers.keys())) {
      if (!seen.has(id)) state.containers.delete(id);
    }
    state.orderDirty = true;
  }

  function applySummary(doc) {
    state.summary = doc;
    state.severityById = new Map(((doc.answer && doc.answer.worst) || []).map(a => [a.id, a.severity]));
    state.orderDirty = true;
  }

  function onHello(h) {
    state.node = h.node || state.node;
    if (Array.isArray(h.bounds_us)) state.bounds = h.bounds_us;
  }

  // A frame holds only the containers that ran in the window (sparse histogram deltas): the
  // work per frame grows with them, and a container's heatmap keeps references to its columns,
  // drawn only while it is the one in the detail view.
  function onFrame(f) {
    state.frames++;
    state.seq = f.seq;
    if (state.window) {
      state.window = Object.assign({}, state.window, { seq: f.seq, window_s: f.window_s, lost_events: f.lost_events });
    }
    const ran = new Set();
    for (const c of f.containers || []) {
      ran.add(c.id);
      const e = entryFor(c.id);
      // Identity and outcome travel in every frame: a container new since the last list is shown at once.
      e.info = Object.assign({}, e.info, {
        id: c.id, cgroup: c.cgroup, name: c.name, container: c.container, pod: c.pod,
        namespace: c.namespace, ended: c.ended, cpu_outcome: c.cpu_outcome,
      });
      e.frame = c;
      pushColumn(e, c.runq || null);
    }
    for (const e of state.containers.values()) {
      if (!ran.has(e.id)) {
        e.frame = null;
        pushColumn(e, null);
      }
    }
    for (const id of f.removed || []) state.containers.delete(id);
    state.orderDirty = true;
    if (f.dropped_frames > 0) refreshList();   // frames were lost: resynchronise
    scheduleRender();
  }

  function pushColumn(e, column) {
    if (column === null && e.heat.length === 0) return;
    e.heat.push(column);
    if (e.heat.length > HISTORY) e.heat.shift();
    if (e.id === state.selected) state.heatDirty = true;
  }

  // ---- network -------------------------------------------------------------------------------

  async function refreshList() {
    try {
      applyList(await getJson('/api/v1/containers'));
      applySummary(await getJson('/api/v1/summary'));
      setStatus(state.stream ? 'live' : 'down', state.stream ? null : 'stream reconnecting…');
      scheduleRender();
    } catch (err) {
      handleError(err);
    }
  }

  async function refreshDetail() {
    const id = state.selected;
    if (!id) return;
    try {
      const [detail, wizard] = await Promise.all([
        getJson('/api/v1/containers/' + encodeURIComponent(id)),
        getJson('/api/v1/containers/' + encodeURIComponent(id) + '/wizard'),
      ]);
      if (state.selected !== id) return;
      state.detail = detail;
      state.wizard = wizard;
      state.detailDirty = true;
      scheduleRender();
    } catch (err) {
      if (err instanceof Unauthorized) handleError(err);
      else if (err instanceof NotFound && state.selected === id) {
        state.detail = null;
        state.wizard = null;
        state.detailDirty = true;
        scheduleRender();
      }
    }
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
        $('list-section').hidden = true;
        setStatus('live', 'analysis only');
        return;
      }
      handleError(err);
      if (!(err instanceof Unauthorized)) setTimeout(start, 3000);
      return;
    }
    state.started = true;
    await refreshList();
    openStream();
    selectFromHash();
    state.timers.push(setInterval(refreshList, LIST_EVERY_MS));
    state.timers.push(setInterval(refreshDetail, DETAIL_EVERY_MS));
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
    state.orderDirty = true;
    $('list-viewport').scrollTop = 0;
    scheduleRender();
  });

  for (const button of $('list-header').querySelectorAll('[data-sort]')) {
    button.addEventListener('click', () => {
      const key = button.dataset.sort;
      state.sort = state.sort.key === key ? { key, desc: !state.sort.desc } : { key, desc: key !== 'name' };
      state.orderDirty = true;
      scheduleRender();
    });
  }

  $('list-viewport').addEventListener('scroll', scheduleRender, { passive: true });
  window.addEventListener('resize', scheduleRender);
  window.addEventListener('hashchange', selectFromHash);
  $('detail-close').addEventListener('click', () => select(null));

  // ---- selection -----------------------------------------------------------------------------

  function selectFromHash() {
    const m = /^#c=(.+)$/.exec(location.hash);
    const id = m ? decodeURIComponent(m[1]) : null;
    if (id !== state.selected) select(id, false);
  }

  function select(id, updateHash = true) {
    state.selected = id;
    state.detail = null;
    state.wizard = null;
    state.detailDirty = true;
    state.heatDirty = true;
    if (updateHash) {
      const hash = id ? '#c=' + encodeURIComponent(id) : '';
      if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname);
    }
    if (id) refreshDetail();
    scheduleRender();
    if (id) $('detail').scrollIntoView({ block: 'nearest' });
  }

  // ---- rendering -----------------------------------------------------------------------------

  // Everything is drawn in one animation frame, however many frames or answers arrived.
  function scheduleRender() {
    if (state.renderQueued) return;
    state.renderQueued = true;
    requestAnimationFrame(() => { state.renderQueued = false; render(); });
  }

  function setStatus(kind, text) {
    const dot = $('live-dot');
    dot.className = 'dot ' + (kind === 'live' ? 'live' : 'down');
    $('live-text').textContent = text || (kind === 'live' ? 'live · ' + state.frames + ' frames' : 'disconnected');
  }

  function severity(e) {
    const s = state.severityById.get(e.id);
    return s !== undefined ? s : (CPU_SEVERITY[e.info.cpu_outcome] || 0);
  }

  function perSecond(e, v) {
    const f = e.frame;
    return f && f.window_s > 0 ? v / f.window_s : v;
  }

  const SORT_VALUE = {
    severity: (e) => severity(e),
    name: (e) => String(e.info.name || e.info.cgroup || e.id),
    p99: (e) => (e.info.last_window && e.info.last_window.runq_p99_us) || 0,
    p50: (e) => (e.info.last_window && e.info.last_window.runq_p50_us) || 0,
    waits: (e) => (e.frame ? perSecond(e, e.frame.runq_count) : 0),
    cpu: (e) => (e.frame ? e.frame.cpu_usage_cores : e.info.last_window ? e.info.last_window.cpu_usage_cores : 0) || 0,
    throttled: (e) => (e.frame ? perSecond(e, e.frame.throttled_s) : 0),
    other: (e) => (e.frame && e.frame.preempted ? e.frame.preempted.other : 0),
    verdict: (e) => (e.info.verdict && e.info.verdict.severity) || 0,
  };

  function matches(e) {
    if (!state.filter) return true;
    const i = e.info;
    return [i.name, i.cgroup, i.pod, i.namespace, i.container, i.cpu_outcome]
      .some(s => typeof s === 'string' && s.toLowerCase().includes(state.filter));
  }

  function sortOrder() {
    const { key, desc } = state.sort;
    const value = SORT_VALUE[key] || SORT_VALUE.severity;
    const sign = desc ? -1 : 1;
    const p99 = SORT_VALUE.p99;
    const list = [];
    for (const e of state.containers.values()) if (e.info.cgroup !== undefined && matches(e)) list.push(e);
    const keyed = list.map(e => ({ e, v: value(e), p: p99(e), n: String(e.info.name || e.info.cgroup || e.id) }));
    keyed.sort((a, b) => (a.e.info.ended === b.e.info.ended ? 0 : a.e.info.ended ? 1 : -1)
      || (typeof a.v === 'string' ? sign * a.v.localeCompare(b.v) : sign * (a.v - b.v))
      || b.p - a.p
      || a.n.localeCompare(b.n));
    state.order = keyed.map(k => k.e);
    state.orderDirty = false;
  }

  function render() {
    const eng = state.engine;
    const win = state.window;
    $('node').textContent = state.node || '–';
    $('tier').textContent = eng ? (eng.mode === 'procfs' ? 'procfs sampling' : eng.attach + ' + ' + eng.ring) : '–';
    $('window').textContent = win ? fmtNum(win.window_s, 2) + ' s' : '–';
    $('seq').textContent = String(state.seq);
    $('idle').textContent = win && isFinite(win.host_idle_ratio) ? Math.round(win.host_idle_ratio * 100) + '% of ' + win.cpus + ' CPUs' : '–';
    $('lost').textContent = eng ? String(eng.lost_events_total) + (eng.skipped_events_total ? ' (+' + eng.skipped_events_total + ' skipped)' : '') : '–';
    if (state.stream && state.started) setStatus('live');

    renderAnswer();
    if (state.orderDirty) sortOrder();
    renderList();
    renderDetail();
  }

  function renderAnswer() {
    const doc = state.summary;
    if (!doc || !doc.answer) return;
    const a = doc.answer;
    $('answer').hidden = false;
    $('answer').dataset.affected = String(a.affected);
    $('answer-headline').textContent = a.headline;
    $('answer-counts').textContent = (a.by_outcome || []).map(o => o.label + ' ' + o.containers).join(' · ');
    const list = $('answer-list');
    const shown = (a.worst || []).slice(0, ANSWER_ROWS);
    while (list.children.length > shown.length) list.lastElementChild.remove();
    shown.forEach((w, i) => {
      let li = list.children[i];
      if (!li) {
        li = $('answer-template').content.firstElementChild.cloneNode(true);
        li.addEventListener('click', () => select(li.dataset.id));
        list.append(li);
      }
      li.dataset.id = w.id;
      li.dataset.outcome = w.outcome;
      li.dataset.resource = w.resource;
      setBadge(li.querySelector('.outcome'), w.outcome);
      li.querySelector('.res').textContent = w.resource;
      li.querySelector('.sentence').textContent = w.sentence;
      li.querySelector('.next').textContent = 'next: ' + w.next_step;
    });
    const more = (a.worst || []).length - shown.length;
    $('answer-more').hidden = more <= 0;
    $('answer-more').textContent = more > 0 ? more + ' more held back: sort the list by outcome to see them all' : '';
  }

  // The list: a spacer as tall as every row, and a pool of row elements moved to the rows in view.
  function renderList() {
    const order = state.order;
    $('count').textContent = String(order.length);
    $('empty').hidden = order.length > 0;
    $('list-meta').textContent = order.length + (state.filter ? ' matching' : '') + ' · sorted by ' + state.sort.key + (state.sort.desc ? ' ↓' : ' ↑');
    $('list').setAttribute('aria-rowcount', String(order.length));
    for (const b of $('list-header').querySelectorAll('[data-sort]')) {
      b.classList.toggle('sorted', b.dataset.sort === state.sort.key);
      b.dataset.dir = b.dataset.sort === state.sort.key ? (state.sort.desc ? 'desc' : 'asc') : '';
    }
    const viewport = $('list-viewport');
    const spacer = $('list-spacer');
    spacer.style.height = (order.length * ROW_HEIGHT) + 'px';
    // As tall as its rows, up to most of the window: a short list leaves room for the detail view.
    const height = Math.max(3 * ROW_HEIGHT, Math.min(Math.round(window.innerHeight * 0.62), order.length * ROW_HEIGHT + 2));
    if (viewport.style.height !== height + 'px') viewport.style.height = height + 'px';
    const first = Math.max(0, Math.floor(viewport.scrollTop / ROW_HEIGHT) - 5);
    const visible = Math.ceil((viewport.clientHeight || 600) / ROW_HEIGHT) + 10;
    const last = Math.min(order.length, first + visible);
    const pool = state.rowPool || (state.rowPool = []);
    while (pool.length < last - first) {
      const el = $('row-template').content.firstElementChild.cloneNode(true);
      el.addEventListener('click', () => select(el.dataset.id));
      spacer.append(el);
      pool.push(el);
    }
    for (let k = 0; k < pool.length; k++) {
      const el = pool[k];
      const i = first + k;
      if (i >= last) { el.hidden = true; continue; }
      el.hidden = false;
      el.style.transform = 'translateY(' + (i * ROW_HEIGHT) + 'px)';
      fillRow(el, order[i], i);
    }
  }

  function fillRow(el, e, index) {
    const i = e.info;
    el.dataset.id = e.id;
    el.dataset.cgroup = i.cgroup || '';
    el.setAttribute('aria-rowindex', String(index + 1));
    el.classList.toggle('ended', !!i.ended);
    el.classList.toggle('selected', e.id === state.selected);
    const q = (sel) => el.querySelector(sel);
    setBadge(q('.outcome'), i.cpu_outcome);
    q('.name').textContent = i.name || i.cgroup || e.id;
    q('.sub').textContent = [i.namespace && i.pod ? i.namespace + '/' + i.pod : i.pod, i.cgroup].filter(Boolean).join(' · ');
    el.title = i.cgroup || '';
    const w = i.last_window;
    q('.p99').textContent = w ? fmtUs(w.runq_p99_us) : '–';
    q('.p50').textContent = w ? fmtUs(w.runq_p50_us) : '–';
    const f = e.frame;
    q('.waits').textContent = f ? fmtNum(perSecond(e, f.runq_count), 0) : '0';
    const cores = f ? f.cpu_usage_cores : (w ? w.cpu_usage_cores : null);
    q('.cpu').textContent = cores === null || cores === undefined ? '–' : fmtNum(cores, 2);
    q('.throttled').textContent = f && f.periods > 0 ? fmtNum(1000 * perSecond(e, f.throttled_s), 1) + ' ms/s' : (f ? 'no quota' : '–');
    q('.other').textContent = f && f.preempted ? String(f.preempted.other) : '0';
    const v = i.verdict;
    const verdict = q('.verdict');
    verdict.textContent = v ? v.status.replace(/_/g, ' ') + (v.severity !== null && v.severity !== undefined ? ' ' + fmtNum(v.severity, 2) : '') : '';
    verdict.className = 'col-verdict verdict ' + (v ? v.status : '');
  }

  function renderDetail() {
    const panel = $('detail');
    const id = state.selected;
    const e = id ? state.containers.get(id) : null;
    panel.hidden = !id;
    if (!id) return;
    if (!state.card) state.card = buildCard();
    const el = state.card;
    const info = (state.detail && state.detail.container) || (e && e.info) || { id };
    el.card.dataset.id = id;
    el.card.dataset.cgroup = info.cgroup || '';
    el.card.classList.toggle('ended', !!info.ended);
    setBadge(el.badge, (state.wizard && cpuOf(state.wizard)) || info.cpu_outcome);
    el.name.textContent = info.name || info.cgroup || id;
    el.meta.textContent = [info.runtime, info.namespace && info.pod ? info.namespace + '/' + info.pod : info.pod, info.qos, info.ended ? 'ended' : null]
      .filter(Boolean).join(' · ');
    el.cgroup.textContent = info.cgroup || '';
    const w = info.last_window;
    el.p50.textContent = w ? fmtUs(w.runq_p50_us) : '–';
    el.p99.textContent = w ? fmtUs(w.runq_p99_us) : '–';
    const f = e && e.frame;
    el.waits.textContent = f ? fmtNum(perSecond(e, f.runq_count), 0) : '0';
    const cores = f ? f.cpu_usage_cores : (w ? w.cpu_usage_cores : null);
    el.cpu.textContent = cores === null || cores === undefined ? '–' : fmtNum(cores, 2) + ' cores';
    el.throttled.textContent = f && f.periods > 0 ? Math.round(100 * f.throttled_periods / f.periods) + '%' : (f ? 'no quota' : '–');
    el.throttledTime.textContent = f ? fmtNum(1000 * perSecond(e, f.throttled_s), 1) + ' ms/s' : '–';
    const p = (f && f.preempted) || { same: 0, other: 0, host: 0, unknown: 0 };
    const total = p.same + p.other + p.host + p.unknown;
    el.preemptTotal.textContent = '· ' + total;
    for (const k of ['same', 'other', 'host', 'unknown']) {
      el.segs[k].style.width = total > 0 ? (100 * p[k] / total) + '%' : '0';
      el.counts[k].textContent = String(p[k]);
    }
    const top = state.detail && Array.isArray(state.detail.top_preemptors) ? state.detail.top_preemptors.slice(0, 3) : [];
    el.neighbours.textContent = top.length ? 'top preemptors: ' + top.map(t => t.cgroup + ' (' + t.count + ')').join(', ') : '';
    if (state.heatDirty) { drawHeatmap(el.canvas, e ? e.heat : []); state.heatDirty = false; }
    if (state.detailDirty) { renderWizard($('wizard'), state.wizard); state.detailDirty = false; }
  }

  function cpuOf(wizard) {
    const cpu = (wizard.resources || []).find(r => r.resource === 'cpu');
    return cpu ? cpu.outcome : null;
  }

  function buildCard() {
    const card = $('card-template').content.firstElementChild.cloneNode(true);
    $('detail-card').replaceChildren(card);
    const q = (sel) => card.querySelector(sel);
    return {
      card, badge: q('.outcome'), name: q('.name'), meta: q('.meta'), cgroup: q('.cgroup'),
      canvas: q('.heatmap'), p50: q('.p50'), p99: q('.p99'), waits: q('.waits'), cpu: q('.cpu'),
      throttled: q('.throttled'), throttledTime: q('.throttled-time'), preemptTotal: q('.preempt-total'),
      segs: { same: q('.seg.same'), other: q('.seg.other'), host: q('.seg.host'), unknown: q('.seg.unknown') },
      counts: { same: q('.n-same'), other: q('.n-other'), host: q('.n-host'), unknown: q('.n-unknown') },
      neighbours: q('.neighbours'),
    };
  }

  // The wizard: per resource (CPU open, the others one click away) each question in order, its
  // answer, the figure and threshold that decided it, where the figure comes from, where the
  // other answer would have led, and at the end the outcome, what to do and what to check next.
  function renderWizard(root, wizard) {
    root.replaceChildren();
    const resources = wizard && wizard.resources;
    if (!resources || resources.length === 0) {
      const p = document.createElement('p');
      p.className = 'muted';
      p.textContent = 'no diagnosis yet (it has not been decided in a window)';
      root.append(p);
      return;
    }
    for (const r of resources) {
      const box = document.createElement('details');
      box.className = 'wizard-resource diagnosis ' + r.resource;
      box.dataset.resource = r.resource;
      box.open = r.resource === 'cpu' || r.severity >= 2;
      const head = document.createElement('summary');
      head.className = 'head';
      const label = document.createElement('span');
      label.className = 'resource';
      label.textContent = r.resource;
      const badge = document.createElement('span');
      setBadge(badge, r.outcome);
      const summary = document.createElement('span');
      summary.className = 'summary-text';
      summary.textContent = r.summary || '';
      head.append(label, badge, summary);
      box.append(head);

      const steps = document.createElement('ol');
      steps.className = 'path steps';
      for (const s of r.steps || []) {
        const li = document.createElement('li');
        li.className = 'step';
        li.dataset.metric = s.metric;
        li.dataset.result = s.answer ? 'yes' : 'no';
        const q = document.createElement('div');
        q.className = 'question';
        const answer = document.createElement('span');
        answer.className = 'answer ' + (s.answer ? 'yes' : 'no');
        answer.textContent = s.answer ? 'yes' : 'no';
        const text = document.createElement('span');
        text.className = 'step-text';
        text.textContent = s.number + '. ' + s.question + '?';
        const metric = document.createElement('span');
        metric.className = 'metric';
        metric.textContent = s.metric + ' = ' + fmtValue(s.value) + ' (threshold ' + fmtValue(s.threshold) + ')';
        q.append(answer, text, metric);
        const source = document.createElement('div');
        source.className = 'source muted';
        source.textContent = s.source ? 'from ' + s.source : '';
        const branches = document.createElement('div');
        branches.className = 'branches';
        const taken = document.createElement('span');
        taken.className = 'taken';
        taken.textContent = (s.answer ? 'yes' : 'no') + ' → ' + s.taken;
        const other = document.createElement('span');
        other.className = 'not-taken muted';
        other.textContent = 'not taken: ' + (s.answer ? 'no' : 'yes') + ' → ' + s.not_taken;
        branches.append(taken, other);
        li.append(q, source, branches);
        steps.append(li);
      }
      box.append(steps);

      const end = document.createElement('div');
      end.className = 'outcome-end';
      const what = document.createElement('div');
      what.className = 'ends';
      what.textContent = 'Outcome: ' + r.label + (r.undecidable_reason && !(r.summary || '').includes(r.undecidable_reason) ? ' (' + r.undecidable_reason + ')' : '');
      const next = document.createElement('div');
      next.className = 'next-step';
      next.textContent = 'Next step: ' + r.next_step;
      const check = document.createElement('div');
      check.className = 'check-next muted';
      check.textContent = 'Check next: ' + r.check_next;
      end.append(what, next, check);
      box.append(end);
      root.append(box);
    }
  }

  // Heatmap: x = the last HISTORY frames (now at the right), y = run-queue latency bucket
  // (1 µs at the bottom, powers of two up), colour = waits in that bucket in that window,
  // on a log scale relative to the busiest cell shown. Columns are the frames' sparse
  // {bucket: count} objects (null: it did not run).
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
    for (const col of heat) if (col) for (const k in col) if (col[k] > max) max = col[k];
    const offset = HISTORY - heat.length;
    if (max > 0) {
      const logMax = Math.log1p(max);
      heat.forEach((col, x) => {
        if (!col) return;
        for (const k in col) {
          const y = Number(k);
          if (!(y >= 0 && y < rows) || col[k] <= 0) continue;
          ctx.fillStyle = rampColour(Math.log1p(col[k]) / logMax);
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
  window.aiopsDashboard = Object.freeze({ tokenKey: TOKEN_KEY, authHeaders, fmtNum, select });

  start();
})();
