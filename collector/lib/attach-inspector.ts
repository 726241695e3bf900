// Talking to a running node process through its inspector, for `memview attach`/`detach`: open the
// inspector from outside (SIGUSR1 via process._debugProcess), find its WebSocket on
// 127.0.0.1:<port>/json/list, and evaluate code in the target over the Chrome DevTools Protocol.
// node 20 has no WebSocket client, so the few parts of RFC 6455 a CDP session needs are here:
// the HTTP upgrade, masked text frames out, unmasked (possibly fragmented) frames in, ping/pong, close.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';

/** A failure to explain to the user in one line. */
export class AttachError extends Error {}

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** Checks the process exists, is ours and is node before anything is sent to it. */
export function checkTarget(pid: number): void {
  try {
    process.kill(pid, 0);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') throw new AttachError(`no process ${pid}`);
    if (code === 'EPERM') throw new AttachError(`process ${pid} belongs to another user; memview can only attach to your own processes`);
    throw error;
  }
  let ownerUid: number | undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    ownerUid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
  } catch {
    throw new AttachError(`no process ${pid}`);
  }
  if (process.getuid && ownerUid !== process.getuid()) {
    throw new AttachError(`process ${pid} belongs to another user (uid ${ownerUid}); memview can only attach to your own processes`);
  }
  // SIGUSR1 terminates a process that does not handle it: make sure the target is node.
  let executable = '';
  try {
    executable = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    // Unreadable exe link (hardened /proc): fall back to the command name.
  }
  const command = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  if (!/node/.test(executable.split('/').pop() ?? '') && !/node/.test(command)) {
    throw new AttachError(`process ${pid} (${executable || command}) is not node; memview attaches to node processes only`);
  }
}

interface InspectorTarget { webSocketDebuggerUrl?: string; type?: string }

/** GET /json/list on the inspector port; undefined when nothing answers. */
export function listInspectorTargets(port: number, timeoutMs = 500): Promise<InspectorTarget[] | undefined> {
  return new Promise((done) => {
    const request = get({ host: '127.0.0.1', port, path: '/json/list', timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (part) => { body += part; });
      response.on('end', () => {
        try {
          done(JSON.parse(body) as InspectorTarget[]);
        } catch {
          done(undefined);
        }
      });
    });
    request.on('timeout', () => { request.destroy(); done(undefined); });
    request.on('error', () => done(undefined));
  });
}

/**
 * Opens a session with process `pid`'s inspector: uses it if already open on `port` (and it is
 * that process), otherwise opens it with SIGUSR1 and waits up to `timeoutMs`.
 */
export async function openInspector(pid: number, port: number, timeoutMs: number): Promise<{ session: InspectorSession; openedByUs: boolean }> {
  let openedByUs = false;
  let targets = await listInspectorTargets(port);
  let session = targets ? await sessionFor(targets, pid) : undefined;
  if (targets && !session) {
    throw new AttachError(`another process's inspector listens on 127.0.0.1:${port}; process ${pid} cannot open its own there (use --port if it listens elsewhere)`);
  }
  if (!session) {
    try {
      (process as unknown as { _debugProcess(pid: number): void })._debugProcess(pid);
    } catch (error) {
      throw new AttachError(`cannot signal process ${pid} to open its inspector: ${(error as Error).message}`);
    }
    openedByUs = true;
    const deadline = Date.now() + timeoutMs;
    while (!session && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      targets = await listInspectorTargets(port);
      if (targets) session = await sessionFor(targets, pid);
    }
    if (!session) {
      // SIGUSR1 opens the inspector on the process's own port (9229, or its --inspect-port), not
      // on the one asked for: if it opened elsewhere, memview opened it, so memview closes it
      // again rather than leave code execution open to every local user.
      const openedOn = await closeInspectorOpenedElsewhere(pid, port);
      if (openedOn !== undefined) {
        throw new AttachError(`process ${pid} opened its inspector on 127.0.0.1:${openedOn}, not ${port}; memview closed it again (attach with --port ${openedOn})`);
      }
      throw new AttachError(`process ${pid} did not open its inspector on 127.0.0.1:${port} within ${(timeoutMs / 1000).toFixed(1)} s ` +
        '(started with --disable-sigusr1, or another inspector port?)');
    }
  }
  return { session, openedByUs };
}

/** The inspector of process `pid` on one of its other listening ports, closed; its port, if any. */
async function closeInspectorOpenedElsewhere(pid: number, triedPort: number): Promise<number | undefined> {
  for (const port of listeningPortsOf(pid)) {
    if (port === triedPort) continue;
    const targets = await listInspectorTargets(port);
    const session = targets ? await sessionFor(targets, pid).catch(() => undefined) : undefined;
    if (!session) continue;
    await session.evaluate(closeInspectorExpression).catch(() => undefined);
    session.close();
    return port;
  }
  return undefined;
}

/**
 * The TCP ports process `pid` listens on (Linux: its socket descriptors in /proc/PID/fd matched by
 * inode against /proc/net/tcp and tcp6); empty where /proc cannot tell.
 */
export function listeningPortsOf(pid: number): number[] {
  const socketInodes = new Set<string>();
  try {
    for (const descriptor of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${descriptor}`));
        if (socket) socketInodes.add(socket[1]);
      } catch {
        // Closed while being listed.
      }
    }
  } catch {
    return [];
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      const listening = fields[3] === '0A';
      if (listening && socketInodes.has(fields[9])) ports.push(parseInt(fields[1].split(':')[1], 16));
    }
  }
  return ports;
}

async function sessionFor(targets: InspectorTarget[], pid: number): Promise<InspectorSession | undefined> {
  const url = targets.find((target) => target.type === 'node' && target.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
  if (!url) return undefined;
  const session = await InspectorSession.connect(url);
  const targetPid = await session.evaluate('process.pid');
  if (targetPid === pid) return session;
  session.close();
  return undefined;
}

interface Pending { resolve(value: unknown): void; reject(error: Error): void }

/** A CDP session over one WebSocket connection. */
export class InspectorSession {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffered: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (data) => this.receive(data));
    socket.on('close', () => this.fail(new AttachError('the target closed the inspector connection')));
    socket.on('error', (error) => this.fail(new AttachError(`inspector connection: ${error.message}`)));
  }

  static connect(url: string, timeoutMs = 5000): Promise<InspectorSession> {
    const parsed = new URL(url);
    const key = randomBytes(16).toString('base64');
    const expectedAccept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
    return new Promise((resolve, reject) => {
      const socket = connect({ host: parsed.hostname, port: Number(parsed.port) });
      const timer = setTimeout(() => { socket.destroy(); reject(new AttachError(`no answer from the inspector at ${url}`)); }, timeoutMs);
      let response = Buffer.alloc(0);
      const onData = (data: Buffer) => {
        response = Buffer.concat([response, data]);
        const end = response.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        clearTimeout(timer);
        const head = response.subarray(0, end).toString('latin1');
        const accept = /^sec-websocket-accept:\s*(\S+)/im.exec(head)?.[1];
        if (!/^HTTP\/1\.1 101/.test(head) || accept !== expectedAccept) {
          socket.destroy();
          reject(new AttachError(`the inspector refused the WebSocket upgrade: ${head.split('\r\n')[0]}`));
          return;
        }
        const session = new InspectorSession(socket);
        const rest = response.subarray(end + 4);
        if (rest.length > 0) session.receive(rest);
        resolve(session);
      };
      socket.on('data', onData);
      socket.once('error', (error) => { clearTimeout(timer); reject(new AttachError(`cannot connect to the inspector at ${url}: ${error.message}`)); });
      socket.once('connect', () => {
        socket.write([
          `GET ${parsed.pathname} HTTP/1.1`, `Host: ${parsed.host}`, 'Upgrade: websocket', 'Connection: Upgrade',
          `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13', '', '',
        ].join('\r\n'));
      });
    });
  }

  /** Sends a CDP command and waits for its result. */
  send(method: string, params: object = {}, timeoutMs = 30_000): Promise<any> {
    if (this.closed) return Promise.reject(new AttachError('the inspector connection is closed'));
    const id = this.nextId++;
    this.sendFrame(Opcode.text, Buffer.from(JSON.stringify({ id, method, params })));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new AttachError(`the target did not answer ${method} within ${timeoutMs / 1000} s`)); }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => { clearTimeout(timer); resolve(value); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      });
    });
  }

  /**
   * Evaluates `expression` in the target's main context (awaiting a promise it returns) and gives
   * back its value; an exception in the target becomes an AttachError with its message.
   */
  async evaluate(expression: string, timeoutMs?: number): Promise<unknown> {
    const reply = await this.send('Runtime.evaluate', {
      expression, awaitPromise: true, includeCommandLineAPI: true, returnByValue: true,
    }, timeoutMs);
    if (reply.exceptionDetails) {
      const description = reply.exceptionDetails.exception?.description ?? reply.exceptionDetails.text ?? 'exception';
      throw new AttachError(String(description).split('\n')[0].replace(/^Error: /, ''));
    }
    return reply.result?.value;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.sendFrame(Opcode.close, Buffer.from([0x03, 0xe8]), true); // 1000: normal closure
    } catch {
      // The socket is already gone.
    }
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 200).unref();
  }

  private fail(error: Error): void {
    this.closed = true;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  /** Client frames are always masked (RFC 6455 §5.3). */
  private sendFrame(opcode: number, payload: Buffer, force = false): void {
    if (this.closed && !force) throw new AttachError('the inspector connection is closed');
    const length = payload.length;
    const header: number[] = [0x80 | opcode];
    if (length < 126) header.push(0x80 | length);
    else if (length < 0x10000) header.push(0x80 | 126, length >> 8, length & 0xff);
    else {
      header.push(0x80 | 127, 0, 0, 0, 0);
      header.push((length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
    }
    const mask = randomBytes(4);
    const masked = Buffer.alloc(length);
    for (let i = 0; i < length; i++) masked[i] = payload[i] ^ mask[i & 3];
    this.socket.write(Buffer.concat([Buffer.from(header), mask, masked]));
  }

  private receive(data: Buffer): void {
    this.buffered = this.buffered.length === 0 ? data : Buffer.concat([this.buffered, data]);
    for (;;) {
      const frame = parseFrame(this.buffered);
      if (!frame) return;
      this.buffered = this.buffered.subarray(frame.frameLength);
      if (frame.opcode === Opcode.ping) { this.sendFrame(Opcode.pong, frame.payload); continue; }
      if (frame.opcode === Opcode.pong) continue;
      if (frame.opcode === Opcode.close) { this.close(); continue; }
      this.fragments.push(frame.payload);
      if (!frame.final) continue;
      const message = Buffer.concat(this.fragments).toString('utf8');
      this.fragments = [];
      this.dispatch(message);
    }
  }

  private dispatch(message: string): void {
    let parsed: { id?: number; result?: unknown; error?: { message: string } };
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (parsed.id === undefined) return; // an event: none are subscribed to
    const pending = this.pending.get(parsed.id);
    if (!pending) return;
    this.pending.delete(parsed.id);
    if (parsed.error) pending.reject(new AttachError(`inspector: ${parsed.error.message}`));
    else pending.resolve(parsed.result);
  }
}

/** One complete frame at the start of `buffer`, or undefined if more bytes are needed. */
function parseFrame(buffer: Buffer): { final: boolean; opcode: number; payload: Buffer; frameLength: number } | undefined {
  if (buffer.length < 2) return undefined;
  const final = (buffer[0] & 0x80) !== 0;
  const opcode = buffer[0] & 0x0f;
  const masked = (buffer[1] & 0x80) !== 0;
  let length = buffer[1] & 0x7f;
  let at = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    at = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    at = 10;
  }
  const maskAt = at;
  if (masked) at += 4;
  if (buffer.length < at + length) return undefined;
  let payload: Buffer = buffer.subarray(at, at + length);
  if (masked) {
    const unmasked = Buffer.alloc(length);
    for (let i = 0; i < length; i++) unmasked[i] = payload[i] ^ buffer[maskAt + (i & 3)];
    payload = unmasked;
  }
  return { final, opcode, payload, frameLength: at + length };
}

/** What the target runs to start tracing: loads the Tracker module from this installation. */
export function startTrackerExpression(options: { trackerPath: string; trackerUrl: string; output: string; native: boolean; force: boolean; openedInspector: boolean }): string {
  const json = JSON.stringify;
  return `(async () => {
  const existing = globalThis.__memviewTracker;
  if (existing) throw new Error('memview is already attached to this process (writing ' + existing.output + '); detach first');
  let trackerModule;
  try {
    trackerModule = await import(${json(options.trackerUrl)});
  } catch (importError) {
    // Some contexts have no dynamic import; node >= 20.19 can require() an ES module.
    const load = typeof require === 'function' ? require : process.mainModule && process.mainModule.require.bind(process.mainModule);
    if (!load) throw importError;
    trackerModule = load(${json(options.trackerPath)});
  }
  const tracker = new trackerModule.Tracker({ output: ${json(options.output)}, native: ${options.native}, force: ${options.force} });
  await tracker.start();
  // A program that exits while attached stops tracing once 'exit' has been emitted, after its own
  // listeners (added before or after the attach) and before node's teardown frees everything, as
  // register.cjs does under memview run (stop() runs synchronously). process.emit is wrapped once
  // per process; it stops whichever tracker is attached then.
  if (!globalThis.__memviewEmitWrapped) {
    globalThis.__memviewEmitWrapped = true;
    const emitEvent = process.emit;
    process.emit = function emit(event) {
      if (event !== 'exit') return Reflect.apply(emitEvent, this, arguments);
      try {
        return Reflect.apply(emitEvent, this, arguments);
      } finally {
        const attached = globalThis.__memviewTracker;
        if (attached) { delete globalThis.__memviewTracker; attached.stop(); }
      }
    };
  }
  globalThis.__memviewTracker = tracker;
  globalThis.__memviewOpenedInspector = ${options.openedInspector} || globalThis.__memviewOpenedInspector === true;
  return tracker.output;
})()`;
}

/** Stops the target's Tracker; says whether one was running, where it wrote, and whether memview opened the inspector. */
export const stopTrackerExpression = `(async () => {
  const tracker = globalThis.__memviewTracker;
  const openedInspector = globalThis.__memviewOpenedInspector === true;
  if (!tracker) return { attached: false, openedInspector };
  delete globalThis.__memviewTracker;
  delete globalThis.__memviewOpenedInspector;
  await tracker.stop();
  return { attached: true, output: tracker.output, openedInspector };
})()`;

/**
 * Closes the target's inspector a moment after this evaluation returns: inspector.close() waits for
 * connected sessions to end, so the caller must close its own session right away.
 */
export const closeInspectorExpression = `(() => {
  const inspector = process.getBuiltinModule ? process.getBuiltinModule('node:inspector') : require('inspector');
  setTimeout(() => inspector.close(), 50);
  return true;
})()`;

/** Stops tracing in the target and, if memview opened it, closes its inspector; ends the session. */
export async function stopTracking(session: InspectorSession, openedJustNow = false): Promise<{ attached: boolean; output?: string }> {
  try {
    const outcome = await session.evaluate(stopTrackerExpression) as { attached: boolean; output?: string; openedInspector: boolean };
    if (outcome.openedInspector || openedJustNow) await session.evaluate(closeInspectorExpression);
    return outcome;
  } finally {
    session.close();
  }
}
