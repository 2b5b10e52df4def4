// The site's search box: the site's chunked index (written beside the pages by
// `mkdocs build` into search-index/, read by search-engine.js), started when the page
// has loaded or a reader reaches for the box (hover, focus, "/"), and only the chunks a
// query needs. Results show title, kind, status, year and a snippet from the notes.
// Keyboard: "/" opens, arrows move, Enter opens the result, Escape closes.
//
// A query goes straight to the engine. The first FIRST results are shown as soon as
// their fragments arrive; the rest of the list and the partial-match fallback never
// hold them back, and the typo check's word lists are fetched only for a query that
// finds nothing.
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("__config")?.textContent || "{}");
  // The site root, also when the site is served under a sub-path (a project site).
  const root = new URL((config.base || ".") + "/", location.href);
  const LIMIT = 10;
  const FIRST = 5; // fragments fetched before anything is shown; the rest follow
  const FEW = 3; // fewer results than this for a query of several words: add partial matches
  const DEBOUNCE_MS = 80;
  let engine = null;
  let loading = null;
  let active = -1;
  let inputs = 0; // input events so far: a run whose input is no longer the last one stops

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  };

  // -- the box ---------------------------------------------------------------
  const input = el("input", {
    type: "search", class: "pkb-search__input", placeholder: "Search notes, titles, authors, arXiv ids · 搜索",
    "aria-label": "Search", autocomplete: "off", spellcheck: "false",
  });
  const kind = el("select", {class: "pkb-search__filter", "aria-label": "Kind"});
  const status = el("select", {class: "pkb-search__filter", "aria-label": "Status"});
  const tag = el("select", {class: "pkb-search__filter", "aria-label": "Tag"});
  const year = el("select", {class: "pkb-search__filter", "aria-label": "Year"});
  const note = el("div", {class: "pkb-search__note", "aria-live": "polite"});
  const list = el("ol", {class: "pkb-search__results", role: "listbox"});
  const panel = el("div", {class: "pkb-search__panel", role: "dialog", "aria-label": "Search"},
    input, el("div", {class: "pkb-search__filters"}, kind, status, tag, year), note, list);
  const overlay = el("div", {class: "pkb-search", hidden: ""}, panel);
  const button = el("button", {class: "md-header__button pkb-search__open", type: "button", title: "Search (/)"},
    "Search", el("kbd", {}, "/"));

  const place = () => {
    const header = document.querySelector(".md-header__inner");
    const source = header?.querySelector(".md-header__source");
    if (header) header.insertBefore(button, source || null);
    document.body.append(overlay);
  };

  const open = async () => {
    overlay.hidden = false;
    input.focus();
    input.select();
    await load();
  };
  const close = () => {
    overlay.hidden = true;
  };

  // -- the engine ------------------------------------------------------------
  // Started once, by whatever comes first: the idle time after the page has loaded, a
  // hover or focus on the button, "/", or a query.
  const load = () => {
    loading ||= (async () => {
      const module = await import(new URL("javascripts/search-engine.js", root).href);
      await module.options({baseUrl: root.pathname, excerptLength: 24});
      await module.init();
      engine = module;
      document.documentElement.dataset.pkbSearchReady = "";
      // The filter values come from a small list written with the index; the entries'
      // filter columns load only when a filter is chosen.
      fetchWords("filters.json").then((filters) => {
        fill(kind, "All kinds", filters.kind);
        fill(status, "Any status", filters.status);
        fill(tag, "All tags", filters.tag);
        fill(year, "Any year", [...(filters.year || [])].reverse()); // newest first
      });
      return module;
    })();
    return loading;
  };

  const fill = (select, label, values = []) => {
    select.replaceChildren(el("option", {value: ""}, label));
    for (const value of values) select.append(el("option", {value}, value));
  };

  const chosenFilters = () => {
    const filters = {};
    if (kind.value) filters.kind = kind.value;
    if (status.value) filters.status = status.value;
    if (tag.value) filters.tag = tag.value;
    if (year.value) filters.year = year.value;
    return filters;
  };

  // -- typo and plural fallback ---------------------------------------------
  const distance = (a, b) => {
    // Damerau-Levenshtein (optimal string alignment): a swapped pair counts once.
    const d = Array.from({length: a.length + 1}, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        const cost = a[i - 1] === b[j - 1] ? 0 : 1;
        d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
    return d[a.length][b.length];
  };

  const closest = async (word) => {
    const latin = await latinWords(word);
    const limit = word.length <= 5 ? 1 : 2;
    let best = null;
    let bestDistance = limit + 1;
    for (const candidate of latin) {
      if (Math.abs(candidate.length - word.length) > limit) continue;
      const dist = distance(word, candidate);
      if (dist < bestDistance) [best, bestDistance] = [candidate, dist];
    }
    return best;
  };

  // The word lists are split (tools/paperkb/sitesearch/vocabulary.py): the Chinese
  // words, fetched for a Chinese query only, and the Latin words by first letter.
  const fetchWords = async (name) => {
    try {
      const response = await fetch(new URL(`search-index/words/${name}`, root));
      return response.ok ? await response.json() : [];
    } catch {
      return [];
    }
  };
  let chinese = null;
  const chineseWords = () => {
    chinese ||= fetchWords("zh.json").then((words) => ({
      zh: new Set(words), zhLongest: words.reduce((n, w) => Math.max(n, w.length), 1),
    }));
    return chinese;
  };
  const latin = new Map();
  const latinWords = (word) => {
    const letter = word[0];
    if (!latin.has(letter)) latin.set(letter, fetchWords(`latin-${letter}.json`));
    return latin.get(letter);
  };

  // The index holds Chinese cut into jieba's words with spaces between them; a Chinese
  // query is cut into the same words, longest match first (a character no word
  // starts with stays on its own, and matches as a prefix).
  const HAN = "[\\u3400-\\u9fff\\uf900-\\ufaff\\u3000-\\u303f\\uff00-\\uffef]";
  const CJK = /[\u3400-\u9fff\uf900-\ufaff]+/g;
  const cutChinese = async (query) => {
    if (!/[\u3400-\u9fff\uf900-\ufaff]/.test(query)) return query;
    const {zh, zhLongest} = await chineseWords();
    return query.replace(CJK, (run) => {
      const words = [];
      for (let i = 0; i < run.length;) {
        let size = Math.min(zhLongest, run.length - i);
        while (size > 1 && !zh.has(run.slice(i, i + size))) size--;
        words.push(run.slice(i, i + size));
        i += size;
      }
      return ` ${words.join(" ")} `;
    }).trim();
  };

  const singular = (word) => word.replace(/(?<=[a-z]{3})(es|s)$/, "");

  // The index keeps words as written (no stemming: an English stem such as "generat"
  // matches most of a large catalog). The engine matches prefixes, so a query word is cut
  // back to its root and the prefix finds the other forms: "discriminators" -> "discriminator"
  // (and "discriminator"s), "growing" -> "grow" (grows, growth), "mapping" -> "map".
  const rootOf = (word) => {
    if (!/^[a-z]{5,}$/.test(word)) return word;
    const cut = word
      .replace(/(?<=[a-z]{3})ies$/, "")
      .replace(/(?<=[a-z]{2}(?:[sxz]|[cs]h))es$/, "")
      .replace(/(?<=[a-z]{3}[^su])s$/, "")
      .replace(/(?<=[a-z]{4})(?:ing|ed)$/, "")
      .replace(/(?<=[a-z]{4})ly$/, "");
    // A doubled consonant left by -ing or -ed: "mapp" -> "map", but "spell" stays.
    return cut !== word && /([b-df-hj-km-rtv-z])\1$/.test(cut) && !/(ll|ss|zz)$/.test(cut) ? cut.slice(0, -1) : cut;
  };
  const rooted = (query) => query.split(/\s+/).map((w) => rootOf(w.toLowerCase())).join(" ");

  // The engine matches prefixes but forgives no typo. A word that
  // is no known word's prefix is replaced by its singular, or else by the closest known
  // word: "pix2pxi" -> "pix2pix", "perceptaul" -> "perceptual".
  const corrected = async (query) => {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    // Every word's list at once: one round of fetches, not one per word.
    await Promise.all(words.filter((w) => /^[a-z]/.test(w)).map(latinWords));
    let changed = false;
    const out = [];
    for (const word of words) {
      const isLatin = /^[a-z][a-z0-9\-]{3,}$/.test(word);
      const known = isLatin ? await latinWords(word) : [];
      if (!isLatin || known.some((k) => k.startsWith(word))) {
        out.push(word);
        continue;
      }
      const one = singular(word);
      const candidate = one !== word && known.some((k) => k.startsWith(one)) ? one : await closest(word);
      if (candidate && candidate !== word) {
        out.push(candidate);
        changed = true;
      } else {
        out.push(word);
      }
    }
    return changed ? out.join(" ") : null;
  };

  // -- results ---------------------------------------------------------------
  const ENTITIES = {amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", "#x27": "'"};
  const excerpt = (html) => {
    // The engine's excerpt: escaped text with <mark> around matches. Rebuilt as DOM
    // nodes so nothing from the index is ever parsed as markup.
    const out = el("p", {class: "pkb-search__excerpt"});
    // The spaces the index put between Chinese words are taken out again.
    const joined = html.replace(new RegExp(`(?<=${HAN}(?:</?mark>)?) +(?=(?:</?mark>)?${HAN})`, "g"), "");
    joined.split(/(<mark>|<\/mark>)/).reduce((marked, part) => {
      if (part === "<mark>") return true;
      if (part === "</mark>") return false;
      const text = part.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e) => ENTITIES[e]);
      if (text) out.append(marked ? el("mark", {}, text) : document.createTextNode(text));
      return marked;
    }, false);
    return out;
  };

  const item = (data, i) => {
    const meta = [data.meta.kind, data.meta.status, data.meta.year].filter(Boolean).join(" · ");
    return el("li", {class: "pkb-search__item", role: "option", id: `pkb-search-${i}`},
      el("a", {href: data.url, class: "pkb-search__link"},
        el("span", {class: "pkb-search__title"}, data.meta.title || data.url),
        el("span", {class: "pkb-search__meta"}, meta),
        excerpt(data.excerpt || "")));
  };

  const render = (items) => {
    list.replaceChildren(...items.map(item));
    select(items.length ? 0 : -1);
  };

  const append = (items) => {
    const from = list.children.length;
    list.append(...items.map((data, i) => item(data, from + i)));
    if (active < 0 && items.length) select(0);
  };

  const select = (i) => {
    const items = list.children;
    if (active >= 0 && items[active]) items[active].classList.remove("pkb-search__item--active");
    active = i;
    if (active >= 0 && items[active]) {
      items[active].classList.add("pkb-search__item--active");
      items[active].scrollIntoView({block: "nearest"});
    }
  };

  // The engine wants every word; a reader who adds a word the notes lack still expects
  // the rest to count. When the whole query finds few entries, entries matching some
  // of the words come next, ranked by how many of them they match and how well.
  const partialMatches = async (words, found, filters) => {
    const seen = new Set(found.map((r) => r.id));
    const partial = new Map();
    const each = await Promise.all(words.map((word) => engine.search(rootOf(word), {filters})));
    for (const {results} of each) {
      for (const r of results) {
        if (seen.has(r.id)) continue;
        const entry = partial.get(r.id) || {result: r, hits: 0, score: 0};
        entry.hits += 1;
        entry.score += r.score;
        partial.set(r.id, entry);
      }
    }
    return [...partial.values()].sort((a, b) => b.hits - a.hits || b.score - a.score).map((e) => e.result);
  };

  const state = (value) => {
    document.documentElement.dataset.pkbSearch = value; // lets tests and the bench wait for a query
  };

  const run = async () => {
    const id = inputs;
    const stale = () => id !== inputs; // a newer query was typed meanwhile
    const query = input.value.trim();
    await load();
    if (stale()) return;
    if (!query) {
      list.replaceChildren();
      note.textContent = "";
      state("done");
      return;
    }
    const filters = chosenFilters();
    const cut = await cutChinese(query);
    const typed = await engine.search(rooted(cut), {filters});
    if (stale()) return;
    // Every word must match, so a query that finds something has no word that is no
    // known word's prefix: only a query that finds nothing fetches the word lists for
    // a correction (a fetch per query saved, which costs ~10 ms of a 2-core machine).
    const fixed = !typed.results.length && /[a-z]/i.test(cut) ? await corrected(cut) : null;
    let results = typed.results;
    let shown = query;
    if (fixed) {
      // The corrected query's results first, then the rest of what was typed.
      const better = (await engine.search(rooted(fixed), {filters})).results;
      if (better.length) {
        const seen = new Set(better.map((r) => r.id));
        results = [...better, ...results.filter((r) => !seen.has(r.id))];
        shown = fixed;
      }
    }
    const describe = () => {
      note.textContent = !results.length ? `No results for “${query}”`
        : shown !== query ? `Showing results for “${shown}”` : `${results.length} results`;
    };
    const first = await Promise.all(results.slice(0, FIRST).map((r) => r.data()));
    if (stale()) return;
    describe();
    render(first);
    state("shown");
    const words = (fixed || cut).split(/\s+/).filter(Boolean);
    if (results.length < FEW && words.length > 1) {
      results = [...results, ...(await partialMatches(words, results, filters))];
    }
    const rest = await Promise.all(results.slice(first.length, LIMIT).map((r) => r.data()));
    if (stale()) return;
    describe();
    append(rest);
    state("done");
  };

  // A query runs as soon as it is typed when the box is idle; keys typed in quick
  // succession, or while a search runs, are gathered into one search of the latest text.
  let timer = null;
  let lastInput = -Infinity;
  let busy = false;
  let pending = false;
  const drain = async () => {
    busy = true;
    try {
      while (pending) {
        pending = false;
        try {
          await run();
        } catch (error) {
          // Reported, and the box stays usable: the next query runs as usual.
          console.error("search failed:", error);
          note.textContent = "Search failed; try again.";
          state("done");
        }
      }
    } finally {
      busy = false;
    }
  };
  const kick = () => {
    pending = true;
    if (!busy) drain();
  };
  const schedule = () => {
    inputs++;
    delete document.documentElement.dataset.pkbSearch;
    clearTimeout(timer);
    if (!input.value.trim()) {
      kick(); // clearing the box is no keystroke of a query
      return;
    }
    const now = performance.now();
    // One Latin letter is the start of a word: its prefix matches most of the index.
    const burst = now - lastInput < DEBOUNCE_MS || /^[a-z0-9]$/i.test(input.value.trim());
    lastInput = now;
    if (busy) pending = true; // the running search stops at its next step; this one follows
    else if (burst) timer = setTimeout(kick, DEBOUNCE_MS);
    else kick();
  };

  // `input` fires for typed, pasted and IME-composed (Chinese) text alike.
  input.addEventListener("input", schedule);
  for (const s of [kind, status, tag, year]) s.addEventListener("change", schedule);
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") select(Math.min(active + 1, list.children.length - 1));
    else if (event.key === "ArrowUp") select(Math.max(active - 1, 0));
    else if (event.key === "Enter") {
      const link = list.children[Math.max(active, 0)]?.querySelector("a");
      if (link) location.href = link.href;
    } else return;
    event.preventDefault();
  });
  overlay.addEventListener("click", (event) => {
    if (event.target === overlay) close();
  });
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName || "");
    if (event.key === "/" && !typing && overlay.hidden) {
      event.preventDefault();
      open();
    } else if (event.key === "Escape" && !overlay.hidden) {
      close();
    }
  });
  button.addEventListener("click", open);
  for (const event of ["pointerenter", "focus", "touchstart"]) button.addEventListener(event, load, {passive: true});
  // And once the page has loaded and the browser is idle: the engine and the index's
  // list of chunks (a few KB at 10,000 entries) are then ready before a reader reaches
  // for the box. No term chunk loads until a query.
  const idle = window.requestIdleCallback || ((fn) => setTimeout(fn, 200));
  const preload = () => idle(() => load().catch(() => {}), {timeout: 2000});
  if (document.readyState === "complete") preload();
  else window.addEventListener("load", preload, {once: true});

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", place);
  else place();
})();
