// Progressive enhancement: every action also works as a plain form without this file.
"use strict";

function postForm(form) {
  return fetch(form.action, {
    method: "POST",
    body: new FormData(form),
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  }).then((response) => {
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  });
}

function setUndo(form, on) {
  let undo = form.querySelector("input[name=undo],input[name=remove]");
  const name = form.classList.contains("js-collect") ? "remove" : "undo";
  if (on && !undo) {
    undo = document.createElement("input");
    undo.type = "hidden";
    undo.name = name;
    undo.value = "true";
    form.appendChild(undo);
  } else if (!on && undo) {
    undo.remove();
  }
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  if (form.classList.contains("js-vote")) {
    event.preventDefault();
    postForm(form).then((state) => {
      const button = form.querySelector("button");
      button.classList.toggle("on", state.voted);
      button.setAttribute("aria-pressed", String(state.voted));
      button.querySelector(".n").textContent = String(state.votes);
      const label = button.querySelector(".label");
      if (label) label.textContent = state.voted ? "Voted" : "Vote";
      setUndo(form, state.voted);
    }).catch(() => form.submit());
  } else if (form.classList.contains("js-collect")) {
    event.preventDefault();
    postForm(form).then((state) => {
      const button = form.querySelector("button");
      const name = button.textContent.replace(/^[✓+]\s*/, "");
      button.classList.toggle("on", state.collected);
      button.setAttribute("aria-pressed", String(state.collected));
      button.textContent = (state.collected ? "✓ " : "+ ") + name;
      setUndo(form, state.collected);
    }).catch(() => form.submit());
  }
});

// Copy buttons exist only where the clipboard can be used.
document.querySelectorAll(".js-copy").forEach((button) => {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    const source = document.getElementById(button.dataset.copy);
    navigator.clipboard.writeText(source.textContent).then(() => {
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    });
  });
});

// Keyboard: j/k move between papers, o opens, v votes, / searches, h/l change day.
let current = -1;
function papers() { return Array.from(document.querySelectorAll("main .paper[data-key]")); }
function focusPaper(index) {
  const list = papers();
  if (!list.length) return;
  current = Math.max(0, Math.min(list.length - 1, index));
  list.forEach((p, i) => p.classList.toggle("focused", i === current));
  list[current].scrollIntoView({ block: "nearest" });
}
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
      target instanceof HTMLSelectElement) return;
  const list = papers();
  const here = list[current];
  switch (event.key) {
    case "j": focusPaper(current + 1); break;
    case "k": focusPaper(current - 1); break;
    case "o": if (here) here.querySelector("h1 a, h2 a")?.click(); break;
    case "v": {
      const form = (here || document).querySelector("form.js-vote");
      if (form) form.requestSubmit();
      break;
    }
    case "/": {
      const box = document.querySelector("input[type=search]");
      if (box) { event.preventDefault(); box.focus(); }
      break;
    }
    case "h": document.querySelector("a.js-prev")?.click(); break;
    case "l": document.querySelector("a.js-next")?.click(); break;
    default: return;
  }
});
