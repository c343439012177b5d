import { z } from 'zod';

export const checkResult = z.object({
  status: z.enum(['ok', 'error']),
  latency_ms: z.number(),
  kind: z.string().optional(),
  error: z.string().optional(),
}).meta({ id: 'HealthCheck' });

export const healthReport = z.object({
  status: z.enum(['ok', 'error']),
  checks: z.object({ mysql: checkResult, redis: checkResult, message_store: checkResult }),
  error: z.literal('service_unavailable').optional(),
  message: z.string().optional(),
}).meta({ id: 'HealthReport' });

export const liveReport = z.object({ status: z.literal('ok'), uptime_s: z.number() }).meta({ id: 'Liveness' });

export const redisReport = z.object({
  status: z.enum(['ok', 'error']),
  latency_ms: z.number(),
  version: z.string().nullable(),
  connected_clients: z.number().nullable(),
  used_memory: z.number().nullable(),
  error: z.literal('service_unavailable').optional(),
  message: z.string().optional(),
}).meta({ id: 'RedisReport' });

export const redisRoundTrip = z.object({
  status: z.literal('ok'),
  latency_ms: z.number(),
  key: z.string(),
  written: z.string(),
  read: z.string().nullable(),
  deleted: z.boolean(),
}).meta({ id: 'RedisRoundTrip' });

export type CheckResult = z.infer<typeof checkResult>;
export type HealthReport = z.infer<typeof healthReport>;
export type RedisReport = z.infer<typeof redisReport>;
