// Azure: ask the app for a short-lived write-only SAS for one blob under uploads/{you}/, then PUT the file
// straight to Blob Storage. The file never passes through the app; the pipeline's blob trigger takes over.
"use strict";
(function () {
  const form = document.getElementById("sas-upload");
  if (!form) return;
  const statusLine = document.getElementById("upload-status");
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const maxBytes = Number(form.dataset.maxBytes);
  const types = form.dataset.types.split(",");

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", Boolean(isError));
  }

  async function send(file) {
    if (file.size > maxBytes) throw new Error(file.name + " is larger than " + maxBytes + " bytes");
    const type = types.includes(file.type) ? file.type : "";
    if (!type) throw new Error(file.name + ": only " + types.join(", "));
    const grant = await fetch("/api/uploads", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify({ name: file.name, size: file.size, type: type }),
    });
    const data = await grant.json().catch(() => ({ error: grant.statusText }));
    if (!grant.ok) throw new Error(data.error || grant.statusText);
    const put = await fetch(data.url, { method: data.method, headers: data.headers, body: file });
    if (!put.ok) throw new Error(file.name + ": storage answered " + put.status);
    return data.path;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = Array.from(document.getElementById("file").files);
    const saved = [];
    try {
      for (const file of files) saved.push(await send(file));
      say("Uploaded " + saved.length + " file(s); the pipeline picks them up in a moment.");
    } catch (err) {
      say("Upload failed: " + err.message, true);
    }
  });
})();
