import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import type { ZodType } from 'zod';
import { compileSerializer } from '../../src/lib/response-serializer.ts';
import { friendListResponse } from '../../src/modules/friends/friends.schemas.ts';
import { historyResponse } from '../../src/modules/messages/message.schemas.ts';
import { userEnvelope } from '../../src/modules/users/user.schemas.ts';

const viaZod = (schema: ZodType, data: unknown) => zodSerializerCompiler({ schema, method: 'GET', url: '/x', httpStatus: '200' })(data);

const friend = {
  user_id: 7,
  username: 'ada',
  display_name: '친구 🎉 "quoted" \\ back',
  email: 'ada@example.com',
  profile_image_url: null,
  is_online: false,
  last_seen_at: '2026-01-23T09:30:00.000Z',
  last_seen_display: '10분 전',
};

describe('compiled response serializers (fast-json-stringify from the zod schemas)', () => {
  it('compiles the hot responses and writes what zod writes, unknown fields left out', () => {
    const stringify = compileSerializer(friendListResponse);
    expect(stringify).not.toBeNull();
    const data = [friend, { ...friend, user_id: 8, display_name: null, last_seen_at: null, last_seen_display: null, password_hash: 'never' }];
    expect(stringify!(data)).toBe(viaZod(friendListResponse, data));
    expect(stringify!(data)).not.toContain('password_hash');
    expect(compileSerializer(historyResponse)).not.toBeNull();
    expect(compileSerializer(userEnvelope)).not.toBeNull();
  });

  it('refuses a response missing a required field, as zod does', () => {
    const { email: _missing, ...withoutEmail } = friend;
    expect(() => compileSerializer(friendListResponse)!([withoutEmail])).toThrow();
  });
});
