// The site's search engine: reads the index the build writes into search-index/
// (tools/paperkb/sitesearch/postings.py) and answers queries in the page.
//
// Each word of a query matches the indexed words it is a prefix of. An entry's score
// for a word is the best of BM25's saturated weighted count times the matched word's
// IDF (a longer word matched by a prefix counts for less); a query's score is the sum
// over its words, and an entry must match every word. Only the term chunks a query's
// words fall in are fetched, and one small file per result shown.
const K1 = 1.2; // BM25's term-frequency saturation
const MAX_CHUNKS = 4; // chunks fetched for one word (a two-letter prefix can span many)
const MAX_EXPANSIONS = 64; // indexed words one query word may match, the most frequent first
const WORD = /[\p{L}\p{N}]+/gu; // as postings.TOKEN splits the index's text

let base = "search-index/";
let excerptWords = 24;
let manifest = null;
let suffix = "";
const chunks = new Map(); // chunk number -> Promise<{terms, heads, bytes}>
const entries = new Map(); // entry number -> Promise<its file>
let facets = null;

export const options = async (opts = {}) => {
  if (opts.baseUrl) base = `${opts.baseUrl.replace(/\/?$/, "/")}search-index/`;
  if (opts.excerptLength) excerptWords = opts.excerptLength;
};

const fetchFile = async (name, kind = "json") => {
  const response = await fetch(`${base}${name}${suffix}`);
  if (!response.ok) throw new Error(`search index: ${name}: HTTP ${response.status}`);
  return kind === "json" ? response.json() : response.arrayBuffer();
};

export const init = async () => {
  if (manifest) return;
  const loaded = await fetchFile("index.json");
  suffix = `?v=${encodeURIComponent(loaded.build)}`;
  manifest = loaded;
};

const loadChunk = (number) => {
  if (!chunks.has(number)) {
    chunks.set(number, fetchFile(`t${number}.bin`, "bytes").then((buffer) => {
      const view = new DataView(buffer);
      const headLength = view.getUint32(0, true);
      const heads = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, headLength)));
      let offset = 0;
      for (const head of heads) { // [term, entries, bytes] -> [term, entries, offset, bytes]
        head.splice(2, 0, offset);
        offset += head[3];
      }
      return {heads, terms: heads.map((h) => h[0]), bytes: new Uint8Array(buffer, 4 + headLength)};
    }));
  }
  return chunks.get(number);
};

// The chunks holding the words that start with `word`: the last chunk starting at or
// before it, and those after it that start with it.
const chunksFor = (word, prefix) => {
  const first = manifest.chunks;
  let lo = 0;
  let hi = first.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (first[mid] <= word) lo = mid;
    else hi = mid - 1;
  }
  const found = [lo];
  for (let i = lo + 1; prefix && i < first.length && first[i].startsWith(word) && found.length < MAX_CHUNKS; i++) found.push(i);
  return found;
};

const decode = (bytes, offset, length, visit) => {
  let value = 0;
  let shift = 0;
  let doc = 0;
  let isCount = false;
  for (let i = offset, end = offset + length; i < end; i++) {
    const byte = bytes[i];
    value |= (byte & 0x7f) << shift;
    if (byte & 0x80) {
      shift += 7;
      continue;
    }
    if (isCount) visit(doc, value / 10);
    else doc += value;
    isCount = !isCount;
    value = 0;
    shift = 0;
  }
};

const idf = (entries) => Math.log(1 + (manifest.entries - entries + 0.5) / (entries + 0.5));

// Best score per entry for one query word, over the indexed words it is a prefix of.
// A single Latin letter or digit is a word of its own ("a", "3"), not a prefix: as a
// prefix it would match a large part of the index.
const wordScores = async (word) => {
  const prefix = !/^[a-z0-9]$/.test(word);
  const loaded = await Promise.all(chunksFor(word, prefix).map(loadChunk));
  const matches = [];
  for (const chunk of loaded) {
    let lo = 0;
    let hi = chunk.terms.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (chunk.terms[mid] < word) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < chunk.terms.length && chunk.terms[i].startsWith(word); i++) {
      if (prefix || chunk.terms[i] === word) matches.push([chunk, chunk.heads[i]]);
    }
  }
  matches.sort((a, b) => (b[1][0] === word) - (a[1][0] === word) || b[1][1] - a[1][1]);
  const best = new Float64Array(manifest.entries);
  for (const [chunk, [term, entries, offset, length]] of matches.slice(0, MAX_EXPANSIONS)) {
    const weight = idf(entries) * (term === word ? 1 : 0.5 + (0.5 * word.length) / term.length);
    decode(chunk.bytes, offset, length, (doc, count) => {
      const score = (weight * count * (K1 + 1)) / (count + K1);
      if (score > best[doc]) best[doc] = score;
    });
  }
  return best;
};

const passes = async (filters) => {
  const chosen = Object.entries(filters || {}).filter(([, value]) => value);
  if (!chosen.length) return null;
  facets ||= fetchFile("facets.json");
  const {names, docs} = await facets;
  const tests = chosen.map(([name, value]) => [docs[name] || [], (names[name] || []).indexOf(value)]);
  return (doc) => tests.every(([column, number]) => number >= 0 && (column[doc] || []).includes(number));
};

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})[c]);

// The window of the notes with the most matched words, the matches in <mark>; the
// text is escaped (the search box rebuilds it as DOM nodes, never as markup).
const excerpt = (body, words) => {
  const parts = body.split(/\s+/).filter(Boolean);
  const hit = parts.map((part) => (part.toLowerCase().match(WORD) || []).some((t) => words.some((w) => t.startsWith(w))));
  let bestStart = 0;
  let bestCount = -1;
  let count = 0;
  for (let i = 0; i < parts.length; i++) {
    count += hit[i];
    if (i >= excerptWords) count -= hit[i - excerptWords];
    if (count > bestCount) [bestCount, bestStart] = [count, Math.max(0, i - excerptWords + 1)];
  }
  // A little context before the first match of the window.
  const firstHit = hit.indexOf(true, bestStart);
  const start = firstHit > bestStart + 3 ? Math.min(firstHit - 3, Math.max(0, parts.length - excerptWords)) : bestStart;
  return parts.slice(start, start + excerptWords)
    .map((part, i) => (hit[start + i] ? `<mark>${escapeHtml(part)}</mark>` : escapeHtml(part))).join(" ");
};

const result = (doc, score, words) => ({
  id: String(doc),
  score,
  data: async () => {
    if (!entries.has(doc)) entries.set(doc, fetchFile(`e/${doc}.json`));
    const entry = await entries.get(doc);
    return {
      url: new URL(entry.url, new URL("../", new URL(base, location.href))).pathname,
      meta: {title: entry.title, kind: entry.kind, status: entry.status, year: entry.year == null ? "" : String(entry.year)},
      excerpt: excerpt(entry.body || "", words),
    };
  },
});

export const search = async (query, {filters} = {}) => {
  await init();
  const words = [...new Set((query || "").toLowerCase().match(WORD) || [])];
  if (!words.length) return {results: []};
  const [scores, keep] = await Promise.all([Promise.all(words.map(wordScores)), passes(filters)]);
  const found = [];
  const total = scores[0].slice();
  for (const more of scores.slice(1)) {
    for (let doc = 0; doc < total.length; doc++) total[doc] = total[doc] > 0 && more[doc] > 0 ? total[doc] + more[doc] : 0;
  }
  for (let doc = 0; doc < total.length; doc++) {
    if (total[doc] > 0 && (!keep || keep(doc))) found.push(doc);
  }
  found.sort((a, b) => total[b] - total[a] || a - b);
  return {results: found.map((doc) => result(doc, total[doc], words))};
};
