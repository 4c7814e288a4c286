/**
 * A stand-in for Slack's Web API on 127.0.0.1, for the local runtime: `chat.postMessage` answers as Slack
 * does (`{ ok, ts }`) and keeps every message, so the notifications can be seen and asserted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PostedMessage {
  readonly channel: string;
  readonly text: string;
  /** The thread it was posted in (absent for a thread's first message). */
  readonly thread_ts?: string;
  /** Its own ts. */
  readonly ts: string;
  readonly token: string;
}

export interface LocalSlack {
  /** Base URL of the API, e.g. `http://127.0.0.1:41234/api`. */
  readonly apiUrl: string;
  readonly messages: PostedMessage[];
  stop(): Promise<void>;
}

export async function startLocalSlack(): Promise<LocalSlack> {
  const messages: PostedMessage[] = [];
  let seq = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
      if (body.length > 64 * 1024) req.destroy();
    });
    req.on('end', () => {
      const reply = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (req.method !== 'POST' || req.url !== '/api/chat.postMessage') return reply(404, { ok: false, error: 'unknown_method' });
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (!token) return reply(200, { ok: false, error: 'not_authed' });
      try {
        const msg = JSON.parse(body) as { channel?: string; text?: string; thread_ts?: string };
        if (!msg.channel || !msg.text) return reply(200, { ok: false, error: 'invalid_arguments' });
        const ts = `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}`;
        messages.push({ channel: msg.channel, text: msg.text, thread_ts: msg.thread_ts, ts, token });
        return reply(200, { ok: true, channel: msg.channel, ts });
      } catch {
        return reply(200, { ok: false, error: 'invalid_json' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}/api`,
    messages,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
