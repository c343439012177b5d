import sharp from 'sharp';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  DESKTOP,
  describeE2E,
  E2EServer,
  type E2EUser,
  ensureWebBuild,
  formatKb,
  launchBrowser,
  measureFirstLoad,
  newUser,
  openContext,
  type PageLog,
  PHONE,
  registerThroughUi,
  Screenshots,
  UI_TIMEOUT_MS,
  unnamedControls,
} from './harness.ts';

/**
 * The story, in two browser contexts: 민수 on a desktop window (light), 지현 at phone
 * width (dark). They register, befriend each other through the directory, see each other come
 * online, chat both ways with typing indicators and read receipts, react, send an image, and
 * keep chatting across a server restart with every message shown exactly once on both sides.
 */

interface Person {
  user: E2EUser;
  page: Page;
  log: PageLog;
  close(): Promise<void>;
}

describeE2E('story: two users befriend each other and chat through a server restart', () => {
  let server: E2EServer;
  let browser: Browser;
  let minsu: Person;
  let jihyun: Person;
  const shots = new Screenshots('story');

  async function person(displayName: string, prefix: string, viewport: { width: number; height: number }, colorScheme: 'light' | 'dark'): Promise<Person> {
    const { context, page, log } = await openContext(browser, { viewport, colorScheme });
    return { user: newUser(prefix, displayName), page, log, close: () => context.close() };
  }

  /** A screenshot of the step in each window, and every control on screen has an accessible name. */
  async function shot(name: string, ...people: Person[]): Promise<void> {
    for (const who of people.length ? people : [minsu, jihyun]) {
      await shots.take(who.page, `${name} (${who === minsu ? 'minsu' : 'jihyun'})`);
      expect(await unnamedControls(who.page), `controls without an accessible name at "${name}"`).toEqual([]);
    }
  }

  beforeAll(async () => {
    await ensureWebBuild();
    [server, browser] = await Promise.all([E2EServer.start(), launchBrowser()]);
    minsu = await person('김민수', 'minsu', DESKTOP, 'light');
    jihyun = await person('이지현', 'jihyun', PHONE, 'dark');
  }, 180_000);

  afterAll(async () => {
    await minsu?.close();
    await jihyun?.close();
    await browser?.close();
    await server?.close();
  });

  it('first load: prints the gzipped JS and the time to a usable login form', async () => {
    const load = await measureFirstLoad(browser, server.appUrl);
    console.log(`[e2e] story first load: ${formatKb(load.gzippedJsBytes)} gzipped JS (${load.jsFiles.length} file(s)), login form usable after ${load.interactiveMs.toFixed(0)} ms`);
    expect(load.gzippedJsBytes).toBeLessThan(250 * 1024);
  });

  it('register, befriend through the directory, see each other come online', async () => {
    await Promise.all([registerThroughUi(minsu.page, server.appUrl, minsu.user), registerThroughUi(jihyun.page, server.appUrl, jihyun.user)]);
    await shot('registered');

    // 민수 finds 지현 in the directory and asks.
    await minsu.page.getByRole('tab', { name: '친구' }).click();
    await minsu.page.getByRole('searchbox', { name: '사용자 검색' }).fill(jihyun.user.username);
    const result = minsu.page.getByRole('list', { name: '검색 결과' }).getByRole('listitem').filter({ hasText: '이지현' });
    await result.getByRole('button', { name: '친구 요청' }).click();
    await result.getByText('요청함').waitFor();
    await minsu.page.getByRole('region', { name: '친구 요청' }).getByRole('button', { name: '취소' }).waitFor();
    await shot('request sent', minsu);

    // 지현 is told at once (the badge counts it) and accepts.
    await jihyun.page.getByRole('button', { name: /^알림 1$/ }).waitFor();
    await shot('request notified', jihyun);
    await jihyun.page.getByRole('tab', { name: '친구' }).click();
    const request = jihyun.page.getByRole('region', { name: '친구 요청' }).getByRole('listitem').filter({ hasText: '김민수' });
    await request.getByRole('button', { name: '수락' }).click();

    // Both see the other in their friend list, online.
    await friendItem(jihyun.page, '김민수').getByRole('img', { name: '온라인' }).waitFor();
    await friendItem(minsu.page, '이지현').getByRole('img', { name: '온라인' }).waitFor();
    await shot('friends online');

    // 지현 logs out: 민수 sees her go offline, last seen just now; she logs in again: online.
    await jihyun.page.getByRole('button', { name: '로그아웃' }).click();
    await jihyun.page.getByRole('form', { name: '로그인' }).waitFor();
    const herItem = friendItem(minsu.page, '이지현');
    await herItem.getByRole('img', { name: '오프라인' }).waitFor();
    await herItem.getByText('방금전').waitFor();
    await shot('friend offline', minsu);
    const form = jihyun.page.getByRole('form', { name: '로그인' });
    await form.getByLabel('이메일').fill(jihyun.user.email);
    await form.getByLabel('비밀번호').fill(jihyun.user.password);
    await form.getByRole('button', { name: '로그인' }).click();
    await jihyun.page.getByRole('button', { name: '로그아웃' }).waitFor();
    await herItem.getByRole('img', { name: '온라인' }).waitFor();
    await shot('friend back online', minsu);
  });

  it('chat both ways in the direct room: typing, read receipts, a reaction, an image', async () => {
    // 민수 opens the direct room from his friend list and writes first.
    await friendItem(minsu.page, '이지현').getByRole('button', { name: '대화하기' }).click();
    const minsuChat = minsu.page.getByRole('region', { name: '채팅: 이지현' });
    await minsuChat.getByRole('textbox', { name: '메시지 입력' }).waitFor();
    await send(minsu.page, '안녕하세요, 지현 씨! 👋');
    const first = message(minsu.page, '안녕하세요, 지현 씨!');
    await first.and(minsu.page.locator('[data-message-id]')).waitFor();

    // 지현 finds the room in her list (phone width: the list, then the room with a back button).
    await jihyun.page.getByRole('tab', { name: '채팅' }).click();
    await jihyun.page.getByRole('navigation', { name: '채팅방 목록' }).getByRole('button', { name: /김민수/ }).click();
    await jihyun.page.getByRole('region', { name: '채팅: 김민수' }).waitFor();
    await message(jihyun.page, '안녕하세요, 지현 씨!').waitFor();
    await jihyun.page.getByRole('button', { name: '뒤로' }).waitFor();

    // Her reading it shows as 읽음 under his message.
    await first.getByText('읽음').waitFor();
    await shot('first message read');

    // She types: he sees it; she sends: he sees the message and she sees his receipt.
    await jihyun.page.getByRole('textbox', { name: '메시지 입력' }).fill('반가워요! 오늘 저녁에 시간 있어요?');
    await typingIndicator(minsu.page).waitFor();
    await shot('jihyun typing', minsu);
    await jihyun.page.getByRole('textbox', { name: '메시지 입력' }).press('Enter');
    await message(minsu.page, '반가워요! 오늘 저녁에').waitFor();
    await message(jihyun.page, '반가워요! 오늘 저녁에').getByText('읽음').waitFor();

    // He types back: she sees it.
    await minsu.page.getByRole('textbox', { name: '메시지 입력' }).fill('네, 7시 어때요?');
    await typingIndicator(jihyun.page).waitFor();
    await shot('minsu typing', jihyun);
    await minsu.page.getByRole('textbox', { name: '메시지 입력' }).press('Enter');
    await message(jihyun.page, '네, 7시 어때요?').waitFor();
    await message(minsu.page, '네, 7시 어때요?').getByText('읽음').waitFor();

    // She likes his message: both see 좋아요 1.
    const hisQuestion = message(jihyun.page, '네, 7시 어때요?');
    await hisQuestion.getByRole('button', { name: '반응' }).click();
    await hisQuestion.getByRole('button', { name: '좋아요', exact: true }).click();
    await hisQuestion.getByRole('button', { name: '좋아요 1' }).waitFor();
    await message(minsu.page, '네, 7시 어때요?').getByRole('button', { name: '좋아요 1' }).waitFor();
    await shot('reaction');

    // He sends a picture: both see its thumbnail, named by the file.
    const picture = await sharp({ create: { width: 320, height: 200, channels: 3, background: '#ff8a3d' } })
      .composite([{ input: Buffer.from('<svg width="320" height="200"><circle cx="160" cy="100" r="60" fill="#ffd84d"/></svg>'), top: 0, left: 0 }])
      .png()
      .toBuffer();
    await minsu.page.getByLabel('파일 첨부').setInputFiles({ name: 'sunset.png', mimeType: 'image/png', buffer: picture });
    for (const who of [minsu, jihyun]) await imageLoaded(who.page.getByRole('log', { name: '메시지' }).getByRole('img', { name: 'sunset.png' }));
    await shot('image');

    expect(await messageIds(minsu.page)).toEqual(await messageIds(jihyun.page));
  });

  it('survives a server restart mid-chat: the banner shows lost then back, every message once on both sides', async () => {
    const before = await messageIds(minsu.page);
    expect(before).toHaveLength(4);

    await server.stop();
    for (const who of [minsu, jihyun]) await banner(who.page, '연결이 끊겼습니다').waitFor();
    // Sent while the server is down: it waits, then goes out once the socket is back.
    await send(minsu.page, '서버가 멈춘 동안 보낸 메시지');
    await shot('connection lost');

    await server.start();
    for (const who of [minsu, jihyun]) await banner(who.page, '다시 연결되었습니다').waitFor({ timeout: 60_000 });
    await shot('connection back');
    for (const who of [minsu, jihyun]) await message(who.page, '서버가 멈춘 동안 보낸 메시지').and(who.page.locator('[data-message-id]')).waitFor({ timeout: 60_000 });

    // Chatting goes on both ways after the restart.
    await send(jihyun.page, '다시 연결됐네요 😊');
    await message(minsu.page, '다시 연결됐네요').waitFor();
    await send(minsu.page, '네, 아무것도 안 없어졌어요');
    await message(jihyun.page, '네, 아무것도 안 없어졌어요').waitFor();
    await message(minsu.page, '네, 아무것도 안 없어졌어요').getByText('읽음').waitFor();
    await shot('after restart');

    // Every message exactly once, the same ids in the same order in both windows.
    const after = await messageIds(minsu.page);
    expect(after).toHaveLength(7);
    expect(new Set(after).size).toBe(after.length);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(await messageIds(jihyun.page)).toEqual(after);
    for (const text of ['서버가 멈춘 동안 보낸 메시지', '다시 연결됐네요', '네, 아무것도 안 없어졌어요']) {
      for (const who of [minsu, jihyun]) expect(await message(who.page, text).count(), text).toBe(1);
    }

    // A reload (history over REST) shows the same messages: nothing only lived in the page.
    await jihyun.page.reload();
    await jihyun.page.getByRole('tab', { name: '채팅' }).click();
    await jihyun.page.getByRole('navigation', { name: '채팅방 목록' }).getByRole('button', { name: /김민수/ }).click();
    await message(jihyun.page, '네, 아무것도 안 없어졌어요').waitFor();
    await expect.poll(() => messageIds(jihyun.page), { timeout: UI_TIMEOUT_MS }).toEqual(after);
    await shot('reloaded', jihyun);

    expect([...minsu.log.errors, ...jihyun.log.errors]).toEqual([]);
  });

  it('survives a crash right after a send: the message is stored and shown once', async () => {
    // Back in the room after the reload.
    await jihyun.page.getByRole('region', { name: '채팅: 김민수' }).waitFor();
    const before = await messageIds(minsu.page);

    // The send is on its way when the process dies (no shutdown, sockets cut): either it was
    // stored and its ack was lost, or it never arrived. The SDK sends it again with the same
    // temp_id after reconnecting, and the server keeps one either way.
    await send(jihyun.page, '이건 서버가 죽기 직전에 보냈어요');
    await server.stop({ crash: true });
    for (const who of [minsu, jihyun]) await banner(who.page, '연결이 끊겼습니다').waitFor();
    await server.start();
    for (const who of [minsu, jihyun]) await message(who.page, '이건 서버가 죽기 직전에').and(who.page.locator('[data-message-id]')).waitFor({ timeout: 60_000 });
    await send(minsu.page, '받았어요, 한 번만요');
    await message(jihyun.page, '받았어요, 한 번만요').waitFor();
    await shot('after crash');

    const after = await messageIds(minsu.page);
    expect(after).toHaveLength(before.length + 2);
    expect(new Set(after).size).toBe(after.length);
    await expect.poll(() => messageIds(jihyun.page), { timeout: UI_TIMEOUT_MS }).toEqual(after);
    for (const who of [minsu, jihyun]) expect(await message(who.page, '이건 서버가 죽기 직전에').count()).toBe(1);
    expect([...minsu.log.errors, ...jihyun.log.errors]).toEqual([]);
  });
});

function friendItem(page: Page, name: string): Locator {
  return page.getByRole('region', { name: '친구 목록' }).getByRole('listitem').filter({ hasText: name });
}

/** A stored (or pending) message of the open room's log containing `text`. */
function message(page: Page, text: string): Locator {
  return page.getByRole('log', { name: '메시지' }).getByRole('article').filter({ hasText: text });
}

function typingIndicator(page: Page): Locator {
  return page.getByRole('status').filter({ hasText: '입력 중' });
}

function banner(page: Page, text: string): Locator {
  return page.getByRole('status').filter({ hasText: text });
}

async function send(page: Page, text: string): Promise<void> {
  const input = page.getByRole('textbox', { name: '메시지 입력' });
  await input.fill(text);
  await input.press('Enter');
}

/** The stored messages' ids in the order shown. */
async function messageIds(page: Page): Promise<string[]> {
  const items = await page.getByRole('log', { name: '메시지' }).locator('[data-message-id]').all();
  return Promise.all(items.map(async (item) => (await item.getAttribute('data-message-id')) ?? ''));
}

/** The image is shown and decoded (naturalWidth > 0), not a broken icon. */
async function imageLoaded(image: Locator): Promise<void> {
  await image.waitFor();
  await expect.poll(() => image.evaluate((element) => (element as unknown as { naturalWidth: number }).naturalWidth), { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(0);
}
