import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ApiClient, createApiClient } from '../../client/src/index.ts';
import {
  describeE2E,
  E2EServer,
  type E2EUser,
  ensureWebBuild,
  launchBrowser,
  loginThroughUi,
  newUser,
  openContext,
  type PageLog,
  PHONE,
  Screenshots,
} from './harness.ts';

/**
 * The chat views in a real browser (web/src/chat): groups and their settings, replies, edits and
 * deletions seen live by the other member, history loaded on scroll, attachments. Users are made
 * over REST (the register form is the smoke test's); everything under test goes through the UI.
 */
const EVENT_TTL_S = 4;

describeE2E('web chat', () => {
  let server: E2EServer;
  let browser: Browser;
  let files: string;
  const people: Record<'a' | 'b' | 'c', Person> = {} as Record<'a' | 'b' | 'c', Person>;
  let a: Session;
  let b: Session;

  beforeAll(async () => {
    await ensureWebBuild();
    // Seeding 120 messages at once must not meet the per-user message rate; a room's events are
    // kept a few seconds only, so a socket that was away longer gets `reset` (the reset test).
    [server, browser] = await Promise.all([
      E2EServer.start({ MESSAGE_RATE_PER_USER: '1000', MESSAGE_BURST_PER_USER: '1000', EVENT_HISTORY_TTL_S: String(EVENT_TTL_S) }),
      launchBrowser(),
    ]);
    files = mkdtempSync(path.join(tmpdir(), 'bigtech-e2e-chat-'));
    people.a = await signUp(server, newUser('chat_a', '김철수'));
    people.b = await signUp(server, newUser('chat_b', '이영희'));
    people.c = await signUp(server, newUser('chat_c', '박민수'));
    await befriend(people.a, people.b);
    a = await signIn(browser, server, people.a);
    b = await signIn(browser, server, people.b, { colorScheme: 'dark' });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('creates a group, adds a friend, renames it and changes her role; she sets a nickname and leaves; re-added, she is removed', async () => {
    const shots = new Screenshots('chat group admin');
    const rooms = roomList(a.page);
    await rooms.getByRole('button', { name: '새 그룹' }).click();
    const form = a.page.getByRole('form', { name: '새 그룹' });
    await form.getByLabel('그룹 이름').fill('주말 모임');
    await form.getByRole('button', { name: '만들기' }).click();
    const chat = a.page.getByRole('region', { name: '채팅: 주말 모임' });
    await chat.waitFor();
    await shots.take(a.page, 'group created');

    await chat.getByRole('button', { name: '방 설정' }).click();
    const settings = a.page.getByRole('region', { name: '방 설정' });
    await settings.getByLabel('추가할 친구').selectOption({ label: '이영희' });
    await settings.getByRole('button', { name: '멤버 추가' }).click();
    const role = settings.getByLabel('이영희 역할');
    await role.waitFor();
    await role.selectOption('admin');
    await expect.poll(() => role.inputValue()).toBe('admin');
    await settings.getByLabel('방 이름').fill('주말 등산');
    await settings.getByRole('button', { name: '저장', exact: true }).click();
    await a.page.getByRole('region', { name: '채팅: 주말 등산' }).waitFor();
    await shots.take(a.page, 'settings renamed and role changed');

    const roomId = await openRoomId(a.page);
    const { data } = await people.a.api.GET('/api/chat-rooms/{room_id}', { params: { path: { room_id: roomId } } });
    expect(data?.room.name).toBe('주말 등산');
    expect(data?.room.members.map((member) => [member.user_id, member.role]).sort()).toEqual(
      [
        [people.a.id, 'owner'],
        [people.b.id, 'admin'],
      ].sort(),
    );

    // She was added while her socket was elsewhere: the list picks the group up (read again).
    await showChats(b.page);
    await roomList(b.page).getByRole('button', { name: /^주말 등산/ }).click({ timeout: 30_000 });
    await b.page.getByRole('region', { name: '채팅: 주말 등산' }).getByRole('button', { name: '방 설정' }).click();
    const herSettings = b.page.getByRole('region', { name: '방 설정' });
    await herSettings.getByLabel('내 별명').fill('등산대장');
    await herSettings.getByRole('button', { name: '별명 변경' }).click();
    await settings.getByText('등산대장').waitFor();
    await shots.take(b.page, 'member sees the group');

    await herSettings.getByRole('button', { name: '나가기' }).click();
    await expect.poll(() => roomList(b.page).getByRole('button', { name: /^주말 등산/ }).count()).toBe(0);
    await expect.poll(() => settings.getByRole('listitem').count()).toBe(1);

    // Added again, then removed by the owner.
    await settings.getByLabel('추가할 친구').selectOption({ label: '이영희' });
    await settings.getByRole('button', { name: '멤버 추가' }).click();
    await settings.getByRole('button', { name: /이영희 내보내기|등산대장 내보내기/ }).click();
    await expect.poll(() => settings.getByRole('listitem').count()).toBe(1);
    const after = await people.a.api.GET('/api/chat-rooms/{room_id}', { params: { path: { room_id: roomId } } });
    expect(after.data?.room.members.map((member) => member.user_id)).toEqual([people.a.id]);
    expect(a.log.errors).toEqual([]);
    expect(b.log.errors).toEqual([]);
  });

  it('replies, edits and deletes, each seen live by the other side', async () => {
    const shots = new Screenshots('chat reply edit delete');
    await people.a.api.POST('/api/chat-rooms', { body: { user_id: people.b.id } });
    await openRoom(a.page, '이영희');
    await openRoom(b.page, '김철수');

    await send(a.page, '원본 메시지입니다');
    const original = await messageWithText(b.page, '원본 메시지입니다');
    await original.getByRole('button', { name: '답장' }).click();
    await b.page.getByRole('button', { name: '답장 취소' }).waitFor();
    await send(b.page, '답장입니다');
    const reply = await messageWithText(a.page, '답장입니다');
    const reply2 = await messageWithText(b.page, '답장입니다');
    await expect.poll(() => reply.locator('blockquote').textContent()).toContain('원본 메시지입니다');
    await shots.take(a.page, 'reply quotes its parent');

    const mine = await messageWithText(a.page, '원본 메시지입니다');
    await mine.getByRole('button', { name: '수정' }).click();
    await mine.getByRole('textbox', { name: '메시지 수정' }).fill('고친 메시지입니다');
    await mine.getByRole('button', { name: '저장' }).click();
    const edited = b.page.getByRole('log', { name: '메시지' }).locator(`[data-message-id="${await mine.getAttribute('data-message-id')}"]`);
    await edited.getByText('고친 메시지입니다').waitFor();
    await edited.getByText('(수정됨)').waitFor();
    // Her reply quotes the parent as it is now.
    await expect.poll(() => reply2.locator('blockquote').textContent()).toContain('고친 메시지입니다');
    await shots.take(b.page, 'edit seen live');

    await mine.getByRole('button', { name: '삭제' }).click();
    await edited.getByText('삭제된 메시지입니다').waitFor();
    expect(await edited.getByRole('button', { name: '답장' }).count()).toBe(0);
    // Her messages offer no edit or delete to me.
    expect(await reply.getByRole('button', { name: '수정' }).count()).toBe(0);
    expect(await reply.getByRole('button', { name: '삭제' }).count()).toBe(0);
    await shots.take(b.page, 'delete seen live');
    expect(a.log.errors).toEqual([]);
    expect(b.log.errors).toEqual([]);
  });

  it('loads older history when scrolled to the top, without jumping: every seq once', async () => {
    const shots = new Screenshots('chat history on scroll');
    const { data: created } = await people.c.api.POST('/api/chat-rooms', { body: { user_id: people.a.id } });
    const roomId = created?.room.id;
    if (roomId === undefined) throw new Error('no direct room');
    for (let seq = 1; seq <= 120; seq += 1) {
      const { response } = await people.c.api.POST('/api/messages/{room_id}', { params: { path: { room_id: roomId } }, body: { content: `기록 ${seq}번` } });
      expect(response.status).toBe(201);
    }
    await showChats(a.page);
    const entry = roomList(a.page).getByRole('button', { name: /^박민수/ });
    await entry.getByLabel(/읽지 않은 메시지 \d+개/).waitFor();
    await entry.click();
    const log = a.page.getByRole('log', { name: '메시지' });
    await log.locator('[data-seq="120"]').waitFor();
    await shots.take(a.page, 'newest page');
    // Opening the room reads it: the badge goes.
    await expect.poll(() => entry.getByLabel(/읽지 않은 메시지/).count()).toBe(0);

    for (let page = 0; page < 6 && (await log.getByText('대화의 시작입니다').count()) === 0; page += 1) {
      const before = await seqsIn(log);
      const top = Math.min(...before);
      await log.evaluate((element) => {
        element.scrollTop = 0;
      });
      await expect.poll(async () => Math.min(...(await seqsIn(log)))).toBeLessThan(top);
      // The message that was at the top is still in view: older ones went in above it.
      const box = await log.locator(`[data-seq="${top}"]`).boundingBox();
      const view = await log.boundingBox();
      if (!box || !view) throw new Error('no layout');
      expect(box.y).toBeGreaterThanOrEqual(view.y - 5);
      expect(box.y).toBeLessThan(view.y + view.height);
    }
    await log.getByText('대화의 시작입니다').waitFor();
    await shots.take(a.page, 'start of the conversation');
    const seqs = await seqsIn(log);
    expect(seqs).toEqual(Array.from({ length: 120 }, (_, index) => index + 1));
    await expect.poll(() => log.getByRole('article').filter({ hasText: '기록 1번' }).count()).toBeGreaterThan(0);

    // Scrolled up, a new message does not move the view: a button leads down to it.
    const scrolledTo = await log.evaluate((element) => element.scrollTop);
    await people.c.api.POST('/api/messages/{room_id}', { params: { path: { room_id: roomId } }, body: { content: '새로 온 메시지' } });
    const jump = a.page.getByRole('button', { name: /새 메시지 1개/ });
    await jump.waitFor();
    expect(await log.evaluate((element) => element.scrollTop)).toBe(scrolledTo);
    await jump.click();
    await expect.poll(() => log.evaluate((element) => element.scrollHeight - element.scrollTop - element.clientHeight)).toBeLessThan(80);
    await expect.poll(() => jump.count()).toBe(0);
    expect(a.log.errors).toEqual([]);
  });

  it('sends a file and an image: a download link and a thumbnail that opens full size', async () => {
    const shots = new Screenshots('chat attachments');
    await openRoom(a.page, '이영희');
    await openRoom(b.page, '김철수');
    const note = path.join(files, '회의록.txt');
    writeFileSync(note, '회의록: 다음 주 월요일 10시');
    await a.page.getByLabel('파일 첨부').setInputFiles(note);
    const link = b.page.getByRole('log', { name: '메시지' }).getByRole('link', { name: '회의록.txt' });
    await link.waitFor();
    const href = await link.getAttribute('href');
    if (!href) throw new Error('no href');
    const download = await b.page.evaluate(async (url) => {
      const response = await fetch(url);
      return { status: response.status, disposition: response.headers.get('content-disposition') ?? '', text: await response.text() };
    }, href);
    expect(download.status).toBe(200);
    expect(download.disposition).toMatch(/^attachment/);
    expect(download.text).toBe('회의록: 다음 주 월요일 10시');
    await shots.take(b.page, 'file link');

    const image = path.join(files, 'sunset.png');
    await sharp({ create: { width: 640, height: 360, channels: 3, background: { r: 240, g: 120, b: 40 } } }).png().toFile(image);
    await a.page.getByLabel('파일 첨부').setInputFiles(image);
    const thumbnail = b.page.getByRole('img', { name: 'sunset.png', exact: true });
    await thumbnail.waitFor();
    await expect.poll(() => thumbnail.evaluate(naturalWidth)).toBeGreaterThan(0);
    expect(await thumbnail.evaluate(naturalWidth)).toBeLessThanOrEqual(320);
    await thumbnail.click();
    const full = b.page.getByRole('img', { name: 'sunset.png 원본' });
    await full.waitFor();
    await expect.poll(() => full.evaluate(naturalWidth)).toBe(640);
    await shots.take(b.page, 'image full size');
    await b.page.getByRole('button', { name: '닫기' }).click();
    await expect.poll(() => full.count()).toBe(0);
    expect(a.log.errors).toEqual([]);
    expect(b.log.errors).toEqual([]);
  });

  it('joins a public group from the list; the owner deletes it and the member is told', async () => {
    const shots = new Screenshots('chat public group');
    const rooms = roomList(a.page);
    await rooms.getByRole('button', { name: '새 그룹' }).click();
    const form = a.page.getByRole('form', { name: '새 그룹' });
    await form.getByLabel('그룹 이름').fill('공개 독서 모임');
    await form.getByLabel(/공개 그룹/).check();
    await form.getByRole('button', { name: '만들기' }).click();
    await a.page.getByRole('region', { name: '채팅: 공개 독서 모임' }).waitFor();

    await showChats(b.page);
    await roomList(b.page).getByRole('button', { name: '공개 그룹 찾기' }).click();
    await b.page.getByRole('button', { name: '공개 독서 모임 참여' }).click();
    const herChat = b.page.getByRole('region', { name: '채팅: 공개 독서 모임' });
    await herChat.waitFor();
    await send(b.page, '참여했습니다');
    await messageWithText(a.page, '참여했습니다');
    await shots.take(b.page, 'joined a public group');

    await a.page.getByRole('button', { name: '방 설정' }).click();
    a.page.once('dialog', (dialog) => void dialog.accept());
    await a.page.getByRole('region', { name: '방 설정' }).getByRole('button', { name: '그룹 삭제' }).click();
    await expect.poll(() => roomList(a.page).getByRole('button', { name: /^공개 독서 모임/ }).count()).toBe(0);
    await b.page.getByText('이 방에 참여하고 있지 않거나 방이 삭제되었습니다.').waitFor();
    await expect.poll(() => roomList(b.page).getByRole('button', { name: /^공개 독서 모임/ }).count()).toBe(0);
    await shots.take(b.page, 'member sees the group deleted');
    expect(a.log.errors).toEqual([]);
    expect(b.log.errors).toEqual([]);
  });

  it('shows a refused send with its error and sends it on retry, once', async () => {
    const shots = new Screenshots('chat refused send');
    await openRoom(a.page, '이영희');
    await openRoom(b.page, '김철수');
    // A block stops new content in the direct room: her send is refused.
    expect((await people.a.api.POST('/api/blocks', { body: { user_id: people.b.id } })).response.status).toBe(201);
    await send(b.page, '차단 중에 보낸 메시지');
    const failed = b.page.getByRole('log', { name: '메시지' }).locator('[data-temp-id]').filter({ hasText: '차단 중에 보낸 메시지' });
    await failed.getByRole('alert').filter({ hasText: '전송 실패' }).waitFor();
    await shots.take(b.page, 'refused send');

    expect((await people.a.api.DELETE('/api/blocks/{user_id}', { params: { path: { user_id: people.b.id } } })).response.status).toBe(204);
    await failed.getByRole('button', { name: '다시 보내기' }).click();
    await messageWithText(a.page, '차단 중에 보낸 메시지');
    await expect.poll(() => failed.count()).toBe(0);
    expect(await messageLocator(a.page, '차단 중에 보낸 메시지').count()).toBe(1);
    expect(await messageLocator(b.page, '차단 중에 보낸 메시지').count()).toBe(1);
    await shots.take(b.page, 'sent on retry');
    expect(a.log.errors).toEqual([]);
    expect(b.log.errors).toEqual([]);
  });

  it('is usable at phone width: list, room, back', async () => {
    const shots = new Screenshots('chat phone');
    const phone = await openContext(browser, { viewport: PHONE });
    try {
      await loginThroughUi(phone.page, server.appUrl, people.a.user);
      await openRoom(phone.page, '이영희');
      await send(phone.page, '휴대폰에서 보냅니다');
      await messageWithText(b.page, '휴대폰에서 보냅니다');
      await shots.take(phone.page, 'room at phone width');
      const width = Number(await phone.page.evaluate('document.documentElement.scrollWidth'));
      expect(width).toBeLessThanOrEqual(PHONE.width);
      await phone.page.getByRole('button', { name: '뒤로' }).click();
      await roomList(phone.page).waitFor();
      expect(phone.log.errors).toEqual([]);
    } finally {
      await phone.context.close();
    }
  });

  it('refetches the room after a reset (its events expired while away): nothing missed or doubled', async () => {
    const shots = new Screenshots('chat reset');
    await openRoom(a.page, '이영희');
    await openRoom(b.page, '김철수');
    const roomId = await openRoomId(a.page);
    await send(a.page, '리셋 전 메시지');
    await messageWithText(b.page, '리셋 전 메시지');
    const resets: string[] = [];
    b.page.on('websocket', (socket) =>
      socket.on('framereceived', (frame) => {
        if (typeof frame.payload === 'string' && frame.payload.includes('"type":"reset"')) resets.push(frame.payload);
      }),
    );

    await server.stop();
    await b.page.getByRole('status').filter({ hasText: '연결이 끊겼습니다' }).waitFor({ timeout: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, (EVENT_TTL_S + 1) * 1000));
    await server.start();
    // Sent at once, before her socket is back: the room's history no longer covers where she
    // was, so only the refetch after `reset` can show it.
    const { response } = await people.a.api.POST('/api/messages/{room_id}', { params: { path: { room_id: roomId } }, body: { content: '리셋 중 메시지' } });
    expect(response.status).toBe(201);
    await messageWithText(b.page, '리셋 중 메시지');
    await shots.take(b.page, 'after reset');
    expect(resets.length).toBeGreaterThan(0);
    await send(b.page, '리셋 후 메시지');
    await messageWithText(a.page, '리셋 후 메시지');
    for (const page of [a.page, b.page]) {
      const seqs = await seqsIn(page.getByRole('log', { name: '메시지' }));
      expect(new Set(seqs).size).toBe(seqs.length);
      for (const text of ['리셋 전 메시지', '리셋 중 메시지', '리셋 후 메시지']) expect(await messageLocator(page, text).count()).toBe(1);
    }
  });

  // Last: it restarts the server under every other test's pages.
  it('survives a server restart mid-chat: the message sent while down arrives once, nothing missed', async () => {
    const shots = new Screenshots('chat restart');
    await openRoom(a.page, '이영희');
    await openRoom(b.page, '김철수');
    await send(a.page, '재시작 전 메시지');
    await messageWithText(b.page, '재시작 전 메시지');

    // Her socket comes back to a room whose events expired (down longer than EVENT_TTL_S): `reset`,
    // and the history is read again. A message that arrives live while that read is on its way is
    // newer than the page: the page must not take it off the screen. Her first read after the
    // restart is answered only once such a message has reached her socket.
    const roomId = await openRoomId(a.page);
    const duringRead = '읽는 동안 온 메시지';
    let restarted = false;
    let heldRead = false;
    const arrivedLive = new Promise<void>((resolve) =>
      b.page.on('websocket', (socket) =>
        socket.on('framereceived', (frame) => {
          if (typeof frame.payload === 'string' && frame.payload.includes('"type":"message"') && frame.payload.includes(duringRead)) resolve();
        }),
      ),
    );
    const firstPage = (url: URL) => url.pathname === `/api/messages/${roomId}` && !url.searchParams.has('before');
    await b.page.route(firstPage, async (route) => {
      if (heldRead || !restarted || route.request().method() !== 'GET') return route.continue();
      heldRead = true;
      const response = await route.fetch();
      const post = () => people.a.api.POST('/api/messages/{room_id}', { params: { path: { room_id: roomId } }, body: { content: duringRead } });
      // Once more if it went out on a kept-alive connection to the stopped process (no answer: not stored).
      const posted = await post().catch(post);
      expect(posted.response.status).toBe(201);
      await Promise.race([arrivedLive, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      await route.fulfill({ response });
    });
    const restarting = server.restart();
    await b.page.getByRole('status').filter({ hasText: '연결이 끊겼습니다' }).waitFor({ timeout: 60_000 });
    await send(b.page, '끊긴 동안 보낸 메시지');
    await shots.take(b.page, 'sent while the server is down');
    await restarting;
    restarted = true;

    await messageWithText(a.page, '끊긴 동안 보낸 메시지');
    await send(a.page, '재시작 후 메시지');
    await messageWithText(b.page, '재시작 후 메시지');
    await shots.take(b.page, 'after the restart');
    for (const page of [a.page, b.page]) {
      const log = page.getByRole('log', { name: '메시지' });
      // Settled: no send unacknowledged and no history read (the refetch after `reset`) on its way.
      await expect.poll(() => log.locator('[data-temp-id]').count()).toBe(0);
      await expect.poll(() => log.getAttribute('aria-busy'), { timeout: 15_000 }).toBe('false');
      const seqs = await seqsIn(log);
      expect(new Set(seqs).size).toBe(seqs.length);
      for (const text of ['재시작 전 메시지', '끊긴 동안 보낸 메시지', '재시작 후 메시지', ...(heldRead ? [duringRead] : [])]) {
        expect(await messageLocator(page, text).count(), text).toBe(1);
      }
    }
    await b.page.unroute(firstPage);
  });
});

interface Person {
  user: E2EUser;
  id: number;
  api: ApiClient;
}

interface Session {
  page: Page;
  log: PageLog;
}

async function signUp(server: E2EServer, user: E2EUser): Promise<Person> {
  const api = createApiClient({ baseUrl: server.baseUrl });
  const { data, error } = await api.POST('/api/auth/register', {
    body: { username: user.username, email: user.email, password: user.password, display_name: user.displayName },
  });
  if (!data) throw new Error(`register failed: ${JSON.stringify(error)}`);
  const { data: login } = await api.POST('/api/auth/login/json', { body: { email: user.email, password: user.password } });
  if (!login) throw new Error('login failed');
  api.setToken(login.access_token);
  return { user, id: login.user.id, api };
}

async function befriend(from: Person, to: Person): Promise<void> {
  const sent = await from.api.POST('/api/friends/request', { body: { user_id: to.id } });
  expect(sent.response.status).toBe(201);
  const accepted = await to.api.PUT('/api/friends/status/{requester_user_id}', { params: { path: { requester_user_id: from.id } }, body: { action: 'accept' } });
  expect(accepted.response.status).toBe(200);
}

async function signIn(browser: Browser, server: E2EServer, person: Person, options: { colorScheme?: 'light' | 'dark' } = {}): Promise<Session> {
  const { page, log } = await openContext(browser, options);
  await loginThroughUi(page, server.appUrl, person.user);
  return { page, log };
}

function roomList(page: Page): Locator {
  return page.getByRole('navigation', { name: '채팅방 목록' });
}

/** The 채팅 tab (a fresh room list). */
async function showChats(page: Page): Promise<void> {
  const tab = page.getByRole('tab', { name: '채팅' });
  if ((await tab.getAttribute('aria-selected')) === 'true') {
    await page.getByRole('tab', { name: '친구' }).click();
  }
  await tab.click();
}

async function openRoom(page: Page, name: string): Promise<void> {
  await showChats(page);
  await roomList(page).getByRole('button', { name: new RegExp(`^${name}`) }).click();
  await page.getByRole('region', { name: `채팅: ${name}` }).waitFor();
}

async function openRoomId(page: Page): Promise<number> {
  const current = roomList(page).locator('[aria-current="true"]');
  await current.waitFor();
  const roomId = Number(await current.getAttribute('data-room-id'));
  if (!(roomId > 0)) throw new Error('no open room id');
  return roomId;
}

async function send(page: Page, text: string): Promise<void> {
  const input = page.getByRole('textbox', { name: '메시지 입력' });
  await input.fill(text);
  await input.press('Enter');
}

/** Messages whose own text is `text` (a reply that quotes it is not one of them). */
function messageLocator(page: Page, text: string): Locator {
  return page
    .getByRole('log', { name: '메시지' })
    .locator('[data-message-id]')
    .filter({ has: page.getByText(text, { exact: true }) });
}

/** A stored message (not an optimistic one) by its text, as a locator pinned to its id. */
async function messageWithText(page: Page, text: string): Promise<Locator> {
  const found = messageLocator(page, text).last();
  await found.waitFor();
  const id = await found.getAttribute('data-message-id');
  return page.getByRole('log', { name: '메시지' }).locator(`[data-message-id="${id}"]`);
}

/** An <img>'s decoded width (0 until it loaded). */
function naturalWidth(element: unknown): number {
  return Number((element as { naturalWidth?: number }).naturalWidth);
}

async function seqsIn(log: Locator): Promise<number[]> {
  return log.locator('[data-seq]').evaluateAll((elements) => elements.map((element) => Number(element.getAttribute('data-seq'))));
}
