// The site's search box: Pagefind's chunked index (built after `mkdocs build` into
// pagefind/), loaded only when the box is first opened, and only the chunks a query
// needs. Results show title, kind, status, year and a snippet from the notes.
// Keyboard: "/" opens, arrows move, Enter opens the result, Escape closes.
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("__config")?.textContent || "{}");
  // The site root, also when the site is served under a sub-path (a project site).
  const root = new URL((config.base || ".") + "/", location.href);
  const LIMIT = 10;
  const DEBOUNCE_MS = 60;
  let pagefind = null;
  let vocabulary = null;
  let active = -1;
  let runId = 0;

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
  const note = el("div", {class: "pkb-search__note", "aria-live": "polite"});
  const list = el("ol", {class: "pkb-search__results", role: "listbox"});
  const panel = el("div", {class: "pkb-search__panel", role: "dialog", "aria-label": "Search"},
    input, el("div", {class: "pkb-search__filters"}, kind, status, tag), note, list);
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

  // -- Pagefind --------------------------------------------------------------
  const load = async () => {
    if (pagefind) return pagefind;
    const module = await import(new URL("pagefind/pagefind.js", root).href);
    await module.options({baseUrl: root.pathname, excerptLength: 24});
    await module.init();
    pagefind = module;
    const filters = await module.filters();
    fill(kind, "All kinds", filters.kind);
    fill(status, "Any status", filters.status);
    fill(tag, "All tags", filters.tag);
    return pagefind;
  };

  const fill = (select, label, counts = {}) => {
    select.replaceChildren(el("option", {value: ""}, label));
    for (const value of Object.keys(counts).sort()) select.append(el("option", {value}, value));
  };

  const chosenFilters = () => {
    const filters = {};
    if (kind.value) filters.kind = kind.value;
    if (status.value) filters.status = status.value;
    if (tag.value) filters.tag = tag.value;
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
    const {latin} = await loadVocabulary();
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

  const loadVocabulary = async () => {
    if (!vocabulary) {
      const response = await fetch(new URL("pagefind-vocabulary.json", root));
      const data = response.ok ? await response.json() : {};
      vocabulary = {latin: data.latin || [], zh: new Set(data.zh || [])};
      vocabulary.zhLongest = Math.max(1, ...[...vocabulary.zh].map((w) => w.length));
    }
    return vocabulary;
  };

  // The index holds Chinese cut into jieba's words with spaces between them; a Chinese
  // query is cut into the same words, longest match first (a character no word
  // starts with stays on its own, and matches as a prefix).
  const HAN = "[\\u3400-\\u9fff\\uf900-\\ufaff\\u3000-\\u303f\\uff00-\\uffef]";
  const CJK = /[\u3400-\u9fff\uf900-\ufaff]+/g;
  const cutChinese = async (query) => {
    if (!/[\u3400-\u9fff\uf900-\ufaff]/.test(query)) return query;
    const {zh, zhLongest} = await loadVocabulary();
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

  // Pagefind matches prefixes but forgives no typo: for a word it does not know it
  // matches ever shorter prefixes of it ("perceptaul" finds "per-pixel"). A word that
  // is no known word's prefix is replaced by its singular, or else by the closest known
  // word: "pix2pxi" -> "pix2pix", "perceptaul" -> "perceptual".
  const corrected = async (query) => {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const known = (await loadVocabulary()).latin;
    let changed = false;
    const out = [];
    for (const word of words) {
      const latin = /^[a-z][a-z0-9\-]{3,}$/.test(word);
      if (!latin || known.some((k) => k.startsWith(word))) {
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
    // Pagefind's excerpt: escaped text with <mark> around matches. Rebuilt as DOM
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

  const render = (items) => {
    list.replaceChildren(...items.map((data, i) => {
      const meta = [data.meta.kind, data.meta.status, data.meta.year].filter(Boolean).join(" · ");
      return el("li", {class: "pkb-search__item", role: "option", id: `pkb-search-${i}`},
        el("a", {href: data.url, class: "pkb-search__link"},
          el("span", {class: "pkb-search__title"}, data.meta.title || data.url),
          el("span", {class: "pkb-search__meta"}, meta),
          excerpt(data.excerpt || "")));
    }));
    select(items.length ? 0 : -1);
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

  const run = async () => {
    const id = ++runId;
    const query = input.value.trim();
    await load();
    if (!query) {
      list.replaceChildren();
      note.textContent = "";
      return;
    }
    const filters = chosenFilters();
    const cut = await cutChinese(query);
    const typed = await pagefind.search(cut, {filters});
    let results = typed.results;
    let shown = query;
    const fixed = /[a-z]/i.test(cut) ? await corrected(cut) : null;
    if (fixed) {
      // The corrected query's results first, then the rest of what was typed.
      const better = (await pagefind.search(fixed, {filters})).results;
      if (better.length) {
        const seen = new Set(better.map((r) => r.id));
        results = [...better, ...results.filter((r) => !seen.has(r.id))];
        shown = fixed;
      }
    }
    const words = (fixed || cut).split(/\s+/).filter(Boolean);
    if (results.length < LIMIT && words.length > 1) {
      // Pagefind wants every word; a reader who adds a word the notes lack still
      // expects the rest to count. Entries matching some of the words come next,
      // ranked by how many of them they match and how well.
      const seen = new Set(results.map((r) => r.id));
      const partial = new Map();
      for (const word of words) {
        for (const r of (await pagefind.search(word, {filters})).results) {
          if (seen.has(r.id)) continue;
          const entry = partial.get(r.id) || {result: r, hits: 0, score: 0};
          entry.hits += 1;
          entry.score += r.score;
          partial.set(r.id, entry);
        }
      }
      const extra = [...partial.values()].sort((a, b) => b.hits - a.hits || b.score - a.score);
      results = [...results, ...extra.map((e) => e.result)];
    }
    const items = await Promise.all(results.slice(0, LIMIT).map((r) => r.data()));
    if (id !== runId) return; // a newer query was typed meanwhile
    note.textContent = !items.length ? `No results for “${query}”`
      : shown !== query ? `Showing results for “${shown}”` : `${results.length} results`;
    render(items);
    document.documentElement.dataset.pkbSearch = "done"; // lets tests wait for a finished query
  };

  let timer = null;
  const schedule = () => {
    clearTimeout(timer);
    delete document.documentElement.dataset.pkbSearch;
    timer = setTimeout(run, DEBOUNCE_MS);
  };

  // `input` fires for typed, pasted and IME-composed (Chinese) text alike.
  input.addEventListener("input", schedule);
  for (const s of [kind, status, tag]) s.addEventListener("change", schedule);
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

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", place);
  else place();
})();
