// WOSLO operator console: plain JavaScript, no build step, nothing fetched from outside this coordinator.
//
// Safety rules kept throughout: every name that comes from the server is put into the page with textContent or a
// text node (never innerHTML), every name put into a URL path goes through encodeURIComponent, and the bearer
// token lives in sessionStorage and travels only in the Authorization header, never in a URL.
'use strict';

(function () {
  const TOKEN_KEY = 'woslo.token';
  const PAGE_SIZE = 1000;          // GET /v1/accounts page size (its maximum)
  const MAX_PAGES = 50;            // at most 50,000 accounts are read for the list
  const RENDER_MAX = 2000;         // rows drawn at once; the search narrows the rest
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;

  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;

  // ---- DOM building: strings always become text nodes -------------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value === undefined || value === null || value === false) continue;
        if (key === 'class') node.className = value;
        else if (key === 'text') node.textContent = value;
        else if (key === 'on') for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
        else if (key.startsWith('data-') || key.startsWith('aria-')) node.setAttribute(key, String(value));
        else node[key] = value;   // id, href, type, title, value, min, max, … (never innerHTML, never style)
      }
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function badge(text, kind) {
    return el('span', {class: 'badge ' + (kind || '')}, text);
  }

  function fmtTime(ms) {
    if (ms === null || ms === undefined) return '—';
    const d = new Date(ms);
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  }

  function fmtAgo(ms) {
    if (ms === null || ms === undefined) return 'never';
    const s = Math.round((Date.now() - ms) / 1000);
    if (s < 0) return 'in ' + fmtSpan(-s);
    return fmtSpan(s) + ' ago';
  }

  function fmtSpan(s) {
    if (s < 90) return s + ' s';
    if (s < 5400) return Math.round(s / 60) + ' min';
    if (s < 172800) return Math.round(s / 3600) + ' h';
    return Math.round(s / 86400) + ' d';
  }

  function isNumber(value) {
    return typeof value === 'number';
  }

  function number(value) {
    return isNumber(value) ? String(value) : '—';
  }

  function fmtAmounts(map) {
    return Object.entries(map || {}).map(([r, n]) => r + ' ' + n).join(', ');
  }

  function timeCell(ms) {
    return el('td', {title: fmtTime(ms), class: 'time'}, fmtAgo(ms));
  }

  // ---- status line and confirmation dialog -------------------------------------------------------------------

  function say(text, kind) {
    const status = $('status');
    status.textContent = text;
    status.className = 'status ' + (kind || '');
  }

  function sayError(what, e) {
    if (e instanceof AuthError) return;
    say(what + ': ' + e.message, 'error');
  }

  /** Asks before a change; resolves true only when the operator pressed the confirming button. */
  function confirmAction(title, text, okLabel) {
    const dialog = $('confirm');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = okLabel;
    dialog.returnValue = '';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), {once: true});
      dialog.showModal();
      $('confirm-cancel').focus();
    });
  }

  /** Runs an admin action after its confirmation, then says how it went and reloads the view. */
  async function act(title, text, okLabel, call, done) {
    if (!await confirmAction(title, text, okLabel)) {
      say(title + ': cancelled');
      return;
    }
    try {
      await call();
      say(done, 'ok');
    } catch (e) {
      sayError(title, e);
    }
    refreshView(0);
  }

  // ---- token and HTTP ---------------------------------------------------------------------------------------

  const token = {
    get: () => sessionStorage.getItem(TOKEN_KEY) || '',
    set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
    clear: () => sessionStorage.removeItem(TOKEN_KEY),
  };
  let authNeeded = false;

  class AuthError extends Error {}

  class ApiError extends Error {
    constructor(status, body) {
      super((body && (body.message || body.error)) || ('HTTP ' + status));
      this.status = status;
      this.code = body && body.error;
    }
  }

  function headers(accept) {
    const h = {'Accept': accept};
    const t = token.get();
    if (t) h['Authorization'] = 'Bearer ' + t;
    return h;
  }

  async function api(method, path) {
    const h = headers('application/json');
    const res = await fetch(path, {method, headers: h, cache: 'no-store',
      credentials: 'omit', referrerPolicy: 'no-referrer'});
    if (res.status === 401) {
      askToken(h['Authorization'] !== undefined);
      throw new AuthError('unauthorized');
    }
    const text = await res.text();
    let body = null;
    if (text) {
      try { body = JSON.parse(text); } catch (ignored) { body = null; }
    }
    if (!res.ok) throw new ApiError(res.status, body);
    return body;
  }

  /** Shows the token form; {@code refused}: the call that was answered 401 carried a token. */
  function askToken(refused) {
    if (authNeeded && !refused) return;   // already asking; keep what the form says
    token.clear();
    authNeeded = true;
    stopEvents();
    $('token-reason').textContent = refused
      ? 'The coordinator refused that token. Enter the right one.'
      : 'This coordinator requires its bearer token.';
    $('token-view').hidden = false;
    $('main').hidden = true;
    $('forget-token').hidden = true;
    $('token-input').value = '';
    $('token-input').focus();
  }

  function tokenEntered(event) {
    event.preventDefault();
    const value = $('token-input').value.trim();
    if (!value) return;
    token.set(value);
    $('token-input').value = '';
    authNeeded = false;
    $('token-view').hidden = true;
    $('main').hidden = false;
    $('forget-token').hidden = false;
    startEvents();
    refreshView(0);
  }

  // ---- live updates: GET /v1/events read with fetch() (EventSource cannot send the Authorization header) ----

  const live = {ctrl: null, retries: 0, timer: null};

  function setLive(kind, text) {
    const node = $('live');
    node.className = 'live ' + kind;
    node.textContent = text;
  }

  function stopEvents() {
    clearTimeout(live.timer);
    if (live.ctrl) live.ctrl.abort();
    live.ctrl = null;
    setLive('off', 'offline');
  }

  function startEvents() {
    stopEvents();
    live.retries = 0;
    connect();
  }

  async function connect() {
    const ctrl = new AbortController();
    live.ctrl = ctrl;
    setLive('wait', 'connecting…');
    try {
      const h = headers('text/event-stream');
      const res = await fetch('/v1/events', {headers: h, signal: ctrl.signal,
        cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer'});
      if (res.status === 401) {
        askToken(h['Authorization'] !== undefined);
        return;
      }
      if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
      live.retries = 0;
      setLive('on', 'live');
      refreshView(0);   // whatever changed while the stream was down
      await readEvents(res.body, ctrl);
    } catch (e) {
      if (ctrl.signal.aborted) return;
    }
    if (live.ctrl !== ctrl || authNeeded) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** live.retries) * (0.75 + Math.random() / 2);
    live.retries++;
    setLive('wait', 'reconnecting in ' + Math.ceil(delay / 1000) + ' s');
    live.timer = setTimeout(connect, delay);
  }

  /** Reads server-sent events ("event:", "data:", ": comment" lines; a blank line ends an event). */
  async function readEvents(stream, ctrl) {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let type = 'message';
    let data = [];
    for (;;) {
      const {value, done} = await reader.read();
      if (done || ctrl.signal.aborted) return;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        if (line === '') {
          if (data.length) dispatch(type, data.join('\n'));
          type = 'message';
          data = [];
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') type = val;
          else if (field === 'data') data.push(val);
        }
      }
    }
  }

  function dispatch(type, data) {
    if (type !== 'change') return;
    let change;
    try { change = JSON.parse(data); } catch (ignored) { return; }
    if (current && current.shows(change)) refreshView();
  }

  // ---- views and hash routing (#/, #/accounts/<name>, #/locks/<key>) -----------------------------------------

  let current = null;
  let loading = false;
  let again = false;
  let timer = null;
  let lastLoad = 0;
  let listQuery = '';

  function decode(part) {
    try { return decodeURIComponent(part); } catch (ignored) { return part; }
  }

  function route() {
    const hash = location.hash || '#/';
    let m;
    if ((m = /^#\/accounts\/(.+)$/.exec(hash))) return accountView(decode(m[1]));
    if ((m = /^#\/locks\/(.+)$/.exec(hash))) return lockView(decode(m[1]));
    return listView();
  }

  function navigate() {
    current = route();
    $('main').replaceChildren(current.root);
    say('');
    document.title = current.title + ' · WOSLO console';
    refreshView(0);
  }

  /** Loads the current view again, soon; calls that arrive while one load runs make one more load after it. */
  function refreshView(delay) {
    if (authNeeded || !current) return;
    clearTimeout(timer);
    const wait = delay === 0 ? 0 : Math.max(100, current.minInterval - (Date.now() - lastLoad));
    timer = setTimeout(load, wait);
  }

  async function load() {
    if (loading) {
      again = true;
      return;
    }
    const view = current;
    loading = true;
    lastLoad = Date.now();
    try {
      await view.load();
      if (view === current) view.root.classList.remove('stale');
    } catch (e) {
      if (view === current) {
        view.root.classList.add('stale');
        sayError('Loading failed', e);
      }
    } finally {
      loading = false;
      if (again) {
        again = false;
        refreshView();
      }
    }
  }

  // ---- the account list --------------------------------------------------------------------------------------

  function listView() {
    let accounts = [];
    let checked = null;   // account -> [rows of GET /used_quota] after "Check sources"
    let checkedAt = null;

    const search = el('input', {id: 'search', type: 'search', placeholder: 'search accounts', value: listQuery,
      spellcheck: false, 'aria-label': 'search accounts'});
    const count = el('span', {id: 'account-count', class: 'muted'});
    const checkButton = el('button', {id: 'check-sources', type: 'button',
      title: 'GET /used_quota?filter_error=1: compares every counter with its source; mismatches go first'},
    'Check sources');
    const checkNote = el('span', {id: 'check-note', class: 'muted'});
    const name = el('input', {id: 'new-account', type: 'text', placeholder: 'account name', spellcheck: false,
      'aria-label': 'account to refresh'});
    const loadForm = el('form', {class: 'inline', autocomplete: 'off'},
      name, el('button', {type: 'submit'}, 'Refresh account'));
    const tbody = el('tbody', {id: 'accounts'});
    const more = el('p', {id: 'more', class: 'muted'});
    const table = el('table', {class: 'list'},
      el('thead', null, el('tr', null,
        el('th', null, 'Account'), el('th', null, 'Used / quota per resource'),
        el('th', null, 'Refreshed'), el('th', null, 'Status'))),
      tbody);

    const root = el('section', {id: 'list-view'},
      el('div', {class: 'bar'}, el('h1', null, 'Accounts'), count),
      el('div', {class: 'bar'}, search, checkButton, checkNote, el('span', {class: 'grow'}), loadForm),
      table, more);

    search.addEventListener('input', () => {
      listQuery = search.value;
      draw();
    });
    checkButton.addEventListener('click', checkSources);
    loadForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const account = name.value.trim();
      if (!account) return;
      act('Refresh account', 'Refresh account "' + account + '": reads its used and quota figures of every '
        + 'resource from the sources and writes them to etcd (POST /used_quota). It waits for reservations in flight.',
      'Refresh', () => api('POST', '/used_quota?account=' + enc(account)),
      'Account "' + account + '" refreshed.').then(() => { name.value = ''; });
    });

    async function checkSources() {
      checkButton.disabled = true;
      say('Checking every recently refreshed account against its sources…');
      try {
        checked = await api('GET', '/used_quota?filter_error=1') || {};
        checkedAt = Date.now();
        const n = Object.keys(checked).length;
        say(n === 0 ? 'Sources checked: every counter matches.' : 'Sources checked: ' + n
          + ' account(s) with mismatches or errors, listed first.', n === 0 ? 'ok' : 'warn');
        draw();
      } catch (e) {
        sayError('Check sources', e);
      } finally {
        checkButton.disabled = false;
      }
    }

    function problems(account) {
      return checked && checked[account] ? checked[account] : null;
    }

    function draw() {
      const q = listQuery.trim().toLowerCase();
      const matches = q ? accounts.filter((a) => a.account.toLowerCase().includes(q)) : accounts.slice();
      if (checked) {
        // mismatches and errors first, each group in name order (the server's order)
        matches.sort((a, b) => (problems(a.account) ? 0 : 1) - (problems(b.account) ? 0 : 1));
      }
      const shown = matches.slice(0, RENDER_MAX);
      tbody.replaceChildren(...shown.map(row));
      if (!accounts.length) {
        tbody.replaceChildren(el('tr', null, el('td', {colSpan: 4, class: 'muted'},
          'No account in etcd yet. Refresh one by name (right), or make a reservation over HTTP.')));
      }
      count.textContent = (q ? matches.length + ' of ' : '') + accounts.length + ' account(s)';
      more.textContent = matches.length > shown.length
        ? 'Showing the first ' + shown.length + ' of ' + matches.length + '; narrow the search to see the rest.' : '';
      checkNote.textContent = checkedAt ? 'checked ' + fmtAgo(checkedAt) : '';
    }

    function row(a) {
      const issues = problems(a.account);
      const resources = Object.entries(a.resources || {});
      const status = el('td', {class: 'flags'});
      if (a.overQuota) status.append(badge('over quota', 'bad'));
      if (issues) {
        // GET /used_quota flags both as IsError: a cache that differs from its source (or has no counter), and a
        // source that could not be asked (its figures then read 0 and the message says why)
        const failed = issues.every((r) => !/^(cache differs|no cached counter)/.test(r.ErrorMsg || ''));
        status.append(badge(failed ? 'source error' : 'mismatch', 'warn'));
        status.title = issues.map((r) => r.ResourceName + ': ' + (r.ErrorMsg
          || 'cached ' + r.CacheUsed + '/' + r.CacheQuota + ', source ' + r.RealUsed + '/' + r.RealQuota)).join('; ');
      }
      return el('tr', {'data-account': a.account, class: issues ? 'problem' : ''},
        el('td', null, el('a', {href: '#/accounts/' + enc(a.account), class: 'name'}, a.account)),
        el('td', {class: 'resources'}, resources.map(([r, c]) =>
          el('span', {class: 'res' + (c.used > c.quota ? ' over' : '')}, r + ' ' + c.used + '/' + c.quota))),
        timeCell(a.refreshedAt),
        status);
    }

    async function load() {
      const all = [];
      let after = null;
      for (let page = 0; page < MAX_PAGES; page++) {
        const body = await api('GET', '/v1/accounts?limit=' + PAGE_SIZE + (after === null ? '' : '&after=' + enc(after)));
        all.push(...(body.accounts || []));
        after = body.next;
        if (after === null || after === undefined) break;
      }
      accounts = all;
      draw();
    }

    function shows(change) {
      return change.kind === 'account' || change.kind === 'quota';
    }

    return {root, load, shows, title: 'Accounts', minInterval: 1000};
  }

  // ---- one account -------------------------------------------------------------------------------------------

  function accountView(account) {
    let withSources = false;
    const lockKey = 'quota/' + account;

    const refreshed = el('p', {id: 'account-refreshed', class: 'muted'});
    const refreshButton = el('button', {id: 'refresh', type: 'button',
      title: 'POST /used_quota?account=…: reload the counters from the sources'}, 'Refresh from sources');
    const sourcesButton = el('button', {id: 'show-sources', type: 'button',
      title: 'GET /v1/accounts/…?check=true: ask the sources for their figures'}, 'Show source figures');
    const resources = el('tbody', {id: 'resources'});
    const resourceHead = el('tr');
    const reservations = el('tbody', {id: 'reservations'});
    const lockBox = el('div', {id: 'account-lock'});

    const root = el('section', {id: 'account-view'},
      el('p', {class: 'crumbs'}, el('a', {href: '#/'}, 'Accounts'), ' / '),
      el('div', {class: 'bar'}, el('h1', {id: 'account-name'}, account), el('span', {class: 'grow'}),
        sourcesButton, refreshButton),
      refreshed,
      el('h2', null, 'Resources'),
      el('table', {class: 'resources compact'}, el('thead', null, resourceHead), resources),
      el('h2', null, 'Open reservations'),
      el('table', null, el('thead', null, el('tr', null,
        el('th', null, 'Id'), el('th', null, 'Amounts'), el('th', null, 'Reserved'), el('th', null, 'Expires'),
        el('th', null, ''))), reservations),
      el('h2', null, 'Account lock ', el('a', {href: '#/locks/' + enc(lockKey), id: 'lock-link', class: 'mono'}, lockKey)),
      lockBox);

    refreshButton.addEventListener('click', () => act('Refresh account',
      'Refresh account "' + account + '": reads the used and quota figures of every resource from the sources and '
      + 'overwrites the cached counters in etcd. It takes the account\'s write lock, so it waits for the reservations '
      + 'in flight.',
      'Refresh', () => api('POST', '/used_quota?account=' + enc(account)), 'Account "' + account + '" refreshed.'));
    sourcesButton.addEventListener('click', () => {
      withSources = !withSources;
      sourcesButton.textContent = withSources ? 'Hide source figures' : 'Show source figures';
      refreshView(0);
    });

    function drawResources(list) {
      resourceHead.replaceChildren(el('th', null, 'Resource'), el('th', {class: 'num'}, 'Used'), el('th', {class: 'num'}, 'Quota'),
        el('th', null, ''), el('th', null, 'Refreshed'),
        withSources ? [el('th', {class: 'num'}, 'Source used'), el('th', {class: 'num'}, 'Source quota'), el('th', null, 'Check')] : []);
      resources.replaceChildren(...list.map((r) => {
        const known = isNumber(r.used) && isNumber(r.quota);   // a resource without a counter has nulls
        const over = known && r.used > r.quota;
        const meter = known ? el('meter', {min: 0, max: Math.max(r.quota, 1),
          value: Math.min(r.used, Math.max(r.quota, 1)), low: r.quota * 0.8, high: r.quota * 0.95, optimum: 0,
          title: r.used + ' of ' + r.quota}) : el('span', {class: 'muted'}, 'no counter in etcd');
        const cells = [
          el('td', {class: 'name'}, r.resource),
          el('td', {class: 'used num'}, number(r.used)),
          el('td', {class: 'quota num'}, number(r.quota)),
          el('td', {class: 'gauge'}, meter, over ? badge('over quota', 'bad') : null),
          timeCell(r.refreshedAt),
        ];
        if (withSources) {
          const s = r.source || {};
          cells.push(el('td', {class: 'source-used num'}, number(s.used)),
            el('td', {class: 'source-quota num'}, number(s.quota)),
            el('td', {class: 'check'}, s.error ? badge('error: ' + s.error, 'warn')
              : r.mismatch ? badge('mismatch', 'warn') : badge('matches', 'good')));
        }
        return el('tr', {'data-resource': r.resource, class: over ? 'over' : ''}, cells);
      }));
      if (!list.length) {
        resources.replaceChildren(el('tr', null, el('td', {colSpan: 8, class: 'muted'}, 'No counters in etcd.')));
      }
    }

    function drawReservations(list) {
      reservations.replaceChildren(...list.map((r) => {
        const finish = el('button', {type: 'button', class: 'finish'}, 'Finish');
        const rollback = el('button', {type: 'button', class: 'rollback danger'}, 'Roll back');
        const path = '/v1/reservations/' + enc(r.id);
        finish.addEventListener('click', () => act('Finish reservation',
          'Finish reservation ' + r.id + ' of account "' + account + '": the work succeeded, its amounts (' +
          fmtAmounts(r.resources) + ') stay counted as used and the reservation ends.',
          'Finish', () => api('POST', path + '/finally'), 'Reservation ' + r.id + ' finished.'));
        rollback.addEventListener('click', () => act('Roll back reservation',
          'Roll back reservation ' + r.id + ' of account "' + account + '": gives its amounts (' +
          fmtAmounts(r.resources) + ') back to the account and ends the reservation. Use it when the work failed.',
          'Roll back', () => api('POST', path + '/rollback'), 'Reservation ' + r.id + ' rolled back.'));
        return el('tr', {'data-reservation': r.id},
          el('td', {class: 'mono id'}, r.id),
          el('td', {class: 'amounts'}, fmtAmounts(r.resources)),
          timeCell(r.reservedAt),
          timeCell(r.expiresAt),
          el('td', {class: 'actions'}, finish, rollback));
      }));
      if (!list.length) {
        reservations.replaceChildren(el('tr', {class: 'empty'}, el('td', {colSpan: 5, class: 'muted'}, 'None.')));
      }
    }

    async function load() {
      let body;
      try {
        body = await api('GET', '/v1/accounts/' + enc(account) + (withSources ? '?check=true' : ''));
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) {
          refreshed.textContent = 'etcd holds nothing for this account (' + e.message + ').';
          drawResources([]);
          drawReservations([]);
          lockBox.replaceChildren();
          return;
        }
        throw e;
      }
      refreshed.textContent = 'Refreshed from the sources ' + fmtAgo(body.refreshedAt)
        + (body.refreshedAt ? ' (' + fmtTime(body.refreshedAt) + ')' : '') + '.';
      drawResources(body.resources || []);
      drawReservations(body.reservations || []);
      lockBox.replaceChildren(lockTables(body.lock || {key: lockKey, mode: 'none', holders: [], waiters: []}, false));
    }

    function shows(change) {
      return change.account === account || change.lock === lockKey
        || (change.kind === 'reservation' && (change.account === null || change.account === undefined));
    }

    return {root, load, shows, title: account, minInterval: 150};
  }

  // ---- locks -------------------------------------------------------------------------------------------------

  /** The mode, holders and waiters of a lock; with {@code admin}, a force-release button per entry. */
  function lockTables(lock, admin) {
    const head = (first) => el('thead', null, el('tr', null, first, el('th', null, 'Entry'), el('th', null, 'Mode'),
      el('th', {class: 'num'}, 'Owner'), el('th', {class: 'num'}, 'Revision'), el('th', {class: 'num'}, 'Lease left'),
      admin ? el('th', null, '') : null));
    const row = (entry, kind, first) => {
      const name = admin ? el('span', {class: 'mono entry'}, entry.entry)
        : el('a', {href: '#/locks/' + enc(lock.key), class: 'mono entry'}, entry.entry);
      const cells = [first, el('td', null, name), el('td', {class: 'mode'}, entry.mode),
        el('td', {class: 'owner num'}, number(entry.owner)),
        el('td', {class: 'num'}, String(entry.revision)),
        el('td', {class: 'lease num'}, entry.leaseLeftSeconds < 0 ? 'gone' : entry.leaseLeftSeconds + ' s')];
      if (admin) {
        const button = el('button', {type: 'button', class: 'force-release danger'}, 'Force release');
        button.addEventListener('click', () => forceRelease(lock.key, entry, kind));
        cells.push(el('td', {class: 'actions'}, button));
      }
      return el('tr', {'data-entry': entry.entry, class: kind}, cells);
    };
    const holders = lock.holders || [];
    const waiters = lock.waiters || [];
    return el('div', {class: 'lock'},
      el('p', null, 'Mode: ', badge(lock.mode, 'mode-' + lock.mode), ' · ', holders.length + ' holder(s), '
        + waiters.length + ' waiter(s)'),
      el('h3', null, 'Holders'),
      holders.length ? el('table', {class: 'holders compact'}, head(el('th', null, '')),
        el('tbody', null, holders.map((e) => row(e, 'holder', el('td', null, '')))))
        : el('p', {class: 'muted'}, 'Nobody holds it.'),
      el('h3', null, 'Waiters, in queue order'),
      waiters.length ? el('table', {class: 'waiters compact'}, head(el('th', {class: 'num'}, '#')),
        el('tbody', null, waiters.map((e, i) => row(e, 'waiter', el('td', {class: 'num'}, String(i + 1))))))
        : el('p', {class: 'muted'}, 'Nobody waits.'));
  }

  function forceRelease(key, entry, kind) {
    const who = (entry.owner === null || entry.owner === undefined ? 'an unknown owner' : 'owner ' + entry.owner);
    const text = kind === 'holder'
      ? 'Force release deletes the entry "' + entry.entry + '" of lock "' + key + '", held in ' + entry.mode
        + ' mode by ' + who + '. The holder is not asked: it learns of it only when its lock\'s lost() signal fires, '
        + 'and until it looks it goes on as if it held the lock; its later writes are refused only where fencing '
        + 'tokens are checked (quota counters are). The next waiter may acquire at once.'
      : 'Force release deletes the waiting entry "' + entry.entry + '" of lock "' + key + '" (' + entry.mode
        + ' mode, ' + who + '). The waiter is not told; it loses its place in the queue.';
    act('Force release', text, 'Force release', () => api('DELETE', '/v1/locks/' + enc(key) + '/entries/'
      + enc(entry.entry)).catch((e) => {
      if (e instanceof ApiError && e.status === 404) throw new Error('the entry was already gone');
      throw e;
    }), 'Entry "' + entry.entry + '" of lock "' + key + '" deleted.');
  }

  function lockView(key) {
    const box = el('div', {id: 'lock-body'});
    const root = el('section', {id: 'lock-view'},
      el('p', {class: 'crumbs'}, el('a', {href: '#/'}, 'Accounts'), ' / lock'),
      el('h1', {id: 'lock-name', class: 'mono'}, key),
      accountOf(key) === null ? null : el('p', null, 'The quota lock of account ',
        el('a', {href: '#/accounts/' + enc(accountOf(key)), id: 'lock-account'}, accountOf(key)), '.'),
      box);

    async function load() {
      const lock = await api('GET', '/v1/locks/' + enc(key));
      box.replaceChildren(lockTables(lock, true));
    }

    return {root, load, shows: (change) => change.lock === key, title: key, minInterval: 150};
  }

  function accountOf(key) {
    return key.startsWith('quota/') && key.length > 6 ? key.slice(6) : null;
  }

  // ---- start -------------------------------------------------------------------------------------------------

  function start() {
    $('token-form').addEventListener('submit', tokenEntered);
    $('forget-token').addEventListener('click', () => {
      token.clear();
      askToken(false);
    });
    $('lock-go').addEventListener('submit', (event) => {
      event.preventDefault();
      const key = $('lock-key').value.trim();
      if (key) location.hash = '#/locks/' + enc(key);
    });
    window.addEventListener('hashchange', navigate);
    $('forget-token').hidden = token.get() === '';
    startEvents();
    navigate();
  }

  start();
}());
