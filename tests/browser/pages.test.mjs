// Coprod's pages in headless Chromium: what a person does with them, and axe-core on every page.
// Run by `cargo test --test browser -- --ignored` (tests/browser/main.rs), which starts a seeded
// server and passes its address, tokens and project in the environment.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} must be set (run through cargo test --test browser -- --ignored)`);
  return value;
};
const base = env('COPROD_BASE_URL');
const tokens = JSON.parse(env('COPROD_TOKENS'));
const project = env('COPROD_PROJECT');
const otherProject = env('COPROD_OTHER_PROJECT');
const withdrawn = env('COPROD_WITHDRAWN');
const earlyDate = env('COPROD_EARLY_DATE');
const lateDate = env('COPROD_LATE_DATE');
const shots = env('COPROD_SCREENSHOTS');
const year = earlyDate.slice(0, 4);
mkdirSync(shots, { recursive: true });

let browser;
const problems = []; // console errors (CSP violations among them) and failed requests

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--font-render-hinting=none'],
  });
});

after(async () => {
  await browser?.close();
});

async function newPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // A page answered with 4xx on purpose (its status is checked by the test) logs this too.
    const itself = message.location()?.url === page.url();
    if (itself && message.text().startsWith('Failed to load resource')) return;
    problems.push(`${page.url()}: ${message.text()} (${message.location()?.url})`);
  });
  page.on('requestfailed', (request) => {
    // Navigating away aborts what is still loading (the icon, say): that is not a failure.
    if (request.failure()?.errorText === 'net::ERR_ABORTED') return;
    if (!request.url().includes('.csv') && !request.url().includes('.json')) {
      problems.push(`${request.url()}: ${request.failure()?.errorText}`);
    }
  });
  return { context, page };
}

/** axe-core's WCAG 2.0/2.1/2.2 A and AA rules and its best practices: no violation at all. */
async function axe(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    }),
  );
  const violations = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join(' | ')}`,
  );
  assert.deepEqual(violations, [], `axe-core on ${name}`);
  assert.ok(result.passes.length > 20, `axe-core ran its rules on ${name}`);
}

/** What every page has: one h1, a skip link, no script, a title. */
async function wellFormed(page, name) {
  assert.equal(await page.locator('h1').count(), 1, `one h1 on ${name}`);
  assert.equal(await page.locator('a.govuk-skip-link[href="#main-content"]').count(), 1, `skip link on ${name}`);
  assert.equal(await page.locator('script').count(), 0, `no script on ${name}`);
  assert.match(await page.title(), /Coprod$/, `title of ${name}`);
}

async function check(page, name) {
  await wellFormed(page, name);
  await axe(page, name);
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** Every chart's text on the page: no two text boxes overlap, and each is drawn at least as
 *  large as the body's text. Returns how many charts were measured. */
async function chartsReadable(page, name) {
  const { charts, problems } = await page.evaluate(() => {
    const problems = [];
    const body = parseFloat(getComputedStyle(document.querySelector('.govuk-body') || document.body).fontSize);
    const charts = [...document.querySelectorAll('svg.app-chart')];
    for (const [c, svg] of charts.entries()) {
      const texts = [...svg.querySelectorAll('text')].map((t) => ({
        text: t.textContent,
        box: t.getBoundingClientRect(),
        size: parseFloat(getComputedStyle(t).fontSize) * (t.getScreenCTM()?.a ?? 1),
      }));
      for (const t of texts) {
        if (t.size + 0.01 < body) problems.push(`chart ${c}: "${t.text}" drawn at ${t.size.toFixed(1)}px, the body at ${body}px`);
      }
      for (let i = 0; i < texts.length; i++) {
        for (let j = i + 1; j < texts.length; j++) {
          const [a, b] = [texts[i].box, texts[j].box];
          const overlap = Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
          if (overlap) problems.push(`chart ${c}: "${texts[i].text}" overlaps "${texts[j].text}"`);
        }
      }
    }
    return { charts: charts.length, problems };
  });
  assert.deepEqual(problems.slice(0, 10), [], `charts on ${name}`);
  return charts;
}

/** Words broken across lines inside table cells (a break after a hyphen is a normal break). */
async function brokenWordsInCells(page) {
  return page.evaluate(() => {
    const broken = [];
    for (const cell of document.querySelectorAll('main td, main th')) {
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent;
        for (const match of text.matchAll(/[^\s-]+-?/g)) {
          const range = document.createRange();
          range.setStart(node, match.index);
          range.setEnd(node, match.index + match[0].length);
          const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
          if (lines.size > 1) broken.push(`"${match[0]}" in "${cell.innerText.trim().slice(0, 60)}"`);
        }
      }
    }
    return broken;
  });
}

async function signIn(page, token) {
  await page.goto(`${base}/`);
  await page.getByLabel('Your access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/`);
}

test('the sign-in page works with the keyboard alone', async () => {
  const { context, page } = await newPage();
  const response = await page.goto(`${base}/`);
  assert.equal(response.status(), 200);
  await check(page, '01-sign-in');
  // The first Tab reaches the skip link, which shows itself when focused and moves to the content.
  await page.keyboard.press('Tab');
  const skip = page.locator('a.govuk-skip-link');
  assert.equal(await skip.evaluate((el) => el === document.activeElement), true, 'skip link focused first');
  const box = await skip.boundingBox();
  assert.ok(box && box.width > 20 && box.height > 10, 'the skip link is visible when focused');
  const outline = await skip.evaluate((el) => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).backgroundColor);
  assert.ok(!outline.startsWith('none rgba(0, 0, 0, 0)'), `focus is visible on the skip link (${outline})`);
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main-content', 'skip link moves focus to main');
  // Keyboard only: Tab to the token field, type, Enter.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'token', 'Tab reaches the token field');
  const focus = await page.locator('#token').evaluate((el) => getComputedStyle(el).outlineStyle + '/' + getComputedStyle(el).boxShadow);
  assert.ok(!focus.startsWith('none/none'), `the focused field shows its focus (${focus})`);
  await page.keyboard.type('coprod_not_a_real_token');
  await page.keyboard.press('Enter');
  await page.waitForLoadState();
  assert.match(await page.locator('.govuk-error-summary').innerText(), /not recognised/);
  await check(page, '02-sign-in-wrong-token');
  await page.locator('#token').fill(tokens.assurance);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${base}/`);
  assert.equal(await page.locator('h1').innerText(), 'Projects');
  await context.close();
});

test('an assurance officer opens a project, follows evidence to the trail, and changes the date', async () => {
  const { context, page } = await newPage();
  await signIn(page, tokens.assurance);
  await check(page, '03-projects');
  const list = await page.locator('main').innerText();
  assert.match(list, /Redesigning support for unpaid carers/);
  assert.doesNotMatch(list, /Day opportunities review/, 'another organisation’s project is not listed');
  assert.match(list, /Whole life involvement: .*(Met|Partly met|Not met|Cannot be judged yet)/);

  await page.getByRole('link', { name: 'Redesigning support for unpaid carers' }).click();
  await page.waitForURL(`${base}/projects/${project}`);
  await check(page, '04-project');
  if (process.env.COPROD_DOCS_SCREENSHOT) {
    // The README's picture: the top of the page, down to the chart and its table.
    await page.screenshot({ path: process.env.COPROD_DOCS_SCREENSHOT, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 2150 } });
  }
  // The chart and the same data as a table.
  assert.equal(await page.locator('svg.app-chart[role="img"]').count(), 1);
  assert.equal(await page.locator('svg.app-chart text.app-chart__value').count(), 6);
  assert.equal(await page.locator('table.govuk-table tbody tr').count(), 6);
  const overallNow = await page.locator('#overall').innerText();
  // Version 2's verdict first: the headline, the warning that the project is described above
  // what the facts show, and the ladder.
  assert.ok(await page.locator('#headline').isVisible());
  assert.match(await page.locator('.govuk-warning-text.app-flag').first().innerText(), /Warning/);
  assert.match(await page.locator('#ladder').innerText(), /What the project says it is\s+Co-production/);
  const whole = page.locator('section#whole_life_involvement');
  assert.match(await whole.innerText(), /Involved from the start/);

  // Follow an evidence link to the entry on the trail.
  const evidence = whole.locator('.app-evidence a').first();
  const href = await evidence.getAttribute('href');
  const entry = href.split('#')[1];
  await evidence.click();
  await page.waitForURL(/\/trail\?page=1#entry-\d+$/);
  const target = page.locator(`#${entry}`);
  assert.equal(await target.count(), 1, `${entry} is on the trail page`);
  assert.ok(await target.isVisible());
  const inView = await target.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return r.top >= 0 && r.top < window.innerHeight;
  });
  assert.ok(inView, `${entry} is scrolled into view`);
  // One line per entry; the rest opens with its details (no script).
  await target.locator('summary').click();
  assert.match(await target.innerText(), /Recorded\s+\d+ \w+ \d{4} at/);
  assert.match(await target.innerText(), /sha256:[0-9a-f]{64}/);
  await check(page, '05-trail');
  assert.match(await page.locator('#verify').innerText(), /Verified: all \d+ entries match their digests/);
  const withdrawnEntry = page.locator(`#entry-${withdrawn}`);
  await withdrawnEntry.locator('summary').click();
  assert.match(await withdrawnEntry.innerText(), /Withdrawn by the correction in entry \d+/);

  // Back to the project, and the assessment as it stood at the end of January.
  await page.goto(`${base}/projects/${project}`);
  await page.getByLabel('See the assessment as it stood at the end of a day').fill(earlyDate);
  await page.getByRole('button', { name: 'Show assessment' }).click();
  await page.waitForURL(`${base}/projects/${project}?as_of=${earlyDate}&count=recorded`);
  const overallThen = await page.locator('#overall').innerText();
  assert.notEqual(overallThen, overallNow, 'the assessment changes with the date');
  assert.match(await page.locator('#assessment-basis').innerText(), new RegExp(`end of 31 January ${year}`));
  await check(page, '06-project-as-of-january');

  // The same day, counting what had happened by then rather than what had been recorded.
  await page.getByLabel('What had happened by that day, including history recorded later').check();
  await page.getByRole('button', { name: 'Show assessment' }).click();
  await page.waitForURL(`${base}/projects/${project}?as_of=${earlyDate}&count=happened`);
  assert.match(await page.locator('#assessment-basis').innerText(), new RegExp(`What had happened by the end of 31 January ${year}`));
  await check(page, '06-project-happened-by-january');

  // Compare two dates.
  await page.getByLabel('First date').fill(earlyDate);
  await page.getByLabel('Second date').fill(lateDate);
  await page.getByRole('button', { name: 'Compare' }).click();
  await page.waitForURL(/\/compare\?from=/);
  assert.match(await page.locator('h1').innerText(), new RegExp(`What changed between 31 January ${year} and 30 April ${year}`));
  assert.match(await page.locator('main').innerText(), /now met/);
  await check(page, '07-compare');

  // A malformed date: the form again, with a message that says what to do.
  await page.goto(`${base}/projects/${project}`);
  await page.getByLabel('See the assessment as it stood at the end of a day').fill('last Tuesday');
  await page.getByRole('button', { name: 'Show assessment' }).click();
  await page.waitForLoadState();
  assert.match(await page.locator('.govuk-error-summary').innerText(), /year, month and day/);
  assert.match(await page.title(), /^Error:/);
  await check(page, '08-malformed-date');
  await context.close();
});

test('the panel report prints, and its data matches', async () => {
  const { context, page } = await newPage();
  await signIn(page, tokens.panel);
  const response = await page.goto(`${base}/projects/${project}/report?as_of=${lateDate}`);
  assert.equal(response.status(), 200);
  await check(page, '09-report');
  const main = await page.locator('main').innerText();
  assert.match(main, /Stream digest\s+sha256:[0-9a-f]{64}/);
  assert.match(main, /oxfordshire-six-point, version 2/);
  const csv = await page.getByRole('link', { name: /Download as CSV/ }).getAttribute('href');
  const json = await page.getByRole('link', { name: /Download as JSON/ }).getAttribute('href');
  const csvBody = await (await context.request.get(`${base}${csv}`)).text();
  assert.match(csvBody.split('\n')[0], /^project_id,rubric,as_of/);
  assert.equal(csvBody.trim().split('\n').length, 1 + 26, 'one row per indicator');
  assert.match(csvBody.split('\n')[0], /,state,missing_evidence$/);
  const assessment = await (await context.request.get(`${base}${json}`)).json();
  assert.equal(assessment.criteria.length, 6);

  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('header.app-header').isVisible(), false, 'no header in print');
  assert.equal(await page.locator('form').first().isVisible(), false, 'no forms in print');
  assert.ok(await page.locator('h1').isVisible(), 'the report itself prints');
  await page.screenshot({ path: join(shots, '10-report-print.png'), fullPage: true });
  const pdf = join(shots, '10-report.pdf');
  await page.pdf({ path: pdf, format: 'A4', printBackground: true });
  assert.ok(statSync(pdf).size > 20_000, 'the printed report has content');
  await context.close();
});

test('the trail is compact: one line or so per entry until its details are opened, money and dates in words', async () => {
  const { context, page } = await newPage();
  await signIn(page, tokens.assurance);
  await page.goto(`${base}/projects/${project}/trail`);
  const { height, count } = await page.evaluate(() => {
    const entries = [...document.querySelectorAll('article.app-entry')];
    const top = entries[0].getBoundingClientRect().top;
    const bottom = entries[entries.length - 1].getBoundingClientRect().bottom;
    return { height: bottom - top, count: entries.length };
  });
  assert.ok(count > 5, 'entries on the trail');
  assert.ok(height / count < 80, `${(height / count).toFixed(0)}px per entry`);
  for (const summary of await page.locator('article.app-entry summary').all()) await summary.click();
  const main = await page.locator('main').innerText();
  assert.match(main, /£\d+\.\d\d/, 'money as money');
  assert.doesNotMatch(main, /Amount pence|lived_experience|\b\d{4}-\d\d-\d\d\b/, 'no stored names, keys or dates');
  await context.close();
});

test('a panel member sees the trail without entries’ contents', async () => {
  const { context, page } = await newPage();
  await signIn(page, tokens.panel);
  await page.goto(`${base}/projects/${project}/trail`);
  const main = await page.locator('main').innerText();
  assert.match(main, /As a member of a scrutiny panel/);
  assert.doesNotMatch(main, /Participant id|carer-01/);
  assert.match(main, /Withdrawn/);
  // The entries' contents are hidden, so each says what it was evidence of.
  assert.match(main, /Evidence for [^\n]+: /);
  await check(page, '11-trail-panel');
  await context.close();
});

test('bad addresses and another organisation’s project get helpful pages', async () => {
  const { context, page } = await newPage();
  await signIn(page, tokens.assurance);
  for (const [path, status, name] of [
    [`/projects/${otherProject}`, 404, '12-other-organisation'],
    ['/projects/not-a-project', 404, '13-unknown-project'],
    [`/projects/${project}/trail?page=99`, 404, '14-no-such-page'],
    [`/projects/${project}/compare?from=${lateDate}&to=${earlyDate}`, 400, '15-compare-wrong-order'],
  ]) {
    const response = await page.goto(`${base}${path}`);
    assert.equal(response.status(), status, path);
    await check(page, name);
  }
  assert.match(await page.locator('main').innerText(), /before the second date/);
  await context.close();
});

test('the accessibility statement, signing out, and an ended session', async () => {
  const { context, page } = await newPage();
  await page.goto(`${base}/accessibility`);
  await check(page, '16-accessibility-statement');
  await signIn(page, tokens.assurance);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${base}/?signed_out=yes`);
  assert.match(await page.locator('main').innerText(), /You have signed out/);
  await check(page, '17-signed-out');
  const response = await page.goto(`${base}/projects/${project}`);
  assert.equal(response.status(), 401);
  assert.match(await page.locator('main').innerText(), /Sign in to see this page/);
  // Signing in from there returns to the page asked for.
  await page.getByLabel('Your access token').fill(tokens.assurance);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/projects/${project}`);
  // A session the server no longer knows (it ended, or the server restarted).
  await context.addCookies([{ name: 'coprod_session', value: '0'.repeat(64), url: base }]);
  await page.goto(`${base}/projects/${project}/trail`);
  assert.match(await page.locator('main').innerText(), /Your session has ended/);
  await check(page, '18-session-ended');
  await context.close();
});

test('the portfolio: figures, a chart per criterion over time with its table, the projects behind a figure', async () => {
  const { context, page } = await newPage();
  await signIn(page, tokens.assurance);
  await page.getByRole('link', { name: 'Portfolio', exact: true }).click();
  await page.waitForURL(`${base}/portfolio`);
  await check(page, '24-portfolio');
  if (process.env.COPROD_DOCS_PORTFOLIO_SCREENSHOT) {
    // The README's picture: the filters, the counts and the table of the six points.
    await page.screenshot({ path: process.env.COPROD_DOCS_PORTFOLIO_SCREENSHOT, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 1900 } });
  }
  const counts = page.locator('#project-count a');
  assert.deepEqual((await counts.allInnerTexts()).map((t) => t.split('\n')[0].trim()), ['5', '4', '1'], 'all, open, closed');
  assert.equal(await page.locator('svg.app-chart--trend[role="img"]').count(), 6);
  assert.equal(await page.locator('table.app-trend-table').count(), 6);
  assert.doesNotMatch(await page.locator('main').innerText(), /harrow|Organisations compared/);

  // The projects behind a figure.
  await page.locator('#attention-table a').first().click();
  await page.waitForURL(/\/portfolio\/projects\?attention=involvement_started_late/);
  assert.match(await page.locator('main').innerText(), /Day services review/);
  await check(page, '25-portfolio-projects');

  // Filter by service area and date (a GET form: no JavaScript needed).
  await page.goto(`${base}/portfolio`);
  await page.getByLabel('Service area').selectOption('Home care');
  await page.getByLabel('As it stood at the end of a day').fill(lateDate);
  await page.getByRole('button', { name: 'Show the portfolio' }).click();
  await page.waitForURL(/service_area=Home\+care/);
  assert.equal((await page.locator('#project-count a').first().innerText()).split('\n')[0].trim(), '2');
  assert.match(await page.locator('h2#now').innerText(), new RegExp(`30 April ${year}`));
  await check(page, '26-portfolio-filtered');
  await context.close();

  // The administrator also compares organisations.
  const admin = await newPage();
  await signIn(admin.page, tokens.admin);
  await admin.page.goto(`${base}/portfolio`);
  const text = await admin.page.locator('#comparison-table').innerText();
  assert.match(text, /camden\s+1\b[^\n]*\n[^\n]*\n?\s*Too few to compare/);
  assert.match(text, /harrow/);
  await check(admin.page, '27-portfolio-organisations');
  await admin.context.close();
});

test('charts: no two labels overlap at 1280 or 320 pixels, and their text is as large as the body’s', async () => {
  for (const width of [1280, 320]) {
    const { context, page } = await newPage({ viewport: { width, height: 900 } });
    await signIn(page, tokens.assurance);
    let measured = 0;
    for (const path of [`/projects/${project}`, '/portfolio', '/portfolio?every=month']) {
      await page.goto(`${base}${path}`);
      measured += await chartsReadable(page, `${path} at ${width}px`);
    }
    assert.equal(measured, 13, `the project's chart and twice six over time at ${width}px`);
    await context.close();
  }
});

test('usable at 400% zoom: a 320 pixel wide window needs no sideways scrolling', async () => {
  const { context, page } = await newPage({ viewport: { width: 320, height: 640 } });
  await signIn(page, tokens.assurance);
  for (const [path, name] of [
    ['/', '19-zoom-projects'],
    [`/projects/${project}`, '20-zoom-project'],
    [`/projects/${project}/trail`, '21-zoom-trail'],
    [`/projects/${project}/report`, '22-zoom-report'],
    [`/projects/${project}/compare?from=${earlyDate}&to=${lateDate}`, '23-zoom-compare'],
    ['/portfolio', '28-zoom-portfolio'],
    ['/portfolio/projects?attention=involvement_started_late', '29-zoom-portfolio-projects'],
    ['/accessibility', '30-zoom-accessibility-statement'],
    ['/projects/not-a-project', '31-zoom-unknown-project'],
  ]) {
    await page.goto(`${base}${path}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll('main *')]
        .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .slice(0, 5)
        .map((el) => `${el.tagName.toLowerCase()}.${el.className} (${Math.round(el.getBoundingClientRect().right)}px)`),
    );
    assert.ok(overflow <= 0, `${path}: ${overflow}px wider than the window: ${wide.join(', ')}`);
    assert.deepEqual((await brokenWordsInCells(page)).slice(0, 10), [], `${path}: words broken inside table cells`);
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  }
  await context.close();
  // The sign-in page, before any session.
  const fresh = await newPage({ viewport: { width: 320, height: 640 } });
  await fresh.page.goto(`${base}/`);
  const overflow = await fresh.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the sign-in page: ${overflow}px wider than the window`);
  await fresh.page.screenshot({ path: join(shots, '32-zoom-sign-in.png'), fullPage: true });
  await fresh.context.close();
});

test('everything works without JavaScript', async () => {
  const { context, page } = await newPage({ javaScriptEnabled: false });
  await signIn(page, tokens.recorder);
  await page.goto(`${base}/projects/${project}`);
  await page.getByLabel('See the assessment as it stood at the end of a day').fill(earlyDate);
  await page.getByRole('button', { name: 'Show assessment' }).click();
  await page.waitForURL(`${base}/projects/${project}?as_of=${earlyDate}&count=recorded`);
  assert.match(await page.locator('#assessment-basis').innerText(), new RegExp(`31 January ${year}`));
  await context.close();
});

test('a participant’s invitation: its form, errors, thanks, a used and an unknown link pass axe and fit 320 pixels', async () => {
  const invitation = env('COPROD_INVITATION');
  const fits = async (page, name) => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${name}: ${overflow}px wider than the window`);
  };
  for (const width of [1280, 320]) {
    const { context, page } = await newPage({ viewport: { width, height: 900 } });
    const response = await page.goto(`${base}${invitation}`);
    assert.equal(response.status(), 200);
    await check(page, `40-invitation-${width}`);
    await fits(page, `the invitation at ${width} pixels`);
    await context.close();
  }
  const { context, page } = await newPage({ viewport: { width: 320, height: 640 } });
  await page.goto(`${base}${invitation}`);
  await page.getByRole('button', { name: 'Send my answers' }).click();
  assert.equal(await page.locator('.govuk-error-summary').count(), 1, 'the questions left out are listed');
  await check(page, '41-invitation-errors');
  await fits(page, 'the invitation with errors');
  await page.getByLabel('Designing it together').check();
  for (const question of ['listened_to', 'could_influence', 'paid_or_thanked_fairly']) {
    await page.locator(`#${question}-4`).check(); // Agree
  }
  await page.getByLabel('Is there anything else you want to tell us? (optional)').fill('Evening sessions helped.');
  await page.locator('#accessible_format').check(); // No
  await page.getByRole('button', { name: 'Send my answers' }).click();
  assert.match(await page.locator('h1').innerText(), /Thank you/);
  await check(page, '42-invitation-thanks');
  const used = await page.goto(`${base}${invitation}`);
  assert.equal(used.status(), 410);
  assert.match(await page.locator('h1').innerText(), /already been used/);
  await check(page, '43-invitation-used');
  await fits(page, 'a used link');
  const unknown = await page.goto(`${base}/your-say/not-a-link-we-made`);
  assert.equal(unknown.status(), 404);
  await check(page, '44-invitation-unknown');
  await context.close();

  // The project page now sets what the people involved say beside the rating.
  const officer = await newPage();
  await signIn(officer.page, tokens.assurance);
  await officer.page.goto(`${base}/projects/${project}`);
  assert.equal(await officer.page.locator('#people-say').count(), 1);
  assert.equal(await officer.page.getByText('Evening sessions helped.').count(), 0, 'no comment of fewer than five people');
  await check(officer.page, '45-project-people-say');
  await officer.context.close();
});

test('the recording forms: a project registered and a fact recorded with the keyboard alone; every form and its errors pass axe and fit 320 pixels', async () => {
  const fits = async (page, name) => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${name}: ${overflow}px wider than the window`);
  };
  /** Presses Tab until the element matching `selector` has the focus. */
  const tabTo = async (page, selector) => {
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
    }
    assert.fail(`Tab never reached ${selector}`);
  };
  const { context, page } = await newPage();
  await signIn(page, tokens.recorder);

  // Keyboard only: register a project, then record someone joining.
  await page.goto(`${base}/projects`);
  await tabTo(page, 'a[href="/projects/new"]');
  await page.keyboard.press('Enter');
  await page.waitForURL(`${base}/projects/new`);
  await check(page, '55-register-project');
  await tabTo(page, '#title');
  await page.keyboard.type('Day opportunities review');
  await tabTo(page, '#service_area');
  await page.keyboard.type('Day opportunities');
  await tabTo(page, '#priority_groups');
  await page.keyboard.type('age_band: 65 and over');
  await tabTo(page, 'button[type="submit"]');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/recorded\/1$/);
  assert.match(await page.locator('h1').innerText(), /Recorded as entry 1/);
  const created = page.url().match(/\/projects\/([0-9a-f-]{36})\//)[1];
  await page.goto(`${base}/projects/${created}/record/someone-joined`);
  await tabTo(page, '#participant_id');
  await page.keyboard.type('carer-k1');
  await tabTo(page, 'input[name="kind"]');
  await page.keyboard.press('ArrowDown'); // the second kind: a carer
  await page.keyboard.press('Space');
  await tabTo(page, 'button[type="submit"]');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/recorded\/2$/);
  await check(page, '52-receipt-1280');
  assert.match(await page.locator('.govuk-panel').innerText(), /Recorded as entry 2/);
  for (const person of ['le-k2', 'staff-k3']) {
    await page.goto(`${base}/projects/${created}/record/someone-joined`);
    await page.getByLabel('Their reference').fill(person);
    await page.getByLabel('A person with lived experience of care and support').check();
    await page.getByRole('button', { name: 'Record it' }).click();
    await page.waitForURL(/\/recorded\/\d+$/);
  }
  await context.close();

  // Every form, empty and with its errors, at both widths.
  const slugs = ['someone-joined', 'someone-left', 'stage-started', 'stage-completed', 'activity', 'reward', 'role',
    'contribution', 'response', 'feedback', 'decision', 'people-told', 'outcome', 'correction', 'close'];
  for (const width of [1280, 320]) {
    const { context, page } = await newPage({ viewport: { width, height: 900 } });
    await signIn(page, tokens.recorder);
    for (const [path, name] of [[`/projects/${created}/record`, `53-record-index-${width}`], [`/projects/${created}/import`, `54-import-${width}`]]) {
      await page.goto(`${base}${path}`);
      await check(page, name);
      await fits(page, name);
    }
    for (const slug of slugs) {
      const response = await page.goto(`${base}/projects/${created}/record/${slug}`);
      assert.equal(response.status(), 200, slug);
      const name = slug === 'activity' ? `50-form-activity-${width}` : `form-${slug}-${width}`;
      await check(page, name);
      await fits(page, `the ${slug} form at ${width} pixels`);
      // Sent empty: the error summary, each message by its field, and the focusable summary links.
      await page.locator('#occurred_on').fill('');
      await page.getByRole('button', { name: 'Record it' }).click();
      assert.equal(await page.locator('.govuk-error-summary').count(), 1, `${slug}: the error summary`);
      const links = await page.locator('.govuk-error-summary__list a').count();
      assert.ok(links >= 1, `${slug}: the summary links to the fields`);
      assert.equal(await page.locator('.govuk-error-message').count() >= 1, true, `${slug}: a message by a field`);
      assert.match(await page.title(), /^Error: /, `${slug}: the title says there is an error`);
      const errorName = slug === 'activity' ? `51-form-errors-${width}` : `form-${slug}-errors-${width}`;
      await check(page, errorName);
      await fits(page, `the ${slug} form's errors at ${width} pixels`);
    }
    await context.close();
  }
  // The receipt at 320 pixels, for the gallery.
  const narrow = await newPage({ viewport: { width: 320, height: 900 } });
  await signIn(narrow.page, tokens.recorder);
  await narrow.page.goto(`${base}/projects/${created}/recorded/2`);
  await fits(narrow.page, 'the receipt');
  await check(narrow.page, '52-receipt-320');
  await narrow.context.close();
});

// The demo (`coprod serve --demo`), served by the test beside the seeded site: every page of every
// demo project says it is a demo, and passes axe.
const demo = process.env.COPROD_DEMO_BASE_URL
  ? {
      base: process.env.COPROD_DEMO_BASE_URL,
      tokens: JSON.parse(env('COPROD_DEMO_TOKENS')),
      projects: env('COPROD_DEMO_PROJECTS').split(','),
    }
  : null;

test('the demo: every page of every demo project says it is a demo and passes axe', { skip: demo ? false : 'no demo server given' }, async () => {
  for (const role of ['panel', 'admin']) {
    const { context, page } = await newPage();
    await page.goto(`${demo.base}/`);
    assert.match(await page.locator('#demo-notice').innerText(), /Demo/, 'the sign-in page says it is a demo');
    await page.getByLabel('Your access token').fill(demo.tokens[role]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${demo.base}/`);
    const paths = ['/projects', '/portfolio'];
    for (const id of demo.projects) {
      paths.push(
        `/projects/${id}`,
        `/projects/${id}?as_of=2025-06-30`,
        `/projects/${id}/compare?from=2025-05-20&to=2025-11-30`,
        `/projects/${id}/trail`,
        `/projects/${id}/report`,
      );
    }
    for (const path of paths) {
      const response = await page.goto(`${demo.base}${path}`);
      const name = `demo ${role} ${path}`;
      assert.equal(response.status(), 200, name);
      assert.equal(await page.locator('#demo-notice').count(), 1, `${name} says it is a demo`);
      assert.match(await page.title(), /Coprod demo$/, `title of ${name}`);
      assert.equal(await page.locator('h1').count(), 1, `one h1 on ${name}`);
      assert.equal(await page.locator('script').count(), 0, `no script on ${name}`);
      await axe(page, name);
    }
    await page.screenshot({ path: join(shots, `demo-${role}-last-page.png`), fullPage: true });
    await context.close();
  }
});

test('no page logged an error or failed to load a resource', () => {
  assert.deepEqual(problems, []);
});
