// The WebSocket to the relay: opens it, feeds binary messages to the
// workspace and sends what it has to say, reconnects with backoff and
// jitter, and follows the browser's online/offline events. It decides
// nothing about the protocol: the workspace (Rust) does.

/** Timers of the connection, in milliseconds. */
export const DEFAULT_TIMERS = {
  backoffBase: 500,
  backoffMax: 15000,
  antiEntropy: 10000,
  connectTimeout: 10000,
  // A document waiting on the relay that has not moved for this long
  // (the workspace tracks it): reconnect.
  stall: 20000,
};

export class Connection {
  /**
   * @param {string} url  ws:// or wss:// address of the relay's /v1/sync
   * @param {object} hooks  {opened(), closed(), frame(bytes), stalled(ms) -> doc id or undefined, antiEntropy(), state(s)}
   */
  constructor(url, hooks, timers = {}) {
    this.url = url;
    this.hooks = hooks;
    this.timers = { ...DEFAULT_TIMERS, ...timers };
    this.socket = null;
    this.state = 'offline'; // offline | connecting | online
    this.failures = 0;
    this.retry = null;
    this.stopped = false;
    this.onOnline = () => this.connectNow();
    this.onOffline = () => this.drop('the browser went offline');
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
    this.ticker = setInterval(() => this.#tick(), 1000);
    this.lastAntiEntropy = Date.now();
    this.connectNow();
  }

  /** Sends one binary message if the socket is open; false otherwise. */
  send(bytes) {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(bytes);
    return true;
  }

  isOpen() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Connect at once (after a reconnect click or the browser coming online). */
  connectNow() {
    clearTimeout(this.retry);
    this.retry = null;
    this.failures = 0;
    if (!this.socket) this.#open();
  }

  /** Closes the socket; reconnects later unless stopped. */
  drop(reason) {
    const s = this.socket;
    if (!s) return;
    console.info(`concord: connection closed (${reason})`);
    this.#closed(s);
    try {
      s.close(1000);
    } catch {
      // Already closing.
    }
  }

  stop() {
    this.stopped = true;
    removeEventListener('online', this.onOnline);
    removeEventListener('offline', this.onOffline);
    clearInterval(this.ticker);
    clearTimeout(this.retry);
    this.drop('stopped');
  }

  #setState(state) {
    if (this.state !== state) {
      this.state = state;
      this.hooks.state?.(state);
    }
  }

  #open() {
    if (this.stopped || this.socket) return;
    if (!navigator.onLine) {
      this.#setState('offline');
      return; // the 'online' event reconnects
    }
    let s;
    try {
      s = new WebSocket(this.url);
    } catch (e) {
      console.warn('concord: cannot open a WebSocket', e);
      this.#schedule();
      return;
    }
    s.binaryType = 'arraybuffer';
    this.socket = s;
    this.opened = Date.now();
    this.#setState('connecting');
    s.onopen = () => {
      if (this.socket !== s) return;
      this.failures = 0;
      this.#setState('online');
      this.hooks.opened();
    };
    s.onmessage = (e) => {
      if (this.socket !== s) return;
      if (typeof e.data === 'string') {
        console.warn('concord: the relay sent text; ignored');
        return;
      }
      this.hooks.frame(new Uint8Array(e.data));
    };
    s.onclose = (e) => {
      if (this.socket === s) {
        console.info(`concord: relay closed the connection (${e.code} ${e.reason})`);
        this.#closed(s);
      }
    };
    s.onerror = () => {
      // onclose follows and handles it.
    };
  }

  #closed(s) {
    if (this.socket !== s) return;
    s.onopen = s.onmessage = s.onclose = s.onerror = null;
    this.socket = null;
    this.#setState('offline');
    this.hooks.closed();
    this.#schedule();
  }

  #schedule() {
    if (this.stopped || this.retry || !navigator.onLine) return;
    const { backoffBase, backoffMax } = this.timers;
    const ceiling = Math.min(backoffMax, backoffBase * 2 ** Math.min(this.failures, 10));
    this.failures += 1;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.#open();
    }, delay);
  }

  #tick() {
    const now = Date.now();
    const s = this.socket;
    if (!s) return;
    if (s.readyState === WebSocket.CONNECTING && now - this.opened > this.timers.connectTimeout) {
      this.drop('connect timed out');
      return;
    }
    if (s.readyState !== WebSocket.OPEN) return;
    const stalled = this.hooks.stalled(this.timers.stall);
    if (stalled !== undefined) {
      this.drop(`document ${stalled} stalled`);
      return;
    }
    if (now - this.lastAntiEntropy >= this.timers.antiEntropy) {
      this.lastAntiEntropy = now;
      this.hooks.antiEntropy();
    }
  }
}
