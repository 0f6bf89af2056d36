// @ts-check
/**
 * The dashboard page: reads the panels' JSON (dashboard.ts), draws them with Chart.js and keeps
 * them fresh. Every value the data brings (segment names, comments, ids) is set as text, never as
 * markup. Each chart has its numbers in a table beside it (for screen readers, and for the browser
 * test that compares them with ClickHouse: `data-value` holds the number as the server sent it).
 */
import { daysBetween, formatterFor, isLocale, LOCALE_INFO, t } from './i18n.js';

/** @typedef {import('./i18n.js').Locale} Locale */
/** @typedef {import('../panels.ts').Meta & { refreshS: number, stuckAfterDays: number }} Meta */
/** @typedef {import('../panels.ts').Funnel} Funnel */
/** @typedef {import('../panels.ts').KpiDay} KpiDay */
/** @typedef {import('../panels.ts').AlertsPanel} AlertsPanel */
/** @typedef {import('../pipeline-gauges.ts').LiveGauges} LiveGauges */
/** @typedef {import('chart.js').Chart} ChartInstance */
/** @typedef {import('chart.js').ChartConfiguration} ChartConfig */

/**
 * The trends drawn, with the digits each value is shown with; money is drawn per currency (one
 * line each), never as a sum of currencies.
 */
const KPI_CHARTS = /** @type {const} */ ([
  ['conversion_rate_pct', 2],
  ['revenue', 0, 'revenue_by_currency'],
  ['aov', 2, 'aov_by_currency'],
  ['nps', 1],
  ['csat', 2],
  ['ces', 2],
  ['ctr_pct', 1],
  ['pages_per_visit', 2],
  ['avg_time_on_site_s', 0],
  ['repeat_purchase_rate_pct', 1],
  ['in_window_repeat_purchase_rate_pct', 1],
  ['churn_rate_pct', 2],
  ['retention_rate_pct', 1],
  ['avg_review_rating', 2],
  ['cart_abandonment_rate_pct', 1],
  ['social_engagements', 0],
  ['visitors', 0],
]);
const LIVE_EVERY_MS = 2_000;
const DEFAULT_DAYS = 30;

const params = new URLSearchParams(location.search);
const savedLocale = params.get('lang') ?? localStorage.getItem('journeyline.locale');
const state = {
  /** @type {Locale} */
  locale: isLocale(savedLocale) ? savedLocale : navigator.language.startsWith('fa') ? 'fa' : 'en',
  segment: params.get('segment') ?? '*',
  window: params.get('window') ?? '1',
  /** Empty: DEFAULT_DAYS before the latest day; to empty: the latest day, following new days as they come. */
  from: params.get('from') ?? '',
  to: params.get('to') ?? '',
  /** @type {Meta | null} */
  meta: null,
};
/** @type {Map<string, ChartInstance>} */
const charts = new Map();
let format = formatterFor(state.locale);

// -- Small DOM helpers ------------------------------------------------------------------------

/** @template {HTMLElement} T @param {string} selector @returns {T} */
function $(selector) {
  const found = document.querySelector(selector);
  if (found === null) throw new Error(`the page has no ${selector}`);
  return /** @type {T} */ (found);
}

/**
 * An element with text; attributes as given (data-* included).
 * @param {string} tag @param {Record<string, string>} [attributes] @param {string} [text]
 */
function el(tag, attributes = {}, text) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

/** A table cell holding a number: shown in the locale, the raw value in data-value. @param {string} field @param {number | null} value @param {string} shown */
function numberCell(field, value, shown) {
  return el('td', { class: 'number', 'data-field': field, 'data-value': value === null ? '' : String(value) }, shown);
}

/** @param {string} field @param {string} text @param {Record<string, string>} [extra] */
function textCell(field, text, extra = {}) {
  // dir=auto: a Persian segment name in an English page (or the reverse) keeps its own direction.
  return el('td', { 'data-field': field, dir: 'auto', ...extra }, text);
}

/** @param {string} path @param {Record<string, string>} query */
async function getJson(path, query = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query)) if (value !== '') url.searchParams.set(name, value);
  const response = await fetch(url, { credentials: 'same-origin' });
  const body = /** @type {unknown} */ (await response.json());
  if (!response.ok) throw new Error(/** @type {{ error?: string }} */ (body).error ?? `HTTP ${String(response.status)}`);
  return body;
}

// -- Charts -----------------------------------------------------------------------------------

/** Options every chart shares: the locale's digits, and mirrored axes right-to-left. @param {boolean} [horizontal] */
function chartOptions(horizontal = false) {
  const rtl = LOCALE_INFO[state.locale].dir === 'rtl';
  return {
    locale: LOCALE_INFO[state.locale].tag,
    responsive: true,
    maintainAspectRatio: false,
    animation: /** @type {const} */ (false),
    // Room for the first and last day labels, which Chart.js centres on the chart's edges.
    layout: { padding: { left: 14, right: 14 } },
    plugins: {
      legend: { display: false, rtl, textDirection: rtl ? 'rtl' : 'ltr' },
      tooltip: { rtl, textDirection: rtl ? 'rtl' : 'ltr' },
    },
    ...(horizontal && { indexAxis: /** @type {const} */ ('y') }),
    scales: {
      x: {
        reverse: rtl,
        ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 16, maxTicksLimit: horizontal ? 6 : 5 },
      },
      y: { position: /** @type {'right' | 'left'} */ (rtl ? 'right' : 'left'), ticks: { maxTicksLimit: 5 } },
    },
  };
}

/**
 * Draws or updates the chart on `canvas`: updated in place while the locale stays, so a refresh
 * does not flicker.
 * @param {string} id @param {HTMLCanvasElement} canvas @param {() => ChartConfig} config
 */
function drawChart(id, canvas, config) {
  const next = config();
  const existing = charts.get(id);
  if (existing !== undefined && existing.canvas === canvas) {
    existing.data = next.data;
    existing.update('none');
    return;
  }
  existing?.destroy();
  charts.set(id, new Chart(canvas, next));
}

// -- Panels -----------------------------------------------------------------------------------

/** @param {LiveGauges} live */
function renderLive(live) {
  $('#events-per-second').textContent = format.number(live.eventsPerSecond, 1);
  $('#events-per-second').dataset.value = String(live.eventsPerSecond ?? '');
  $('#processor-lag').textContent = format.number(live.processorLag, 0);
  $('#processor-lag').dataset.value = String(live.processorLag ?? '');
  $('#dead-letters').textContent = format.number(live.deadLetters, 0);
  $('#dead-letters').dataset.value = String(live.deadLetters);
  // The server says whether Kafka is slow or down: this page's own wait for its data is no outage.
  const stale = $('#live-stale');
  stale.hidden = live.kafka === 'up';
  stale.textContent = `${t(state.locale, live.kafka === 'slow' ? 'liveSlow' : 'liveStale')} ${live.sampledAt === null ? '–' : format.time(live.sampledAt)}`;
  const list = $('#recent-dead-letters ul');
  list.replaceChildren(
    ...live.recentDeadLetters.map((d) => el('li', { dir: 'auto' }, `${format.time(d.at)} · ${d.stage} · ${d.sourceTopic}: ${d.reason}`)),
  );
  drawChart('live', /** @type {HTMLCanvasElement} */ ($('#live-chart')), () => ({
    type: 'line',
    data: {
      labels: live.samples.map((s) => format.clock(new Date(s.at))),
      datasets: [
        {
          label: t(state.locale, 'eventsPerSecond'),
          data: live.samples.map((s) => s.eventsPerSecond),
          borderColor: '#2f6fdf',
          pointRadius: 0,
          yAxisID: 'y',
        },
        {
          label: t(state.locale, 'processorLag'),
          data: live.samples.map((s) => s.processorLag),
          borderColor: '#e08a00',
          pointRadius: 0,
          yAxisID: 'lag',
        },
      ],
    },
    options: (() => {
      const options = chartOptions();
      const rtl = LOCALE_INFO[state.locale].dir === 'rtl';
      return {
        ...options,
        plugins: { ...options.plugins, legend: { ...options.plugins.legend, display: true, position: /** @type {const} */ ('bottom') } },
        scales: {
          x: { ...options.scales.x, ticks: { ...options.scales.x.ticks, maxTicksLimit: 4 } },
          y: { ...options.scales.y, beginAtZero: true },
          lag: {
            position: /** @type {'right' | 'left'} */ (rtl ? 'left' : 'right'),
            beginAtZero: true,
            grid: { display: false },
            ticks: { maxTicksLimit: 4 },
          },
        },
      };
    })(),
  }));
}

/** @param {Funnel} funnel */
function renderFunnel(funnel) {
  const body = $('#funnel-table tbody');
  body.replaceChildren(
    ...funnel.steps.map((step) => {
      const row = el('tr', { 'data-stage': step.stage });
      row.append(
        textCell('stage', t(state.locale, `stage.${step.stage}`)),
        numberCell('reached', step.reached, format.number(step.reached, 0)),
        numberCell('pctOfPrevious', step.pctOfPrevious, format.percent(step.pctOfPrevious)),
        numberCell('pctOfCohort', step.pctOfCohort, format.percent(step.pctOfCohort)),
        numberCell('medianSecondsFromPrevious', step.medianSecondsFromPrevious, format.duration(step.medianSecondsFromPrevious)),
        numberCell('current', step.current, format.number(step.current, 0)),
      );
      return row;
    }),
  );
  const stuck = $('#stuck');
  stuck.dataset.value = String(funnel.stuckInConsideration);
  stuck.textContent = `${t(state.locale, 'stuck')}: ${format.number(funnel.stuckInConsideration, 0)} (${t(state.locale, 'stuckNote', { days: format.number(funnel.stuckAfterDays, 0) })})`;
  drawChart('funnel', /** @type {HTMLCanvasElement} */ ($('#funnel-chart')), () => ({
    type: 'bar',
    data: {
      labels: funnel.steps.map((step) => t(state.locale, `stage.${step.stage}`)),
      datasets: [{ label: t(state.locale, 'reached'), data: funnel.steps.map((step) => step.reached), backgroundColor: '#2f6fdf' }],
    },
    options: chartOptions(true),
  }));
}

/** The KPI cards, made once per locale; their charts and tables are refreshed in place. */
function kpiCards() {
  const grid = $('#kpi-grid');
  if (grid.childElementCount === KPI_CHARTS.length && grid.dataset.locale === state.locale) return;
  grid.dataset.locale = state.locale;
  grid.replaceChildren(
    ...KPI_CHARTS.map(([field, , byCurrency]) => {
      const card = el('article', { class: byCurrency === undefined ? 'kpi' : 'kpi money', 'data-kpi': field });
      const details = el('details');
      details.append(el('summary', {}, t(state.locale, 'data')), el('table'));
      const chart = el('div', { class: 'chart' });
      chart.append(el('canvas', { 'aria-label': t(state.locale, `kpi.${field}`), role: 'img' }));
      card.append(el('h3', {}, t(state.locale, `kpi.${field}`)), el('div', { class: 'latest' }), chart, details);
      return card;
    }),
  );
}

const SERIES_COLOURS = ['#2f6fdf', '#e08a00', '#2e7d32', '#8e24aa', '#c62828', '#00838f'];

/**
 * A card's lines: the KPI itself, or one per currency for money (the currency code names it).
 * @param {readonly KpiDay[]} days @param {(typeof KPI_CHARTS)[number]} chart
 * @returns {{ name: string, currency: string | null, values: (number | null)[] }[]}
 */
function seriesOf(days, chart) {
  const [field, , byCurrency] = chart;
  if (byCurrency === undefined) return [{ name: t(state.locale, `kpi.${field}`), currency: null, values: days.map((d) => d[field]) }];
  const currencies = [...new Set(days.flatMap((d) => Object.keys(d[byCurrency])))].sort();
  return currencies.map((currency) => ({ name: currency, currency, values: days.map((d) => d[byCurrency][currency] ?? null) }));
}

/** @param {readonly KpiDay[]} days */
function renderKpis(days) {
  kpiCards();
  for (const chart of KPI_CHARTS) {
    const [field, digits] = chart;
    const card = $(`[data-kpi="${field}"]`);
    const series = seriesOf(days, chart);
    const latestCell = /** @type {HTMLElement} */ (card.querySelector('.latest'));
    // Values and day in spans of their own: mixed in one string, bidi reorders them right-to-left.
    const latestIndex = days.findLastIndex((_, i) => series.some((s) => s.values[i] !== null && s.values[i] !== undefined));
    const latestDay = days[latestIndex];
    latestCell.replaceChildren(
      ...(latestDay === undefined
        ? [el('span', { class: 'empty' }, t(state.locale, 'noData'))]
        : [
            ...series
              .filter((s) => s.values[latestIndex] !== null)
              .map((s) =>
                el(
                  'span',
                  {},
                  s.currency === null
                    ? format.number(s.values[latestIndex] ?? null, digits)
                    : format.money(s.values[latestIndex] ?? null, s.currency),
                ),
              ),
            el('small', {}, format.shortDay(latestDay.day)),
          ]),
    );
    const table = /** @type {HTMLTableElement} */ (card.querySelector('table'));
    const head = el('tr');
    head.append(el('th', {}, t(state.locale, 'day')), ...series.map((s) => el('th', {}, s.name)));
    table.replaceChildren(
      head,
      ...days.map((d, i) => {
        const row = el('tr', { 'data-day': d.day });
        row.append(
          el('td', {}, format.day(d.day)),
          ...series.map((s) => {
            const cell = numberCell(field, s.values[i] ?? null, format.number(s.values[i] ?? null, digits));
            if (s.currency !== null) cell.dataset.currency = s.currency;
            return cell;
          }),
        );
        return row;
      }),
    );
    drawChart(`kpi.${field}`, /** @type {HTMLCanvasElement} */ (card.querySelector('canvas')), () => ({
      type: 'line',
      data: {
        labels: days.map((d) => format.shortDay(d.day)),
        datasets: series.map((s, n) => ({
          label: s.name,
          data: s.values,
          borderColor: SERIES_COLOURS[n % SERIES_COLOURS.length] ?? '#2f6fdf',
          // A line needs two days; fewer are drawn as points.
          pointRadius: days.length < 3 ? 3 : 0,
          spanGaps: true,
          tension: 0.2,
          // Currencies differ by orders of magnitude (IRR and EUR): each has its own scale.
          ...(s.currency !== null && series.length > 1 && { yAxisID: `y${String(n)}` }),
        })),
      },
      options: (() => {
        const options = chartOptions();
        if (series.length < 2 || series[0]?.currency === null) return options;
        const rtl = LOCALE_INFO[state.locale].dir === 'rtl';
        /** @type {Record<string, object>} */
        const scales = { x: options.scales.x };
        series.forEach((_, n) => {
          scales[`y${String(n)}`] = {
            display: n < 2,
            position: (n === 0) !== rtl ? 'left' : 'right',
            grid: { display: n === 0 },
            // 300M, not 300,000,000: a rial axis beside a euro one.
            ticks: { maxTicksLimit: 5, callback: (/** @type {number | string} */ value) => format.compact(Number(value)) },
          };
        });
        return {
          ...options,
          plugins: {
            ...options.plugins,
            legend: {
              ...options.plugins.legend,
              display: true,
              position: /** @type {const} */ ('bottom'),
              labels: { boxWidth: 10, font: { size: 10 } },
            },
          },
          scales,
        };
      })(),
    }));
  }
}

/** @param {AlertsPanel} panel */
function renderAlerts(panel) {
  $('#alert-table tbody').replaceChildren(
    ...panel.alerts.map((a) => {
      const row = el('tr', { 'data-alert-id': a.alert_id });
      row.append(
        textCell('status', t(state.locale, a.status), { class: `status-${a.status}`, 'data-value': a.status }),
        textCell('segment', a.segment, { 'data-value': a.segment }),
        textCell('signal', t(state.locale, `signal.${a.signal}`), { 'data-value': a.signal }),
        numberCell('value', a.value, format.number(a.value, 3)),
        numberCell('baseline', a.baseline, format.number(a.baseline, 3)),
        numberCell('threshold', a.threshold, format.number(a.threshold, 3)),
        numberCell('sample_size', a.sample_size, format.number(a.sample_size, 0)),
        textCell('window_day', format.day(a.window_day), { 'data-value': a.window_day }),
        textCell('fired_at', format.time(a.fired_at)),
        textCell('resolved_at', format.time(a.resolved_at)),
      );
      return row;
    }),
  );
  $('#alert-table').hidden = panel.alerts.length === 0;
  $('#no-alerts').hidden = panel.alerts.length > 0;
  $('#at-risk-table tbody').replaceChildren(
    ...panel.atRisk.map((c) => {
      const row = el('tr', { 'data-customer': c.customer_id });
      row.append(
        textCell('customer_id', c.customer_id),
        textCell('segment', c.segment ?? '–'),
        textCell('signals', format.list(c.signals.map((s) => t(state.locale, `signal.${s}`)))),
        textCell('reasons', format.list(c.reasons.map((r) => t(state.locale, `reason.${r}`)))),
        numberCell('score', c.score, format.number(c.score, 0)),
        textCell('comment', c.comment ?? ''),
        numberCell(
          'revenue',
          c.revenue,
          Object.keys(c.revenue_by_currency).length === 0
            ? format.number(c.revenue, 2)
            : format.list(Object.entries(c.revenue_by_currency).map(([currency, amount]) => format.money(amount, currency))),
        ),
        numberCell('orders', c.orders, format.number(c.orders, 0)),
      );
      return row;
    }),
  );
  $('#at-risk-table').hidden = panel.atRisk.length === 0;
  $('#no-at-risk').hidden = panel.atRisk.length > 0 || panel.alerts.every((a) => a.status !== 'firing');
  const total = $('#at-risk-total');
  total.dataset.value = String(panel.atRiskTotal);
  total.textContent =
    panel.atRiskTotal === 0
      ? ''
      : t(state.locale, 'atRiskTotal', { shown: format.number(panel.atRisk.length, 0), total: format.number(panel.atRiskTotal, 0) });
}

// -- Controls, locale and refreshing -------------------------------------------------------------

/** The range asked for: as picked, or the last DEFAULT_DAYS days of data. */
function range() {
  const last = state.meta?.lastDay ?? '';
  const to = state.to || last;
  if (state.from !== '' || to === '') return { from: state.from, to };
  const days = daysBetween(state.meta?.firstDay ?? to, to);
  return { from: days.at(-DEFAULT_DAYS) ?? days[0] ?? '', to };
}

function panelQuery() {
  return { segment: state.segment, window: state.window, ...range() };
}

/** @param {HTMLSelectElement} select @param {readonly [string, string][]} options @param {string} chosen */
function fillSelect(select, options, chosen) {
  select.replaceChildren(...options.map(([value, label]) => el('option', { value, dir: 'auto' }, label)));
  select.value = options.some(([value]) => value === chosen) ? chosen : (options[0]?.[0] ?? '');
}

function renderControls() {
  const meta = state.meta;
  if (meta === null) return;
  const segments = meta.segments.includes('*') ? meta.segments : ['*', ...meta.segments];
  fillSelect(
    /** @type {HTMLSelectElement} */ ($('#segment')),
    segments.map((s) => [s, s === '*' ? t(state.locale, 'allSegments') : s]),
    state.segment,
  );
  /** @type {HTMLSelectElement} */ ($('#window')).value = state.window;
  const days = meta.firstDay === null || meta.lastDay === null ? [] : daysBetween(meta.firstDay, meta.lastDay).reverse();
  const { from, to } = range();
  fillSelect(
    /** @type {HTMLSelectElement} */ ($('#from')),
    days.map((d) => [d, format.day(d)]),
    from,
  );
  fillSelect(
    /** @type {HTMLSelectElement} */ ($('#to')),
    days.map((d) => [d, format.day(d)]),
    to,
  );
}

function applyLocale() {
  const info = LOCALE_INFO[state.locale];
  document.documentElement.lang = state.locale;
  document.documentElement.dir = info.dir;
  document.title = t(state.locale, 'title');
  for (const element of document.querySelectorAll('[data-i18n]')) {
    element.textContent = t(state.locale, /** @type {HTMLElement} */ (element).dataset.i18n ?? '');
  }
  /** @type {HTMLSelectElement} */ ($('#locale')).value = state.locale;
  format = formatterFor(state.locale);
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  // Axes mirror and digits change: charts are drawn anew.
  for (const chart of charts.values()) chart.destroy();
  charts.clear();
}

function rememberState() {
  const query = new URLSearchParams({ lang: state.locale, segment: state.segment, window: state.window });
  if (state.from !== '') query.set('from', state.from);
  if (state.to !== '') query.set('to', state.to);
  history.replaceState(null, '', `/?${query.toString()}`);
  localStorage.setItem('journeyline.locale', state.locale);
}

/**
 * Runs one panel's load and render; a failure shows in that panel only.
 * @param {string} section @param {() => Promise<void>} load
 */
async function panel(section, load) {
  const host = $(`#${section}`);
  try {
    await load();
    host.querySelector(':scope > .error')?.remove();
    host.dataset.loaded = String(Date.now());
  } catch (error) {
    const message = `${t(state.locale, 'failed')}: ${error instanceof Error ? error.message : String(error)}`;
    const shown = host.querySelector(':scope > .error') ?? host.insertBefore(el('p', { class: 'error' }), host.children[1] ?? null);
    shown.textContent = message;
  }
}

let refreshing = Promise.resolve();
/** Every panel but the live one; one refresh at a time. */
function refreshPanels() {
  refreshing = refreshing.then(async () => {
    await panel('controls', async () => {
      const meta = /** @type {Meta} */ (await getJson('/api/meta'));
      // Rebuilt only when new days or segments come: rebuilding closes a list someone has open.
      if (JSON.stringify(meta) === JSON.stringify(state.meta)) return;
      state.meta = meta;
      renderControls();
    });
    const query = panelQuery();
    await Promise.all([
      panel('funnel', async () => {
        renderFunnel(/** @type {Funnel} */ (await getJson('/api/funnel', query)));
      }),
      panel('kpis', async () => {
        renderKpis(/** @type {{ days: KpiDay[] }} */ (await getJson('/api/kpis', query)).days);
      }),
      panel('alerts', async () => {
        renderAlerts(/** @type {AlertsPanel} */ (await getJson('/api/alerts', query)));
      }),
    ]);
    const updated = $('#updated');
    updated.textContent = format.clock(new Date());
    document.body.dataset.refreshed = String(Date.now());
  });
  return refreshing;
}

function refreshLive() {
  return panel('live', async () => {
    renderLive(/** @type {LiveGauges} */ (await getJson('/api/live')));
  });
}

function listen() {
  const form = $('#controls');
  form.addEventListener('change', (event) => {
    const target = /** @type {HTMLSelectElement} */ (event.target);
    if (target.id === 'locale' && isLocale(target.value)) {
      state.locale = target.value;
      applyLocale();
      renderControls();
      void refreshLive();
    } else if (target.id === 'segment') state.segment = target.value;
    else if (target.id === 'window') state.window = target.value;
    // The latest day picked as the end follows new days; an earlier one stays put.
    else if (target.id === 'to') state.to = target.value === state.meta?.lastDay ? '' : target.value;
    else if (target.id === 'from') state.from = target.value;
    rememberState();
    void refreshPanels();
  });
}

async function main() {
  applyLocale();
  listen();
  await Promise.all([refreshPanels(), refreshLive()]);
  setInterval(() => void refreshLive(), LIVE_EVERY_MS);
  setInterval(() => void refreshPanels(), (state.meta?.refreshS ?? 10) * 1000);
}

void main();
