// Progressive enhancement only: every page works without JavaScript.
// Elements with data-refresh="URL" are re-fetched every data-every seconds and swapped in place.
document.querySelectorAll("[data-refresh]").forEach((el) => {
  const every = Number(el.dataset.every || 5) * 1000;
  setInterval(async () => {
    if (document.hidden) return;
    try {
      const response = await fetch(el.dataset.refresh, { credentials: "same-origin" });
      if (response.ok) el.innerHTML = await response.text();
    } catch (_) { /* keep the last good view */ }
  }, every);
});
