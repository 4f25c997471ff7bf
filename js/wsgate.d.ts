// Types of wsgate.js (@wsgate/client), written by hand to match it: keep
// the two in step. The guide is docs/browser-client.md.

/** What the client is doing; each change is a "state" event. */
export type State = "idle" | "connecting" | "open" | "waiting" | "reconnecting" | "closed";

/** The data of one WebSocket message: a string for text; for binary what
 * the WebSocket gives for its binaryType (a Blob in browsers by default, a
 * Buffer with ws). */
export type Data = string | ArrayBufferLike | ArrayBufferView | Blob;

/** What a replayed message is: the data, or a function returning it,
 * called each time it is sent. */
export type ReplayData = Data | (() => Data);

/** A room position as the server's Frame hook writes it; the client keeps
 * it as given and sends it back. The wsgate chat writes {e, o}. */
export type Position = unknown;

/** The detail of a "close" event. */
export interface CloseDetail {
  /** The close code (1006 when the connection failed or the handshake was
   * refused: browsers hide the HTTP status). */
  code: number;
  /** The close reason (empty when there was none). */
  reason: string;
  /** Whether the client will reconnect. */
  retry: boolean;
  /** Milliseconds until it does (0 when it won't). */
  delay: number;
}

/** The detail of a "drop" event: the oldest queued message, dropped
 * because the queue was full. */
export interface DropDetail {
  /** The message dropped, as it was given to send(). */
  data: Data;
}

/** The constructor of a WebSocket, such as the browser's or ws's. */
export interface WebSocketConstructor {
  new (url: string, protocols?: string | string[]): WebSocketLike;
}

/** The part of a WebSocket the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: any): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: any) => void): void;
}

/** The options of new Client; each is optional. */
export interface ClientOptions {
  /** Subprotocols offered in the handshake; default none. */
  protocols?: string[];
  /** The first backoff cap in ms (at least 1); default 250. */
  minDelay?: number;
  /** The largest backoff cap in ms; default 10000. Retry n waits a random
   * time in [0, min(maxDelay, minDelay·2ⁿ)). */
  maxDelay?: number;
  /** A connection open this long (ms) resets the backoff; default 5000. */
  stableAfter?: number;
  /** Messages kept by send() while not open (an integer, 0 to keep none);
   * default 100. When full the oldest is dropped, counted in dropped and
   * reported by a "drop" event. */
  maxQueue?: number;
  /** Which close codes to reconnect after; default all but 1000, 1002,
   * 1003, 1007, 1008 and 1009. */
  retryOn?: (code: number) => boolean;
  /** Resume mode: the room position a received message carries, or null.
   * A message it throws on carries none. Default: no resume mode. */
  positionOf?: ((data: Data) => { room: string; pos: Position } | null | undefined) | null;
  /** The WebSocket class; default globalThis.WebSocket. Node before 22 has
   * none: pass ws's. */
  WebSocket?: WebSocketConstructor;
  /** Set on each socket when given ("blob" or "arraybuffer" in browsers;
   * ws also has "nodebuffer" and "fragments"). */
  binaryType?: string;
}

/** The events a Client dispatches, each a CustomEvent with its detail. */
export interface ClientEventMap {
  state: CustomEvent<State>;
  open: CustomEvent<null>;
  message: CustomEvent<Data>;
  close: CustomEvent<CloseDetail>;
  drop: CustomEvent<DropDetail>;
}

/** A WebSocket that stays connected: it reconnects with backoff and full
 * jitter, replays registered messages on each connect, queues send() while
 * offline, and in resume mode rejoins rooms from the last position seen. */
export class Client extends EventTarget {
  /**
   * @param url ws:, wss:, http: or https: (mapped to ws: and wss:); a
   *   relative URL is resolved against the page, and without one (Node)
   *   throws a TypeError.
   * @throws TypeError for a bad URL, or when there is no WebSocket.
   * @throws RangeError for a bad minDelay (a number of at least 1),
   *   maxDelay (at least minDelay), stableAfter (at least 0) or maxQueue
   *   (an integer of at least 0).
   */
  constructor(url: string | URL, opts?: ClientOptions);

  /** The socket URL. */
  readonly url: URL;
  /** Read on every connect: assign a new array to send a refreshed token. */
  protocols: string[];
  /** ClientOptions.minDelay, as given or defaulted. */
  minDelay: number;
  /** ClientOptions.maxDelay, as given or defaulted. */
  maxDelay: number;
  /** ClientOptions.stableAfter, as given or defaulted. */
  stableAfter: number;
  /** ClientOptions.maxQueue, as given or defaulted. */
  maxQueue: number;
  /** ClientOptions.retryOn, as given or defaulted. */
  retryOn: (code: number) => boolean;
  /** Messages waiting for the next open. */
  readonly queue: Data[];
  /** How many queued messages were dropped on overflow. */
  readonly dropped: number;
  /** The connection state; each change is a "state" event. */
  readonly state: State;
  /** The current socket, if any (null while waiting or closed). */
  readonly ws: WebSocketLike | null;

  /** Opens the socket and keeps it open until close(). Does nothing while a
   * socket is open or opening. */
  connect(): void;
  /** Sends now when open, else queues until the next open. */
  send(data: Data): void;
  /** Registers data to send on every (re)connect, in registration order,
   * before the queue; sends it now when open. */
  replay(key: string, data: ReplayData): void;
  /** Removes what replay registered under key. */
  forget(key: string): void;
  /** Resume mode: registers the join of room, as replay does; make gets
   * the last position seen in the room (undefined before any). */
  joinRoom(room: string, make: (pos: Position | undefined) => Data): void;
  /** Stops rejoining room and forgets its position. */
  forgetRoom(room: string): void;
  /** The last position seen in room. */
  position(room: string): Position | undefined;
  /** Ends the session with code and reason (default 1000, "") and stops
   * reconnecting. */
  close(code?: number, reason?: string): void;

  addEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (this: Client, ev: ClientEventMap[K]) => any,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (this: Client, ev: ClientEventMap[K]) => any,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}
