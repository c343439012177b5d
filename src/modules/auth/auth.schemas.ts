import { z } from 'zod';
import { userExample, userSchema } from '../users/user.schemas.ts';
import { passwordProblem } from './password-policy.ts';

/** Checked with the account's own username and email (registerBody); any password change must use passwordProblem too. */
export const newPassword = z
  .string()
  .describe('8-72 bytes of UTF-8 (bcrypt reads no more); not a common password; not the username or email');

/** The documented account: register it, then log in with it (Swagger UI's examples). */
const EXAMPLE_ACCOUNT = { email: 'ada@example.com', username: 'ada_lovelace', password: 'analytical-engine-1843' };

export const registerBody = z
  .object({
    // An overwrite, not a transform: zod leaves a transformed schema's examples out of the document.
    email: z.email().max(255).toLowerCase(),
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
  })
  .meta({ id: 'Register', examples: [{ ...EXAMPLE_ACCOUNT, display_name: 'Ada Lovelace' }] });

/** Longer than any password that can be set; one over 72 bytes never matches (see AuthService.login). */
const loginPassword = z.string().min(1).max(128);

export const jsonLoginBody = z.object({
  email: z.string().trim().min(1).max(255).describe('Email (a username works too)'),
  password: loginPassword,
}).meta({ id: 'Login', examples: [{ email: EXAMPLE_ACCOUNT.email, password: EXAMPLE_ACCOUNT.password }] });

/**
 * OAuth2 password flow form, as Swagger UI's "Authorize" sends it. Swagger UI fills a form's
 * fields from each property's own example, not from the object's.
 */
export const formLoginBody = z.object({
  username: z.string().trim().min(1).max(255).describe('Username or email').meta({ examples: [EXAMPLE_ACCOUNT.username] }),
  password: loginPassword.meta({ examples: [EXAMPLE_ACCOUNT.password] }),
  grant_type: z.string().optional().meta({ examples: ['password'] }),
  scope: z.string().optional(),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
}).meta({ id: 'LoginForm', examples: [{ username: EXAMPLE_ACCOUNT.username, password: EXAMPLE_ACCOUNT.password }] });

export const tokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number().int().describe('Lifetime of the token in seconds'),
  user: userSchema,
}).meta({
  id: 'TokenResponse',
  examples: [{ access_token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl', token_type: 'bearer', expires_in: 3600, user: userExample }],
});

export type RegisterBody = z.infer<typeof registerBody>;
export type TokenResponse = z.infer<typeof tokenResponse>;
