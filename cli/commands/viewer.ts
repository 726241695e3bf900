// `memview viewer`: serves the static viewer page on 127.0.0.1 only. The page opens raw captures
// from the user's disk and decodes them in the browser; the server never sees a capture.
import { createServer, type Server } from 'node:http';
import { parseOptions } from '../parse-options.js';
import { UsageError, UserFacingError } from '../usage-error.js';
import { contentSecurityPolicy, viewerTemplate } from './report.js';

export const summary = 'serve the static viewer (open raw captures in the browser) on 127.0.0.1';

const usage = 'memview viewer [--port P]';

/** Serves the viewer page on 127.0.0.1 (never another interface); port 0 picks a free one. */
export async function startViewerServer(port: number): Promise<{ server: Server; url: string }> {
  const page = await viewerTemplate();
  const policy = contentSecurityPolicy(page, { decoder: true });
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/' && path !== '/index.html') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': policy,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    });
    response.end(request.method === 'HEAD' ? undefined : page);
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new UserFacingError(`port ${port} is in use; choose another with --port`) : error));
    server.listen(port, '127.0.0.1', () => resolveListen());
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://127.0.0.1:${actualPort}/` };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, { port: { type: 'string', short: 'p' }, help: { type: 'boolean', short: 'h' } }, usage, { allowPositionals: false });
  if (values.help) {
    console.log([
      usage,
      '',
      'Serves the viewer page on http://127.0.0.1:P/ (default port 8765; 0 picks a free one). The page',
      'opens a raw capture from your disk and decodes it in the browser; nothing is uploaded.',
    ].join('\n'));
    return 0;
  }
  const port = values.port === undefined ? 8765 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port takes a port number, not '${values.port}'`, usage);
  const { server, url } = await startViewerServer(port);
  console.log(`memview viewer: ${url} (Ctrl+C to stop)`);
  await new Promise<void>((resolveClose) => {
    const stop = () => server.close(() => resolveClose());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
