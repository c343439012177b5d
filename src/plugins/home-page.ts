import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

interface Link {
  href: string;
  text: string;
}

const APP_LINKS: readonly Link[] = [{ href: '/app/', text: 'Web client: sign up and chat in the browser (open a second window to chat with yourself)' }];
const DOCS_LINKS: readonly Link[] = [
  { href: '/docs', text: 'API documentation (Swagger UI)' },
  { href: '/openapi.json', text: 'OpenAPI document (also at /docs/json)' },
  { href: '/docs/asyncapi.json', text: 'AsyncAPI document of the WebSocket and event-stream protocols' },
];
const HEALTH_LINKS: readonly Link[] = [{ href: '/api/health', text: 'Health (MySQL, Redis, message store)' }];

/** Plain markup only: the app's CSP allows no inline script, and the page needs none. */
export function homePage(docsEnabled: boolean): string {
  const links = [...APP_LINKS, ...(docsEnabled ? DOCS_LINKS : []), ...HEALTH_LINKS];
  const items = links.map(({ href, text }) => `      <li><a href="${href}">${text}</a></li>`).join('\n');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>BigTech Chat</title>
  </head>
  <body>
    <h1>BigTech Chat</h1>
    <ul>
${items}
    </ul>
  </body>
</html>
`;
}

/**
 * `GET /`: a small page linking the web client, the API documents and the health check (the
 * contract's Operations section). The document links appear only when `DOCS_ENABLED` serves them.
 */
async function homePagePlugin(app: FastifyInstance): Promise<void> {
  const page = homePage(app.config.DOCS_ENABLED);
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(page));
}

export default fp(homePagePlugin, { name: 'home-page', dependencies: ['config'] });
