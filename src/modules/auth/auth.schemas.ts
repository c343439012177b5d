import { z } from 'zod';
import { userSchema } from '../users/user.schemas.ts';

export const registerBody = z.object({
  email: z.email().max(255).transform((email) => email.toLowerCase()),
  username: z
    .string()
    .min(3)
    .max(50)
    .regex(/^[A-Za-z0-9_]+$/, 'may contain only letters, digits and underscores'),
  password: z.string().min(8).max(128),
  display_name: z.string().trim().min(1).max(100).optional(),
});

export const jsonLoginBody = z.object({
  email: z.string().trim().min(1).max(255).describe('Email (a username works too)'),
  password: z.string().min(1).max(128),
});

/** OAuth2 password flow form, as Swagger UI's "Authorize" sends it. */
export const formLoginBody = z.object({
  username: z.string().trim().min(1).max(255).describe('Username or email'),
  password: z.string().min(1).max(128),
  grant_type: z.string().optional(),
  scope: z.string().optional(),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
});

export const tokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number().int().describe('Lifetime of the token in seconds'),
  user: userSchema,
});

export type RegisterBody = z.infer<typeof registerBody>;
export type TokenResponse = z.infer<typeof tokenResponse>;
