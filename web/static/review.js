// The review queue: j/k move, a accepts, 1-9 pick a category, u undoes your last decision.
// Decisions go to /api/review/{id}, which calls the same core stage as `imgpipe review`.
"use strict";
(function () {
  const queue = document.getElementById("review-queue");
  if (!queue) return;
  const statusLine = document.getElementById("review-status");
  const counter = document.getElementById("review-count");
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const categories = (queue.dataset.categories || "").split(",").filter(Boolean);
  const done = []; // {item, index} of decisions this page made, newest last
  let current = 0;
  let busy = false;

  const items = () => Array.from(queue.querySelectorAll("li.review-item"));

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", Boolean(isError));
  }

  function select(index) {
    const all = items();
    all.forEach((el) => el.classList.remove("selected"));
    if (!all.length) { current = 0; counter.textContent = "0"; return; }
    current = Math.max(0, Math.min(index, all.length - 1));
    all[current].classList.add("selected");
    all[current].setAttribute("aria-current", "true");
    all[current].focus({ preventScroll: true });
    all[current].scrollIntoView({ block: "nearest" });
    counter.textContent = String(all.length);
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: body ? JSON.stringify(body) : "{}",
    });
    const data = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  async function decide(item, body) {
    if (!item || busy) return;
    busy = true;
    try {
      const record = await post("/api/review/" + item.dataset.uploadId, body);
      const index = items().indexOf(item);
      item.remove();
      item.classList.remove("selected");
      done.push({ item: item, index: index });
      const verb = body.action === "accept" ? "Accepted" : "Set";
      say(verb + " " + item.dataset.name + " as " + record.label + " (" + record.category + ")");
      select(index);
    } catch (err) {
      say("Could not save: " + err.message, true);
    } finally {
      busy = false;
    }
  }

  async function undo() {
    const last = done[done.length - 1];
    if (!last || busy) { if (!last) say("Nothing to undo on this page"); return; }
    busy = true;
    try {
      const record = await post("/api/review/" + last.item.dataset.uploadId + "/undo");
      done.pop();
      const all = items();
      queue.insertBefore(last.item, all[last.index] || null);
      say("Undone: " + last.item.dataset.name + " is " + record.status + " again");
      select(last.index);
    } catch (err) {
      say("Could not undo: " + err.message, true);
    } finally {
      busy = false;
    }
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest("input, select, textarea")) return;
    const item = items()[current];
    if (event.key === "j") select(current + 1);
    else if (event.key === "k") select(current - 1);
    else if (event.key === "a") decide(item, { action: "accept" });
    else if (event.key === "u") undo();
    else if (/^[1-9]$/.test(event.key) && categories[Number(event.key) - 1]) {
      decide(item, { action: "set", category: categories[Number(event.key) - 1] });
    } else return;
    event.preventDefault();
  });

  queue.addEventListener("click", (event) => {
    const item = event.target.closest("li.review-item");
    if (!item) return;
    if (event.target.matches("button.accept")) decide(item, { action: "accept" });
    else if (!event.target.closest("a, select")) select(items().indexOf(item));
  });
  queue.addEventListener("change", (event) => {
    const item = event.target.closest("li.review-item");
    if (item && event.target.matches("select.pick") && event.target.value) {
      decide(item, { action: "set", category: event.target.value });
    }
  });
  select(0);
})();
