/**
 * One LDAP connection over Bun's TCP/TLS sockets: ldap:// (optionally upgraded with StartTLS)
 * or ldaps://, with the CA the operator gives (else the system's). Requests are sent one at
 * a time by the caller; every step (connect, handshake, each response) has a time limit, and
 * anything that goes wrong on the wire (refused, closed, timed out, a certificate not
 * trusted, a malformed answer) is an `LdapUnavailable`: the directory cannot answer now.
 */
import type { Socket, SocketHandler } from "bun";
import { BerError, readElement } from "./ber.ts";
import {
  bindRequest,
  type LdapMessage,
  type LdapResult,
  message,
  OP,
  readEntry,
  readMessage,
  readResult,
  RESULT,
  type SearchEntry,
  type SearchParameters,
  searchRequest,
  startTlsRequest,
  unbindRequest,
} from "./protocol.ts";

/** The directory could not be reached or did not answer as LDAP does. */
export class LdapUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LdapUnavailable";
  }
}

export interface ConnectOptions {
  /** ldap://host[:389] or ldaps://host[:636] */
  url: URL;
  startTls: boolean;
  /** PEM text of the CA to trust; the system's CAs when undefined */
  ca: string | undefined;
  timeoutMs: number;
}

/** Larger answers than this are refused (Berth asks for a few attributes of a few entries). */
const MAX_INBOX_BYTES = 4 * 1024 * 1024;

type Waiter = (message: LdapMessage) => boolean;

export class LdapConnection {
  private socket: Socket<undefined> | null = null;
  private inbox = new Uint8Array(0);
  private nextId = 1;
  private waiter: { id: number; onMessage: Waiter; reject: (error: Error) => void } | null = null;
  private failure: LdapUnavailable | null = null;
  private handshake: { resolve: () => void; reject: (error: Error) => void } | null = null;
  /** after StartTLS the plain socket still sees the encrypted bytes: only the TLS one is read */
  private upgraded = false;

  private constructor(private readonly options: ConnectOptions) {}

  /** @throws LdapUnavailable */
  static async open(options: ConnectOptions): Promise<LdapConnection> {
    const connection = new LdapConnection(options);
    await connection.connect();
    return connection;
  }

  /** A simple bind; the result says whether the credentials were accepted. */
  async bind(dn: string, password: string): Promise<LdapResult> {
    let result: LdapResult | null = null;
    await this.request(bindRequest(dn, password), (reply) => {
      if (reply.op.tag !== OP.bindResponse) throw new BerError("Expected a BindResponse");
      result = readResult(reply.op);
      return true;
    });
    return result ?? { code: -1, diagnostic: "no answer" };
  }

  /** Entries found (at most sizeLimit); a failed search other than sizeLimitExceeded is LdapUnavailable. */
  async search(parameters: SearchParameters): Promise<SearchEntry[]> {
    const entries: SearchEntry[] = [];
    await this.request(searchRequest(parameters), (reply) => {
      if (reply.op.tag === OP.searchResultEntry) entries.push(readEntry(reply.op));
      else if (reply.op.tag === OP.searchResultDone) {
        const result = readResult(reply.op);
        if (result.code !== RESULT.success && result.code !== RESULT.sizeLimitExceeded) {
          throw new LdapUnavailable(`search under "${parameters.base}" failed: result ${result.code} ${result.diagnostic}`.trim());
        }
        return true;
      } else if (reply.op.tag !== OP.searchResultReference) throw new BerError("Unexpected answer to a search");
      return false;
    });
    return entries;
  }

  /** Sends an unbind and closes; never throws. */
  close(): void {
    const socket = this.socket;
    this.socket = null;
    if (socket === null) return;
    try {
      socket.write(message(this.nextId++, unbindRequest()));
      socket.end();
    } catch {
      // closing anyway
    }
  }

  private async connect(): Promise<void> {
    const { url } = this.options;
    const secure = url.protocol === "ldaps:";
    const hostname = url.hostname.replace(/^\[|\]$/g, "");
    const port = url.port === "" ? (secure ? 636 : 389) : Number(url.port);
    const connecting = Bun.connect({ hostname, port, socket: this.handlers(), ...(secure ? { tls: this.tls(hostname) } : {}) });
    const handshake = secure ? this.waitForHandshake() : Promise.resolve();
    this.socket = await this.bounded(connecting, `connect to ${url.host}`).catch((error: unknown) => {
      connecting.then((late) => late.end(), () => {});
      throw error instanceof LdapUnavailable ? error : new LdapUnavailable(`cannot connect to ${url.host}: ${describe(error)}`);
    });
    await this.bounded(handshake, `TLS handshake with ${url.host}`);
    if (!secure && this.options.startTls) await this.startTls(hostname);
  }

  private async startTls(hostname: string): Promise<void> {
    await this.request(startTlsRequest(), (reply) => {
      if (reply.op.tag !== OP.extendedResponse) throw new BerError("Expected an ExtendedResponse to StartTLS");
      const result = readResult(reply.op);
      if (result.code !== RESULT.success) throw new LdapUnavailable(`StartTLS refused: result ${result.code} ${result.diagnostic}`.trim());
      return true;
    });
    const plain = this.socket;
    if (plain === null) throw new LdapUnavailable("connection closed");
    const handshake = this.waitForHandshake();
    this.upgraded = true;
    const [, secured] = plain.upgradeTLS({ tls: this.tls(hostname), socket: this.handlers(true) });
    this.socket = secured;
    await this.bounded(handshake, "StartTLS handshake");
  }

  private tls(hostname: string) {
    return { serverName: hostname, rejectUnauthorized: true, ...(this.options.ca === undefined ? {} : { ca: this.options.ca }) };
  }

  private handlers(secured = false): SocketHandler<undefined> {
    const current = () => secured || !this.upgraded;
    return {
      data: (_socket, chunk) => {
        if (current()) this.receive(chunk);
      },
      handshake: (_socket, success, authorizationError) => {
        const waiting = this.handshake;
        this.handshake = null;
        if (success && authorizationError === null) waiting?.resolve();
        else {
          const reason = authorizationError?.message ?? "handshake failed";
          const hint = /self.signed|issuer|unable to get/i.test(reason) ? " (is [auth.ldap] ca_file the CA of the directory's certificate?)" : "";
          this.fail(`TLS: ${reason}${hint}`);
        }
        if (!success || authorizationError !== null) waiting?.reject(this.failure ?? new LdapUnavailable("TLS handshake failed"));
      },
      close: () => this.fail("the directory closed the connection"),
      error: (_socket, error) => {
        if (current()) this.fail(describe(error));
      },
    };
  }

  private waitForHandshake(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.handshake = { resolve, reject };
    });
  }

  /** Sends one request and feeds each answer with its id to `onMessage` until it returns true. */
  private request(op: Uint8Array, onMessage: Waiter): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const socket = this.socket;
    if (socket === null) return Promise.reject(new LdapUnavailable("connection closed"));
    const id = this.nextId++;
    const answered = new Promise<void>((resolve, reject) => {
      this.waiter = {
        id,
        reject,
        onMessage: (reply) => {
          const done = onMessage(reply);
          if (done) resolve();
          return done;
        },
      };
    });
    const bytes = message(id, op);
    // a partial write would desynchronise the stream: Berth's requests are small, so refuse it
    if (socket.write(bytes) !== bytes.length) this.fail("could not send a request");
    return this.bounded(answered, "an answer");
  }

  private receive(chunk: Uint8Array): void {
    const merged = new Uint8Array(this.inbox.length + chunk.length);
    merged.set(this.inbox);
    merged.set(chunk, this.inbox.length);
    this.inbox = merged;
    if (this.inbox.length > MAX_INBOX_BYTES) return this.fail("answer too large");
    try {
      for (let next = readElement(this.inbox); next !== null; next = readElement(this.inbox)) {
        this.inbox = this.inbox.slice(next.end);
        this.dispatch(readMessage(next.element));
      }
    } catch (error) {
      this.fail(error instanceof LdapUnavailable ? error.message : `malformed answer: ${describe(error)}`);
    }
  }

  private dispatch(reply: LdapMessage): void {
    // id 0 is an unsolicited notification (RFC 4511 4.4.1: notice of disconnection)
    if (reply.id === 0) return this.fail("the directory ended the session");
    const waiter = this.waiter;
    if (waiter === null || waiter.id !== reply.id) return;
    if (waiter.onMessage(reply)) this.waiter = null;
  }

  private fail(reason: string): void {
    if (this.failure === null) this.failure = new LdapUnavailable(reason);
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(this.failure);
    const socket = this.socket;
    this.socket = null;
    socket?.end();
  }

  /** `promise`, or LdapUnavailable after the time limit (the connection is then closed). */
  private bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    const { timeoutMs } = this.options;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.fail(`no ${what} within ${timeoutMs} ms`);
        reject(this.failure);
      }, timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return (error as NodeJS.ErrnoException).code ?? error.message;
  return String(error);
}
