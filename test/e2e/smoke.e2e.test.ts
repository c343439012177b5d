import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  describeE2E,
  E2EServer,
  ensureWebBuild,
  formatKb,
  launchBrowser,
  measureFirstLoad,
  newUser,
  openContext,
  PHONE,
  registerThroughUi,
  Screenshots,
} from './harness.ts';

/** Open /app/, register, see the shell: the whole stack answers a real browser. */
describeE2E('web client smoke', () => {
  let server: E2EServer;
  let browser: Browser;

  beforeAll(async () => {
    await ensureWebBuild();
    [server, browser] = await Promise.all([E2EServer.start(), launchBrowser()]);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('measures the first load: gzipped JS and time to a usable login form', async () => {
    // The first visit warms the server (route compilation, file reads); the next three are
    // measured, each in a fresh context (empty cache), and the median is judged: the cores are
    // shared with other suites, so one load can be unlucky.
    await measureFirstLoad(browser, server.appUrl);
    const loads = [];
    for (let run = 0; run < 3; run += 1) loads.push(await measureFirstLoad(browser, server.appUrl));
    const median = [...loads].sort((a, b) => a.interactiveMs - b.interactiveMs)[1]!;
    console.log(
      `[e2e] first load: ${formatKb(median.gzippedJsBytes)} gzipped JS in ${median.jsFiles.length} file(s) ` +
        `(${median.jsFiles.map((file) => `${file.url.split('/').pop()} ${formatKb(file.bytes)} → ${formatKb(file.gzipped)}`).join(', ')}); ` +
        `login form usable ${median.interactiveMs.toFixed(0)} ms after navigation start (median of ${loads.map((load) => load.interactiveMs.toFixed(0)).join(', ')} ms)`,
    );
    expect(median.jsFiles.length).toBeGreaterThan(0);
    expect(median.gzippedJsBytes).toBeLessThan(250 * 1024);
    expect(median.interactiveMs).toBeLessThan(2000);
  });

  it('registers through the form and shows the shell, at desktop and phone width', async () => {
    const shots = new Screenshots('smoke');
    const { context, page, log } = await openContext(browser);
    const phone = await openContext(browser, { viewport: PHONE, colorScheme: 'dark' });
    try {
      await page.goto(server.appUrl);
      await page.getByRole('form', { name: '로그인' }).waitFor();
      await shots.take(page, 'login form');

      // A refused registration shows the reason next to its field.
      await page.getByRole('button', { name: '회원가입' }).click();
      const form = page.getByRole('form', { name: '회원가입' });
      await form.getByLabel('아이디').fill('no spaces allowed');
      await form.getByLabel('이메일').fill('not-an-email');
      await form.getByLabel('비밀번호').fill('short');
      await form.getByRole('button', { name: '가입하기' }).click();
      await expect.poll(() => form.getByLabel('아이디').getAttribute('aria-invalid'), { timeout: 20_000 }).toBe('true');
      expect(await describedBy(page, form.getByLabel('아이디'))).toContain('영문, 숫자, 밑줄');
      expect(await describedBy(page, form.getByLabel('비밀번호'))).toContain('8바이트 이상');
      await shots.take(page, 'register field errors');

      const user = newUser('smoke', '김철수');
      await registerThroughUi(page, server.appUrl, user);
      await page.getByRole('tab', { name: '채팅' }).waitFor();
      await expect.poll(() => page.getByRole('button', { name: '프로필', exact: true }).textContent()).toContain('김철수');
      await shots.take(page, 'shell desktop');

      // A reload keeps the session (the tab's token), then logout returns to the login form.
      await page.reload();
      await page.getByRole('button', { name: '로그아웃' }).waitFor();
      await page.getByRole('button', { name: '로그아웃' }).click();
      await page.getByRole('form', { name: '로그인' }).waitFor();

      const phoneUser = newUser('phone', '이영희');
      await registerThroughUi(phone.page, server.appUrl, phoneUser);
      await phone.page.getByRole('tab', { name: '친구' }).click();
      await phone.page.getByRole('searchbox', { name: '사용자 검색' }).waitFor();
      await shots.take(phone.page, 'shell phone dark');
      expect([...log.errors, ...phone.log.errors]).toEqual([]);
    } finally {
      await context.close();
      await phone.context.close();
    }
  });
});

/** The text of what a field's aria-describedby points at (its hint and error). */
async function describedBy(page: Page, field: Locator): Promise<string> {
  const ids = ((await field.getAttribute('aria-describedby')) ?? '').split(' ').filter(Boolean);
  const texts = await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).textContent()));
  return texts.join(' ');
}
