// Service worker: keeps the page's files so it opens without a network.
// Network first (a rebuilt demo shows at once when online), the cache when
// the network fails. The documents themselves live in IndexedDB, not here.

const CACHE = 'concord-shell-v1';
const SHELL = [
  './',
  './index.html',
  './style.css',
  './app.js',
  './concord.js',
  './store.js',
  './connection.js',
  './editor.js',
  './calendar.js',
  './month.js',
  './concord_web.js',
  './concord_web_bg.wasm',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.startsWith('/v1/') || url.pathname === '/metrics' || url.pathname === '/healthz') return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const response = await fetch(event.request);
        if (response.ok) cache.put(event.request, response.clone());
        return response;
      } catch (e) {
        const cached =
          (await cache.match(event.request, { ignoreSearch: true })) ??
          (event.request.mode === 'navigate' ? await cache.match('./index.html') : undefined);
        if (cached) return cached;
        throw e;
      }
    })(),
  );
});
