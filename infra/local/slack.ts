/**
 * A stand-in for Slack's Web API on 127.0.0.1, for the local runtime: `chat.postMessage` answers as Slack
 * does (`{ ok, ts }`) and keeps every message, so the notifications can be seen and asserted; and the
 * `response_url` of each slash command (`<responseUrl>/<id>`), which keeps what the chat function posts
 * there (a deferred command's outcome) and lets a caller wait for it.
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

/** A message posted to a slash command's `response_url`. */
export interface ResponseMessage {
  /** The `response_url` it was posted to. */
  readonly url: string;
  readonly response_type?: string;
  readonly text: string;
  readonly replace_original?: boolean;
}

export interface LocalSlack {
  /** Base URL of the API, e.g. `http://127.0.0.1:41234/api`. */
  readonly apiUrl: string;
  readonly messages: PostedMessage[];
  /** Base of the `response_url`s it receives (`<responseUrl>/<any id>`), e.g. `http://127.0.0.1:41234/commands`. */
  readonly responseUrl: string;
  /** Everything posted to a `response_url`, in order. */
  readonly responses: ResponseMessage[];
  /** The first message posted to `url`: at once if it has arrived, else when it arrives. */
  responseTo(url: string): Promise<ResponseMessage>;
  stop(): Promise<void>;
}

export async function startLocalSlack(): Promise<LocalSlack> {
  const messages: PostedMessage[] = [];
  const responses: ResponseMessage[] = [];
  const waiting = new Map<string, Array<(message: ResponseMessage) => void>>();
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
      if (req.method === 'POST' && /^\/commands\/[\w.-]+$/.test(req.url ?? '')) {
        // As Slack's response_url: JSON with at least `text`; anything else is a 400 (`invalid_payload`).
        try {
          const msg = JSON.parse(body) as { response_type?: string; text?: unknown; replace_original?: boolean };
          if (typeof msg.text !== 'string') throw new Error('no text');
          const response: ResponseMessage = { url: `http://127.0.0.1:${port}${req.url}`, response_type: msg.response_type, text: msg.text, replace_original: msg.replace_original };
          responses.push(response);
          for (const resolve of waiting.get(response.url)?.splice(0) ?? []) resolve(response);
          res.writeHead(200, { 'content-type': 'text/plain' });
          return res.end('ok');
        } catch {
          res.writeHead(400, { 'content-type': 'text/plain' });
          return res.end('invalid_payload');
        }
      }
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
    responseUrl: `http://127.0.0.1:${port}/commands`,
    responses,
    responseTo(url) {
      const arrived = responses.find((r) => r.url === url);
      if (arrived) return Promise.resolve(arrived);
      return new Promise((resolve) => waiting.set(url, [...(waiting.get(url) ?? []), resolve]));
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
