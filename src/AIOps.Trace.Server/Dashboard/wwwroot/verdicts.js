// AIOps.Trace dashboard, anomaly verdicts panel: per monitoring domain, its members with their
// verdict, score, off metrics, diagnosis and why they are in the domain, fed by GET
// /api/v1/verdicts and /api/v1/domains; confirm / normal buttons POST /api/v1/verdicts with the
// bearer token app.js asked for. Works on a sidecar and on an analysis-only host (no
// /api/v1/containers). Every string from the server goes in with textContent, never as HTML.
'use strict';

(() => {
  const EVERY_MS = 2000;
  const { tokenKey: TOKEN_KEY, authHeaders: headers, fmtNum: fmt } = window.aiopsDashboard;   // app.js
  const $ = (id) => document.getElementById(id);
  const domainTemplate = $('domain-template');
  const memberTemplate = $('member-template');
  const domains = new Map();   // domain id -> { root, meta, tbody, rows: Map(container -> row) }
  let acceptsLabels = false;

  // The token a 401 answered (undefined: none yet): no request is sent again until it changes.
  let refusedToken;

  async function refresh() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (refusedToken !== undefined && token === refusedToken) return;
    let verdicts, doms;
    try {
      const rv = await fetch('/api/v1/verdicts', { headers: headers(), cache: 'no-store' });
      if (rv.status === 401) { refusedToken = token; return; }   // app.js asks for the token
      refusedToken = undefined;
      const rd = await fetch('/api/v1/domains', { headers: headers(), cache: 'no-store' });
      if (!rv.ok || !rd.ok) return;
      verdicts = await rv.json();
      doms = await rd.json();
    } catch {
      return;
    }
    render(verdicts, doms);
  }

  function render(verdicts, doms) {
    $('verdicts').hidden = false;
    acceptsLabels = !!verdicts.accepts_labels;
    const meta = ['round ' + verdicts.seq, 'domains by ' + verdicts.grouping,
      verdicts.seeded_verdicts + ' stored verdict(s) seeded'];
    if (doms.silhouette !== null && doms.silhouette !== undefined) meta.push('silhouette ' + fmt(doms.silhouette, 2));
    if (!acceptsLabels) meta.push('labels need a server started with --token-file');
    $('verdicts-meta').textContent = meta.join(' · ');
    const problems = [verdicts.store_problem, verdicts.failure].filter(Boolean);
    $('verdicts-problem').hidden = problems.length === 0;
    $('verdicts-problem').textContent = problems.join(' — ');

    const byKey = new Map((verdicts.verdicts || []).map(v => [v.container, v]));
    const root = $('domains');
    const seen = new Set();
    // A domain of one container has no peers to compare with: they are listed on one collapsed
    // line, with why, and the domains that can judge come first, those with an abnormal member
    // before the rest, by their most severe member.
    const all = doms.domains || [];
    const lone = all.filter(d => d.members.length < 3);
    const ordered = all.filter(d => d.members.length >= 3)
      .sort((a, b) => (b.abnormal - a.abnormal) || (worst(b) - worst(a)) || a.id.localeCompare(b.id));
    renderLone(lone);
    place(ordered, root, byKey, seen);
    place(lone.sort((a, b) => a.id.localeCompare(b.id)), $('lone-list'), byKey, seen);
    for (const [id, block] of domains) {
      if (!seen.has(id)) { block.root.remove(); domains.delete(id); }
    }
  }

  function place(list, root, byKey, seen) {
    let previous = null;
    for (const d of list) {
      seen.add(d.id);
      const block = domainBlock(d.id);
      block.root.classList.toggle('has-abnormal', d.abnormal > 0);
      block.meta.textContent = d.members.length + ' member(s) · ' + d.detector + ' (' + d.detector_reason + ') · '
        + d.training_samples + ' training sample(s), ' + d.verified_samples + ' verified';
      const members = new Set();
      // Members by severity (one scale for every detector: abnormal ones at 0.5 and above), the unjudged last.
      const bySeverity = d.members.slice().sort((a, b) => sev(b) - sev(a) || a.container.localeCompare(b.container));
      for (const m of bySeverity) {
        members.add(m.container);
        updateRow(block, m, byKey.get(m.container));
        block.tbody.append(block.rows.get(m.container).tr);
      }
      for (const [key, row] of block.rows) {
        if (!members.has(key)) { row.tr.remove(); block.rows.delete(key); }
      }
      const want = previous ? previous.nextSibling : root.firstChild;
      if (want !== block.root) root.insertBefore(block.root, want);
      previous = block.root;
    }
  }

  function sev(m) {
    return m.severity === null || m.severity === undefined ? -1 : m.severity;
  }

  function worst(d) {
    return d.members.reduce((w, m) => Math.max(w, sev(m)), -1);
  }

  function renderLone(lone) {
    const box = $('lone-domains');
    box.hidden = lone.length === 0;
    if (lone.length === 0) return;
    $('lone-summary').textContent = lone.length + ' container(s) alone in their domain: too few peers to compare'
      + ' (a domain needs at least three members; group them with --domains to compare them)';
  }

  function domainBlock(id) {
    let b = domains.get(id);
    if (!b) {
      const root = domainTemplate.content.firstElementChild.cloneNode(true);
      root.dataset.domain = id;
      root.querySelector('.domain-id').textContent = id;
      b = { root, meta: root.querySelector('.domain-meta'), tbody: root.querySelector('tbody'), rows: new Map() };
      domains.set(id, b);
    }
    return b;
  }

  function updateRow(block, member, verdict) {
    let row = block.rows.get(member.container);
    if (!row) {
      row = buildRow(member.container);
      block.rows.set(member.container, row);
      block.tbody.append(row.tr);
    }
    const status = member.status;
    row.tr.className = 'member ' + status;
    row.tr.dataset.status = status;
    row.who.textContent = member.container;
    row.who.title = member.container;
    row.status.textContent = status.replace(/_/g, ' ');
    row.status.className = 'badge status ' + status;
    row.severity.textContent = member.severity === null || member.severity === undefined ? '–' : fmt(member.severity, 2);
    row.raw.textContent = member.score === null || member.score === undefined ? '' : '(raw ' + fmt(member.score, 2) + ')';
    row.tr.dataset.severity = member.severity === null || member.severity === undefined ? '' : String(member.severity);
    const off = verdict ? verdict.off_metrics || [] : [];
    row.off.textContent = off.map(m => m.metric + ' ' + fmt(m.value, 3) + ' (peers ' + fmt(m.reference, 3) + ')').join(', ');
    row.diag.textContent = (verdict && verdict.diagnosis) || '';
    row.why.textContent = member.explanation || '';
    row.why.title = verdict && verdict.reason ? verdict.reason : '';
    row.confirm.disabled = row.reject.disabled = !acceptsLabels || row.busy;
    row.kind.disabled = !acceptsLabels;
  }

  function buildRow(container) {
    const tr = memberTemplate.content.firstElementChild.cloneNode(true);
    tr.dataset.container = container;
    const q = (sel) => tr.querySelector(sel);
    const row = {
      tr, who: q('.who'), status: q('.status'), severity: q('.severity'), raw: q('.raw'), off: q('.off'), diag: q('.diag'), why: q('.why'),
      kind: q('.kind'), confirm: q('.confirm'), reject: q('.reject'), result: q('.label-result'), busy: false,
    };
    row.confirm.addEventListener('click', () => label(row, container, true));
    row.reject.addEventListener('click', () => label(row, container, false));
    return row;
  }

  async function label(row, container, abnormal) {
    const body = { container, abnormal };
    const kind = row.kind.value.trim();
    if (abnormal && kind) body.kind = kind;
    row.busy = true;
    row.confirm.disabled = row.reject.disabled = true;
    row.result.className = 'label-result muted';
    row.result.textContent = 'sending…';
    try {
      const r = await fetch('/api/v1/verdicts', {
        method: 'POST', headers: headers({ 'Content-Type': 'application/json' }), body: JSON.stringify(body), cache: 'no-store',
      });
      const answer = await r.json().catch(() => ({}));
      if (r.status === 201) {
        row.result.textContent = 'stored as verdict ' + answer.id + (answer.kind ? ' (' + answer.kind + ')' : '') + (abnormal ? ': anomaly' : ': normal');
        row.kind.value = '';
      } else {
        row.result.className = 'label-result failed';
        row.result.textContent = 'refused (HTTP ' + r.status + '): ' + (answer.error || '');
      }
    } catch (err) {
      row.result.className = 'label-result failed';
      row.result.textContent = 'not sent: ' + String(err.message || err);
    } finally {
      row.busy = false;
      row.confirm.disabled = row.reject.disabled = !acceptsLabels;
    }
  }

  refresh();
  setInterval(refresh, EVERY_MS);
})();
