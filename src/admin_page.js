/* ConcordKV admin page: the cluster view, charts and membership buttons (served at /admin.js,
 * see src/admin_page.html and docs/ADMIN.md). Talks to its own origin only: the node the page
 * came from gathers the other nodes' status and metrics, and forwards changes to the leader. */
'use strict';

(function () {
  const TOKEN_KEY = 'concordkv-admin-token';
  const POLL_MS = 1000;
  const HISTORY_S = 120;
  const RETRY_MS = 15000; /* how long a change answered "retryable" is retried */

  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let view = null;          /* the last /api/cluster/status */
  let busy = false;         /* a change is under way: its buttons are disabled */
  let prev = null;          /* the previous metrics sample: {node, t, ops, commit, batch} */
  const series = { ops: [], p50: [], p99: [], bmean: [], bp99: [] }; /* [{t, v}] */

  /* ---- the API ---- */

  class ApiError extends Error {
    constructor(message, status, retryable) {
      super(message);
      this.status = status;
      this.retryable = !!retryable;
    }
  }

  /* METHOD PATH on this origin, with the token; BODY (an object) makes it a JSON POST that
   * a follower forwards to the leader. Resolves to the JSON (or the text) of a 2xx answer. */
  async function api(method, path, body) {
    const headers = {};
    if (token) headers.Authorization = 'Bearer ' + token;
    const opts = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['X-ConcordKV-Forward'] = '1';
      opts.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, opts);
    } catch (e) {
      throw new ApiError('cannot reach this node (' + e.message + ')', 0, true);
    }
    const text = await resp.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) { /* /metrics is text */ }
    if (!resp.ok) {
      const msg = json && json.error ? json.error : 'HTTP ' + resp.status;
      throw new ApiError(msg, resp.status, json && json.retryable);
    }
    return json !== null ? json : text;
  }

  /* ---- Prometheus text ---- */

  /* name -> [{labels, value}] */
  function parseMetrics(text) {
    const out = new Map();
    for (const line of text.split('\n')) {
      if (line === '' || line[0] === '#') continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
      if (!m) continue;
      const labels = {};
      if (m[3]) {
        for (const kv of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
          labels[kv[1]] = kv[2];
      }
      const value = m[4] === '+Inf' ? Infinity : parseFloat(m[4]);
      if (!out.has(m[1])) out.set(m[1], []);
      out.get(m[1]).push({ labels, value });
    }
    return out;
  }

  function metricSum(metrics, name) {
    return (metrics.get(name) || []).reduce((a, s) => a + s.value, 0);
  }

  /* A histogram: {buckets: [{le, n}] cumulative and sorted, sum, count}. */
  function histogram(metrics, name) {
    const buckets = (metrics.get(name + '_bucket') || [])
      .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : parseFloat(s.labels.le), n: s.value }))
      .sort((a, b) => a.le - b.le);
    return { buckets, sum: metricSum(metrics, name + '_sum'), count: metricSum(metrics, name + '_count') };
  }

  /* What happened between two samples of one histogram. */
  function histDelta(now, then) {
    if (!then || now.buckets.length !== then.buckets.length) return null;
    return {
      buckets: now.buckets.map((b, i) => ({ le: b.le, n: b.n - then.buckets[i].n })),
      sum: now.sum - then.sum,
      count: now.count - then.count,
    };
  }

  /* Quantile Q of a (delta) histogram, interpolated linearly in its bucket as Prometheus's
   * histogram_quantile does (from MIN, the least possible value, in the first bucket); null
   * without observations. */
  function quantile(h, q, min) {
    if (!h || h.count <= 0) return null;
    const rank = q * h.count;
    let lower = Math.min(min || 0, h.buckets.length ? h.buckets[0].le : 0), below = 0;
    for (const b of h.buckets) {
      if (b.n >= rank) {
        if (b.le === Infinity) return lower;
        const inBucket = b.n - below;
        return inBucket > 0 ? lower + (b.le - lower) * (rank - below) / inBucket : b.le;
      }
      lower = b.le;
      below = b.n;
    }
    return lower;
  }

  /* ---- the nodes table ---- */

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('data-')) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function leaderEntry(v) {
    return v.nodes.find((n) => n.status && n.status.state === 'leader') ||
      v.nodes.find((n) => n.id === v.leader);
  }

  /* [class, text, title] of a node's health. */
  function health(n) {
    const s = n.status;
    if (!s) return ['bad', 'unreachable', n.error || ''];
    if (s.membership !== 'member') return ['warn', s.membership, ''];
    if (s.state === 'unavailable' || s.state === 'candidate') return ['bad', s.state, ''];
    if (!s.leader) return ['bad', 'no leader', ''];
    return ['ok', 'healthy', 'up ' + s.uptime_seconds + ' s, ' + s.keys + ' keys'];
  }

  function renderNodes(v) {
    const tbody = $('nodes').tBodies[0];
    const lead = leaderEntry(v);
    const leaderCommit = lead && lead.status ? lead.status.commit_index : null;
    const rows = v.nodes.map((n) => {
      const s = n.status || {};
      const lag = leaderCommit !== null && n.status ? Math.max(0, leaderCommit - s.applied_index) : '';
      const [hc, ht, htitle] = health(n);
      const isLeader = n.status ? s.state === 'leader' : n.leader;
      const tr = el('tr', { 'data-id': n.id, class: (isLeader ? 'leader' : '') + (n.id === v.self ? ' self' : '') },
        el('td', {}, n.id),
        el('td', {}, el('code', {}, n.address || '-')),
        el('td', {}, el('code', {}, n.resp_address || '-')),
        el('td', {}, el('code', {}, n.admin_address || '-')),
        el('td', {}, n.role),
        el('td', { class: 'state' + (isLeader ? ' state-leader' : '') }, n.status ? s.state : '?'),
        el('td', { class: 'num' }, n.status ? s.term : ''),
        el('td', { class: 'num' }, n.status ? s.commit_index : ''),
        el('td', { class: 'num' }, n.status ? s.applied_index : ''),
        el('td', { class: 'num lag' }, lag),
        el('td', {}, el('span', { class: 'health ' + hc, title: htitle }, ht)),
        el('td', { class: 'row-actions' },
          el('button', { type: 'button', class: 'transfer-to', disabled: busy || isLeader || n.role !== 'voter',
            title: 'move leadership to node ' + n.id, onclick: () => transfer(n.id) }, 'Make leader'),
          el('button', { type: 'button', class: 'remove danger', disabled: busy,
            title: 'remove node ' + n.id + ' from the cluster', onclick: () => removeNode(n.id) }, 'Remove')));
      return tr;
    });
    tbody.replaceChildren(...rows);
    const self = v.nodes.find((n) => n.id === v.self);
    $('self-id').textContent = v.self;
    $('leader-id').textContent = lead ? lead.id : 'none';
    $('term').textContent = self && self.status ? self.status.term : '?';
    $('version').textContent = self && self.status ? self.status.version : '';
    $('transfer-any').disabled = busy;
    renderChartChoices(v);
  }

  function renderChartChoices(v) {
    const sel = $('chart-node');
    const want = ['leader', ...v.nodes.map((n) => String(n.id))];
    const have = [...sel.options].map((o) => o.value);
    if (want.join() === have.join()) return;
    const cur = sel.value;
    sel.replaceChildren(el('option', { value: 'leader' }, 'the leader'),
      ...v.nodes.map((n) => el('option', { value: String(n.id) }, 'node ' + n.id)));
    sel.value = want.includes(cur) ? cur : 'leader';
  }

  /* ---- banner and results ---- */

  function banner(msg) {
    const b = $('banner');
    b.textContent = msg || '';
    b.classList.toggle('hidden', !msg);
  }

  function result(kind, msg) {
    const r = $('result');
    r.className = 'result ' + kind;
    r.textContent = msg;
  }

  function explain(e) {
    if (e.status === 401) return e.message + ' — enter the admin token above';
    return e.message + (e.status ? ' (HTTP ' + e.status + ')' : '');
  }

  /* ---- changes ---- */

  /* POST BODY to PATH after the user confirms QUESTION; retryable refusals are retried. */
  async function change(question, path, body) {
    if (busy || !window.confirm(question)) return;
    busy = true;
    if (view) renderNodes(view);
    result('busy', 'working…');
    const deadline = Date.now() + RETRY_MS;
    try {
      for (;;) {
        try {
          const r = await api('POST', path, body);
          result('ok', r.message || 'done');
          break;
        } catch (e) {
          if (!e.retryable || Date.now() > deadline) throw e;
          result('busy', e.message + '; retrying…');
          await new Promise((res) => setTimeout(res, 500));
        }
      }
    } catch (e) {
      result('error', explain(e));
    } finally {
      busy = false;
      refresh();
    }
  }

  function transfer(id) {
    if (id === undefined) {
      change('Move leadership to the most up-to-date other voter?', '/api/cluster/transfer', {});
    } else {
      change('Move leadership to node ' + id + '?', '/api/cluster/transfer', { id });
    }
  }

  function removeNode(id) {
    change('Remove node ' + id + ' from the cluster? It stops serving.', '/api/cluster/remove', { id });
  }

  function addNode(ev) {
    ev.preventDefault();
    const f = ev.target;
    const body = { id: parseInt(f.elements.id.value, 10), address: f.elements.address.value.trim() };
    for (const k of ['resp_address', 'admin_address'])
      if (f.elements[k].value.trim()) body[k] = f.elements[k].value.trim();
    change('Add node ' + body.id + ' at ' + body.address + ' as a voter?', '/api/cluster/add', body);
  }

  /* ---- charts ---- */

  function push(list, t, v) {
    list.push({ t, v });
    while (list.length && list[0].t < t - HISTORY_S * 1000) list.shift();
  }

  function sample(nodeId, text) {
    const m = parseMetrics(text);
    const now = {
      node: nodeId, t: Date.now(),
      ops: metricSum(m, 'concordkv_commands_total'),
      commit: histogram(m, 'concordkv_raft_commit_seconds'),
      batch: histogram(m, 'concordkv_raft_batch_size'),
    };
    if (prev && prev.node === nodeId && now.ops >= prev.ops) {
      const dt = (now.t - prev.t) / 1000;
      const commit = histDelta(now.commit, prev.commit);
      const batch = histDelta(now.batch, prev.batch);
      const ms = (x) => (x === null ? null : x * 1000);
      push(series.ops, now.t, dt > 0 ? (now.ops - prev.ops) / dt : null);
      push(series.p50, now.t, ms(quantile(commit, 0.5)));
      push(series.p99, now.t, ms(quantile(commit, 0.99)));
      push(series.bmean, now.t, batch && batch.count > 0 ? batch.sum / batch.count : null);
      push(series.bp99, now.t, quantile(batch, 0.99, 1)); /* a log entry holds 1 command or more */
    }
    /* a new leader (or a restart) starts a new baseline: its counters are not the old one's */
    prev = now;
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const f of [1, 2, 2.5, 5, 10]) if (f * p >= v) return f * p;
    return 10 * p;
  }

  function fmt(v) {
    if (v === null || v === undefined) return '–';
    if (v === 0) return '0';
    if (v >= 1000) return Math.round(v).toLocaleString('en');
    if (v >= 10) return v.toFixed(0);
    if (v >= 1) return v.toFixed(1);
    return v.toFixed(2);
  }

  /* LINES: [{label, color, data}] on CANVAS, the last HISTORY_S seconds. */
  function drawChart(canvas, lines) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 520, h = canvas.clientHeight || 200;
    if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const left = 48, right = 16, top = 22, bottom = 20;
    const pw = w - left - right, ph = h - top - bottom;
    const now = Date.now(), t0 = now - HISTORY_S * 1000;
    let max = 0;
    for (const l of lines) for (const p of l.data) if (p.v !== null && p.v > max) max = p.v;
    max = niceMax(max);
    g.font = '11px system-ui, sans-serif';
    g.strokeStyle = '#e5e7eb';
    g.fillStyle = '#6b7280';
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (let i = 0; i <= 4; i++) {
      const y = top + ph - (ph * i) / 4;
      g.beginPath(); g.moveTo(left, y + 0.5); g.lineTo(left + pw, y + 0.5); g.stroke();
      g.fillText(fmt((max * i) / 4), left - 6, y);
    }
    g.textAlign = 'center';
    g.textBaseline = 'top';
    for (const s of [120, 90, 60, 30, 0]) {
      g.textAlign = s ? 'center' : 'right';
      g.fillText(s ? '−' + s + ' s' : 'now', left + pw - (pw * s) / HISTORY_S + (s ? 0 : right), top + ph + 5);
    }
    const x = (t) => left + ((t - t0) / (HISTORY_S * 1000)) * pw;
    const y = (v) => top + ph - (v / max) * ph;
    let lx = left;
    g.textAlign = 'left';
    for (const l of lines) {
      g.strokeStyle = l.color;
      g.lineWidth = 2;
      g.beginPath();
      let pen = false;
      for (const p of l.data) {
        if (p.v === null || p.t < t0) { pen = false; continue; }
        if (pen) g.lineTo(x(p.t), y(p.v)); else g.moveTo(x(p.t), y(p.v));
        pen = true;
      }
      g.stroke();
      const last = l.data.length ? l.data[l.data.length - 1].v : null;
      const text = l.label + ' ' + fmt(last);
      g.fillStyle = l.color;
      g.fillRect(lx, 6, 10, 3);
      g.fillStyle = '#374151';
      g.textBaseline = 'middle';
      g.fillText(text, lx + 14, 8);
      lx += g.measureText(text).width + 30;
    }
  }

  function drawCharts() {
    drawChart($('chart-ops'), [{ label: 'ops/s', color: '#2563eb', data: series.ops }]);
    drawChart($('chart-latency'), [{ label: 'p50', color: '#059669', data: series.p50 },
      { label: 'p99', color: '#dc2626', data: series.p99 }]);
    drawChart($('chart-batch'), [{ label: 'mean', color: '#7c3aed', data: series.bmean },
      { label: 'p99', color: '#ea580c', data: series.bp99 }]);
  }

  /* ---- the loop ---- */

  function chartTarget(v) {
    const want = $('chart-node').value;
    if (want !== 'leader') return parseInt(want, 10);
    const lead = leaderEntry(v);
    return lead ? lead.id : v.self;
  }

  let timer = null;
  async function refresh() {
    clearTimeout(timer);
    const started = Date.now();
    try {
      const v = await api('GET', '/api/cluster/status');
      view = v;
      renderNodes(v);
      banner('');
      const id = chartTarget(v);
      try {
        sample(id, await api('GET', '/api/cluster/metrics?id=' + id));
      } catch (e) {
        prev = null;
      }
      $('updated').textContent = 'updated ' + new Date().toLocaleTimeString('en-GB');
    } catch (e) {
      banner(explain(e));
      $('updated').textContent = 'not updated';
    }
    drawCharts();
    timer = setTimeout(refresh, Math.max(100, POLL_MS - (Date.now() - started)));
  }

  function init() {
    $('token').value = token;
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      token = $('token').value.trim();
      if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
      refresh();
    });
    $('token-clear').addEventListener('click', () => {
      token = '';
      $('token').value = '';
      sessionStorage.removeItem(TOKEN_KEY);
      refresh();
    });
    $('transfer-any').addEventListener('click', () => transfer());
    $('add-toggle').addEventListener('click', () => $('add-form').classList.toggle('hidden'));
    $('add-form').addEventListener('submit', addNode);
    $('chart-node').addEventListener('change', () => {
      prev = null;
      for (const k of Object.keys(series)) series[k].length = 0;
      refresh();
    });
    window.addEventListener('resize', drawCharts);
    /* read-only, for the browser test: the points the charts draw */
    window.concordkvAdmin = {
      series: () => JSON.parse(JSON.stringify(series)),
      quantileOf: (text, name, q, min) => quantile(histogram(parseMetrics(text), name), q, min),
    };
    refresh();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
