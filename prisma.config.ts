import { defineConfig } from 'prisma/config';

// The datasource URL is only needed by Prisma CLI commands that connect (migrate deploy,
// db pull); `prisma generate` works without it.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/bigtech_chat' },
});
