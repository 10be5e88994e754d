// The demo's service worker: keeps the app shell (the page, its script, styles and the .wasm)
// so the page also loads while the server is unreachable; the document itself comes from
// IndexedDB then. The build (vite.config.ts) prepends `PRECACHE` (every file of the build) and
// `VERSION` (a hash of their names) to this file.
//
// Pages are fetched network-first (a new build shows up on the next load); the hashed assets,
// whose content never changes under one name, cache-first. The sync socket is not HTTP and
// never passes through here.

/* global PRECACHE, VERSION */
const CACHE = `weft-demo-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('weft-demo-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    // The page: fresh from the server when it answers, else the cached copy.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            void caches.open(CACHE).then((cache) => cache.put('./', copy));
          }
          return response;
        })
        .catch(() => caches.match('./', { cacheName: CACHE }).then((hit) => hit ?? Response.error())),
    );
  } else if (url.pathname.includes('/assets/')) {
    event.respondWith(caches.match(request, { cacheName: CACHE }).then((hit) => hit ?? fetch(request)));
  }
});
