// The key-created page's Copy button puts the secret (#secret) on the clipboard. A file, not an
// inline script: the console's Content-Security-Policy runs only the gateway's own files. The
// button stays hidden until this runs, so a page without scripts shows none that does nothing.
"use strict";

(function () {
  const button = document.getElementById("copy-secret");
  const secret = document.getElementById("secret");

  function selectSecret() {
    const range = document.createRange();
    range.selectNodeContents(secret);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // navigator.clipboard exists only in a secure context (HTTPS, or localhost); a console served
  // over plain HTTP copies the selected text the older way.
  async function copy(text) {
    if (navigator.clipboard) {
      await navigator.clipboard.writeText(text);
      return;
    }
    selectSecret();
    if (!document.execCommand("copy")) throw new Error("copy refused");
  }

  button.addEventListener("click", () => {
    copy(secret.textContent.trim()).then(
      () => { button.textContent = button.dataset.copied; },
      () => { selectSecret(); button.textContent = button.dataset.failed; });
  });
  button.hidden = false;
})();
