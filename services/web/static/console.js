// Shared helpers for the consoles: JSON forms that show each refused field beside its input,
// and the servers' codes worded in the page's language.
"use strict";

(() => {
  // The page's column of the translation table (services/web/i18n.py), embedded by the layout.
  // Servers answer with codes and facts; they are worded here the way the server words its
  // pages: `{name}` shows a fact, `{name:kind}` words it as the entry `<kind>.<value>`.
  let wording = null;
  const entries = () => {
    wording ??= JSON.parse(document.getElementById("i18n")?.textContent || "{}");
    return wording;
  };
  const PLACEHOLDER = /\{(\w+)(?::(\w+))?\}/g;

  // A list as the page's language writes one (甲、乙 / a, b), like i18n.py's Translator.join.
  function join(words) {
    return words.length ? words.join(entries()["list.sep"]) : entries()["list.empty"];
  }

  function word(value, kind) {
    if (Array.isArray(value)) return join(value.map((item) => word(item, kind)));
    if (value === null || value === undefined) return "";
    if (kind) return entries()[`${kind}.${value}`] ?? String(value);
    if (typeof value === "number") return value.toLocaleString("en-US");
    return String(value);
  }

  window.tiaojie = {
    join,

    /** Each value worded as the entry `<kind>.<value>`, listed in the page's language. */
    words(values, kind) { return join((values || []).map((value) => word(value, kind))); },

    /** The sentence of `key` with its facts filled in; `fallback` when the table lacks it. */
    format(key, params, fallback) {
      const sentence = entries()[key];
      if (sentence === undefined) return fallback ?? key;
      return sentence.replace(PLACEHOLDER, (_, name, kind) => word((params || {})[name], kind));
    },

    /** A fact the server gave as a code; older facts without one keep the server's text. */
    coded(prefix, code, params, fallback) {
      return code ? this.format(`${prefix}.${code}`, params, fallback) : fallback;
    },

    /** Why a whole request was refused: by its code, else the server's English, else `fallback`. */
    refusal(body, fallback) {
      const english = [body && body.message, body && body.detail, fallback]
        .find((text) => typeof text === "string" && text);
      return this.coded("error", body && body.error, body && body.params, english);
    },

    /** A `datetime-local` value (a wall-clock time without a zone) read in the county's zone
     * `zone` (the page gives it, TIAOJIE_TIME_ZONE), never the browser's: as UTC ISO text. */
    zonedIso(value, zone) {
      const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value || "");
      if (!m || !zone) return value;
      const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
      const clock = new Intl.DateTimeFormat("en-US", {
        timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit",
      });
      const offsetAt = (instant) => {
        const p = Object.fromEntries(clock.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
        return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - instant;
      };
      // The zone's offset at the wall time, checked again at the instant found (DST edges).
      const first = wall - offsetAt(wall);
      return new Date(wall - offsetAt(first)).toISOString();
    },

    /** Shows the 422 messages next to their fields; returns true when there were any. */
    showFieldErrors(form, body) {
      form.querySelectorAll(".error[data-for]").forEach((el) => { el.textContent = ""; });
      form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
      const fields = (body && body.fields) || [];
      for (const { field, code, params, message } of fields) {
        const slot = form.querySelector(`.error[data-for="${CSS.escape(field)}"]`)
          || form.querySelector('.error[data-for="body"]');
        if (slot) slot.textContent = this.coded("invalid", code, params, message);
        const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
        if (input) input.setAttribute("aria-invalid", "true");
      }
      return fields.length > 0;
    },

    /** A refused request: each refused field beside its input, else why in the general slot
     * (the form's own, or `slot`). */
    showRefusal(form, body, fallback, slot) {
      const general = slot || form.querySelector('.error[data-for="body"]');
      if (general) general.textContent = "";
      if (!this.showFieldErrors(form, body) && general) {
        general.textContent = this.refusal(body, fallback);
      }
    },
  };
})();

// Who is calling is the console's own cookie (HttpOnly: no script reads it): a signed-in
// session, or a `?token=` link's token, which the server keeps there. The link's token is taken
// out of the address bar, so it is neither bookmarked nor shown to whoever looks at the screen.
(() => {
  const url = new URL(window.location.href);
  if (url.searchParams.has("token")) {
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.toString());
  }
  // Consoles once kept the token here; a forgotten one must not outlive a sign-out.
  localStorage.removeItem("tiaojie.token");
})();

// Unit pickers (unit_picker.html): a text box that offers, as one types, the units whose name
// or id holds the text, each with the path above it, from the console's own search; the chosen
// unit's id goes in the hidden field the form submits. Arrow keys move, Enter picks, Escape
// closes. Pages never hold the whole registry, which may list tens of thousands of units.
(() => {
  const english = () => document.body.dataset.lang !== "zh-CN";
  const nameOf = (unit) => (english() ? unit.name_en : unit.name);
  const pathOf = (unit) => (english() ? unit.path_en : unit.path);

  function enhance(box) {
    const input = box.querySelector('input[role="combobox"]');
    const value = box.querySelector('input[type="hidden"]');
    const list = box.querySelector('[role="listbox"]');
    const initial = { id: value.value, label: input.value };
    let chosen = initial.label;
    let offered = [];
    let active = -1;
    let asked = 0;
    let timer = null;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function mark(n) {
      active = n;
      [...list.children].forEach((item, i) => item.setAttribute("aria-selected", String(i === n)));
      const item = list.children[n];
      if (item) {
        input.setAttribute("aria-activedescendant", item.id);
        item.scrollIntoView({ block: "nearest" });
      }
    }
    function choose(unit) {
      value.value = unit ? unit.id : "";
      input.value = chosen = unit ? nameOf(unit) : "";
      close();
      value.dispatchEvent(new Event("change", { bubbles: true }));
    }
    function show(units) {
      offered = units;
      list.replaceChildren();
      units.forEach((unit, n) => {
        const item = document.createElement("li");
        item.id = `${list.id}-${n}`;
        item.setAttribute("role", "option");
        item.dataset.unit = unit.id;
        const path = document.createElement("small");
        path.textContent = pathOf(unit);
        item.append(nameOf(unit), path);
        item.addEventListener("mousedown", (event) => { event.preventDefault(); choose(unit); });
        list.append(item);
      });
      if (!units.length) {
        const none = document.createElement("li");
        none.setAttribute("aria-disabled", "true");
        none.textContent = window.tiaojie.format("picker.none");
        list.append(none);
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }
    async function ask() {
      const text = input.value.trim();
      if (!text) { close(); return; }
      const number = ++asked;
      const params = new URLSearchParams({ q: text, limit: "10" });
      for (const kind of (box.dataset.kinds || "").split(",").filter(Boolean)) params.append("kind", kind);
      if (box.dataset.within) params.set("within", box.dataset.within);
      let units = [];
      try {
        const response = await fetch(`${box.dataset.search}?${params}`);
        if (response.ok) units = (await response.json()).items || [];
      } catch (error) {
        units = [];  // offline: nothing to offer, the unit chosen stays
      }
      if (number === asked && document.activeElement === input) show(units);  // the latest wins
    }

    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(ask, 150);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) ask(); else mark(Math.min(active + 1, offered.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        mark(Math.max(active - 1, 0));
      } else if (event.key === "Enter" && !list.hidden) {
        event.preventDefault();  // picks; never submits a half-typed name
        if (offered.length) choose(offered[Math.max(active, 0)]);
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        close();
        input.value = chosen;
      }
    });
    // Text typed but not picked is not a unit: the box shows the one chosen (or, where a unit
    // is optional and the box was emptied, none).
    input.addEventListener("blur", () => {
      close();
      if (!input.value.trim() && "optional" in box.dataset) {
        if (value.value) choose(null);
      } else {
        input.value = chosen;
      }
    });
    input.form?.addEventListener("reset", () => {
      value.value = initial.id;  // a hidden field keeps its value through a reset
      chosen = initial.label;
      close();
    });
  }

  const start = () => document.querySelectorAll("[data-unit-picker]").forEach(enhance);
  window.tiaojie.enhanceUnitPickers = (root) => root.querySelectorAll("[data-unit-picker]").forEach(enhance);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  /** The names of units by id, asked of the console once each (`/console/units/named`). */
  const names = new Map();
  window.tiaojie.unitNames = async (ids) => {
    const missing = [...new Set(ids.filter((id) => id && !names.has(id)))];
    for (let i = 0; i < missing.length; i += 100) {
      const params = new URLSearchParams();
      missing.slice(i, i + 100).forEach((id) => params.append("id", id));
      try {
        const response = await fetch(`/console/units/named?${params}`);
        if (!response.ok) continue;
        const found = await response.json();
        for (const id of missing.slice(i, i + 100)) names.set(id, found[id] ? nameOf(found[id]) : id);
      } catch (error) {
        continue;  // shown by id until the next ask
      }
    }
    return Object.fromEntries(ids.map((id) => [id, names.get(id) || id]));
  };
})();
