import { z } from 'zod';
import { userSchema } from '../users/user.schemas.ts';
import { passwordProblem } from './password-policy.ts';

/** Checked with the account's own username and email (registerBody); any password change must use passwordProblem too. */
export const newPassword = z
  .string()
  .describe('8-72 bytes of UTF-8 (bcrypt reads no more); not a common password; not the username or email');

export const registerBody = z
  .object({
    email: z.email().max(255).transform((email) => email.toLowerCase()),
    username: z
      .string()
      .min(3)
      .max(50)
      .regex(/^[A-Za-z0-9_]+$/, 'may contain only letters, digits and underscores'),
    password: newPassword,
    display_name: z.string().trim().min(1).max(100).optional(),
  })
  .superRefine((body, ctx) => {
    const problem = passwordProblem(body.password, { username: body.username, email: body.email });
    if (problem) ctx.addIssue({ code: 'custom', path: ['password'], message: `Password ${problem}` });
  });

/** Longer than any password that can be set; one over 72 bytes never matches (see AuthService.login). */
const loginPassword = z.string().min(1).max(128);

export const jsonLoginBody = z.object({
  email: z.string().trim().min(1).max(255).describe('Email (a username works too)'),
  password: loginPassword,
});

/** OAuth2 password flow form, as Swagger UI's "Authorize" sends it. */
export const formLoginBody = z.object({
  username: z.string().trim().min(1).max(255).describe('Username or email'),
  password: loginPassword,
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
