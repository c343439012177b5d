import sharp from 'sharp';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, expectStatus } from '../helpers/remote.ts';
import {
  describeE2E,
  E2EServer,
  ensureWebBuild,
  launchBrowser,
  loginThroughUi,
  newUser,
  openContext,
  type PageLog,
  PHONE,
  registerViaApi,
  Screenshots,
  UI_TIMEOUT_MS,
  unnamedControls,
} from './harness.ts';

/**
 * The shell's own flows besides the story: login errors, rejecting and cancelling requests,
 * blocking and unblocking, the profile and avatar, notifications and their badge. Other users act
 * over the API; the user under test acts in the browser.
 */
describeE2E('web shell: login, requests, blocks, profile, notifications', () => {
  let server: E2EServer;
  let browser: Browser;
  let page: Page;
  let log: PageLog;
  let closeContext: () => Promise<void>;
  const me = newUser('shell', '정우성');
  const other = newUser('other', '한가인');
  const third = newUser('third', '최다니엘');
  let meId = 0;
  let otherAccount: { id: number; token: string };
  const shots = new Screenshots('shell');

  /** A screenshot of the step, and every control on screen has an accessible name. */
  async function step(name: string): Promise<void> {
    await shots.take(page, name);
    expect(await unnamedControls(page), `controls without an accessible name at "${name}"`).toEqual([]);
  }

  beforeAll(async () => {
    await ensureWebBuild();
    [server, browser] = await Promise.all([E2EServer.start(), launchBrowser()]);
    const [mine, theirs] = await Promise.all([registerViaApi(server.baseUrl, me), registerViaApi(server.baseUrl, other), registerViaApi(server.baseUrl, third)]);
    meId = mine.id;
    otherAccount = theirs;
    const context = await openContext(browser, { viewport: PHONE });
    page = context.page;
    log = context.log;
    closeContext = () => context.context.close();
  }, 180_000);

  afterAll(async () => {
    await closeContext?.();
    await browser?.close();
    await server?.close();
  });

  it('refuses a wrong password next to the form, then logs in', async () => {
    await page.goto(server.appUrl);
    const form = page.getByRole('form', { name: '로그인' });
    await form.getByLabel('이메일').fill(me.email);
    await form.getByLabel('비밀번호').fill('not-the-password');
    await form.getByRole('button', { name: '로그인' }).click();
    await form.getByRole('alert').filter({ hasText: '이메일 또는 비밀번호가 올바르지 않습니다' }).waitFor();
    await step('login refused');
    await loginThroughUi(page, server.appUrl, me);
  });

  it('rejects a received request and cancels a sent one', async () => {
    await expectStatus(201, 'request', call(server.baseUrl, 'POST', '/api/friends/request', { token: otherAccount.token, body: { user_id: meId } }));
    await page.getByRole('button', { name: /^알림 1$/ }).waitFor();
    await page.getByRole('tab', { name: '친구' }).click();
    const requests = page.getByRole('region', { name: '친구 요청' });
    await requests.getByRole('listitem').filter({ hasText: '한가인' }).getByRole('button', { name: '거절' }).click();
    await requests.waitFor({ state: 'detached' });
    // Answering the request also reads its notification.
    await page.getByRole('button', { name: '알림', exact: true }).waitFor();

    await page.getByRole('searchbox', { name: '사용자 검색' }).fill(third.username);
    const result = directoryItem(page, '최다니엘');
    await result.getByRole('button', { name: '친구 요청' }).click();
    await requests.getByRole('listitem').filter({ hasText: '최다니엘' }).waitFor();
    await step('request sent');
    await requests.getByRole('button', { name: '취소' }).click();
    await requests.waitFor({ state: 'detached' });
    await result.getByRole('button', { name: '친구 요청' }).waitFor();
  });

  it('blocks from the directory (asking once more) and unblocks', async () => {
    await page.getByRole('searchbox', { name: '사용자 검색' }).fill(other.username);
    const result = directoryItem(page, '한가인');
    await result.getByRole('button', { name: '차단' }).click();
    await result.getByRole('button', { name: '차단 확인' }).click();
    const blocked = page.getByRole('region', { name: '차단한 사용자' });
    await blocked.getByRole('listitem').filter({ hasText: '한가인' }).waitFor();
    // Blocked either way: the directory no longer lists them.
    await expect.poll(() => directoryItem(page, '한가인').count(), { timeout: UI_TIMEOUT_MS }).toBe(0);
    await step('blocked');
    await blocked.getByRole('button', { name: '차단 해제' }).click();
    await blocked.waitFor({ state: 'detached' });
    await directoryItem(page, '한가인').waitFor();
  });

  it('edits the profile and uploads, shows and removes the avatar', async () => {
    await page.getByRole('button', { name: '프로필', exact: true }).click();
    const profile = page.getByRole('region', { name: '프로필 편집' });
    await profile.getByLabel('표시 이름').fill('정우성 (개발팀)');
    await profile.getByLabel('상태 메시지').fill('오늘도 좋은 하루 🙂');
    await profile.getByRole('button', { name: '저장' }).click();
    await profile.getByRole('status').filter({ hasText: '저장했습니다' }).waitFor();
    await expect.poll(() => page.getByRole('button', { name: '프로필', exact: true }).textContent()).toContain('정우성 (개발팀)');

    const avatar = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#2f6fed' } }).png().toBuffer();
    await profile.getByLabel('프로필 사진').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: avatar });
    await loaded(profile.getByRole('img', { name: '새 프로필 사진 미리 보기' }));
    await step('avatar preview');
    await profile.getByRole('button', { name: '사진 올리기' }).click();
    const headerAvatar = page.getByRole('button', { name: '프로필', exact: true }).locator('img');
    await loaded(headerAvatar);
    expect(await headerAvatar.getAttribute('src')).toMatch(/^\/uploads\/avatars\//);
    await step('avatar uploaded');

    // What others see: the profile over the API has the new name, status and picture.
    const { body } = await expectStatus(200, 'profile', call<{ user: { display_name: string; status_message: string; profile_image_url: string | null } }>(server.baseUrl, 'GET', `/api/users/${meId}`, { token: otherAccount.token }));
    expect(body.user).toMatchObject({ display_name: '정우성 (개발팀)', status_message: '오늘도 좋은 하루 🙂' });
    expect(body.user.profile_image_url).toMatch(/^\/uploads\//);

    await profile.getByRole('button', { name: '사진 삭제' }).click();
    await headerAvatar.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: '뒤로' }).click();
  });

  it('counts a new message notification live and opens its room from the list', async () => {
    // They become friends and write to me in a room I have not opened.
    await expectStatus(201, 'request', call(server.baseUrl, 'POST', '/api/friends/request', { token: otherAccount.token, body: { user_id: meId } }));
    await page.getByRole('tab', { name: '친구' }).click();
    await page.getByRole('region', { name: '친구 요청' }).getByRole('button', { name: '수락' }).click();
    await friendItem(page, '한가인').waitFor();
    const room = await expectStatus(201, 'direct room', call<{ room: { id: number } }>(server.baseUrl, 'POST', '/api/chat-rooms', { token: otherAccount.token, body: { user_id: meId } }));
    const roomId = room.body.room.id;
    await expectStatus(201, 'message', call(server.baseUrl, 'POST', `/api/messages/${roomId}`, { token: otherAccount.token, body: { content: '퇴근하고 커피 한잔 어때요?' } }));

    await page.getByRole('button', { name: /^알림 [1-9]/ }).click();
    const entry = page.getByRole('region', { name: '알림 목록' }).getByRole('listitem').filter({ hasText: '퇴근하고 커피 한잔 어때요?' });
    await entry.waitFor();
    await expect.poll(() => entry.textContent(), { timeout: UI_TIMEOUT_MS }).toContain('한가인');
    await step('notifications');
    await entry.getByRole('button').click();
    await page.getByRole('region', { name: '채팅: 한가인' }).waitFor();
    await page.getByRole('log', { name: '메시지' }).getByRole('article').filter({ hasText: '퇴근하고 커피 한잔 어때요?' }).waitFor();
    await step('notification opened room');
    await page.getByRole('button', { name: '뒤로' }).click();
    await page.getByRole('button', { name: '알림', exact: true }).waitFor();
    expect(log.errors).toEqual([]);
  });
});

function directoryItem(page: Page, name: string): Locator {
  return page.getByRole('list', { name: '검색 결과' }).getByRole('listitem').filter({ hasText: name });
}

function friendItem(page: Page, name: string): Locator {
  return page.getByRole('region', { name: '친구 목록' }).getByRole('listitem').filter({ hasText: name });
}

async function loaded(image: Locator): Promise<void> {
  await image.waitFor();
  await expect.poll(() => image.evaluate((element) => (element as unknown as { naturalWidth: number }).naturalWidth), { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(0);
}
