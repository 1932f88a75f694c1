// Shared helpers for the consoles: JSON forms that show each refused field beside its input.
"use strict";

window.tiaojie = {
  /** Shows the 422 messages next to their fields; returns true when there were any. */
  showFieldErrors(form, body) {
    form.querySelectorAll(".error[data-for]").forEach((el) => { el.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    const fields = (body && body.fields) || [];
    for (const { field, message } of fields) {
      const slot = form.querySelector(`.error[data-for="${CSS.escape(field)}"]`)
        || form.querySelector('.error[data-for="body"]');
      if (slot) slot.textContent = message;
      const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
      if (input) input.setAttribute("aria-invalid", "true");
    }
    return fields.length > 0;
  },
};

// The caller's token: given once as `?token=...`, then kept in localStorage (the server keeps
// it in a cookie for pages and live streams). Every fetch carries it as a bearer token.
(() => {
  const url = new URL(window.location.href);
  const given = url.searchParams.get("token");
  if (given) {
    localStorage.setItem("tiaojie.token", given);
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.toString());
  }
  const plainFetch = window.fetch.bind(window);
  window.fetch = (resource, init = {}) => {
    const token = localStorage.getItem("tiaojie.token");
    const headers = new Headers(init.headers || {});
    if (token && !headers.has("Authorization")) headers.set("Authorization", `Bearer ${token}`);
    return plainFetch(resource, { ...init, headers });
  };
})();
