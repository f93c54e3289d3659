// The dock screen and the officer's pages on it: says so in big letters when the live
// connection is lost (the SSE extension reconnects by itself); goes back to the dock screen
// after the idle time (an officer's session then ends); an on-screen keypad for the PIN;
// and "said here": the second now playing, only if the clip was played.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const lost = document.getElementById("connection-lost");
  if (lost) {
    let timer = null;
    // A stream that ends on time is reopened at once: only a break that lasts is shown.
    document.body.addEventListener("htmx:sseError", () => {
      if (timer === null) timer = setTimeout(() => { lost.hidden = false; }, 3000);
    });
    document.body.addEventListener("htmx:sseOpen", () => {
      clearTimeout(timer);
      timer = null;
      lost.hidden = true;
    });
  }

  const idle = Number(document.body.dataset.idleS);
  if (idle > 0) {
    const warn = document.getElementById("leaving");
    let last = Date.now();
    const touched = () => { last = Date.now(); if (warn) warn.hidden = true; };
    for (const name of ["pointerdown", "keydown", "input", "touchstart", "wheel"]) {
      document.addEventListener(name, touched, { passive: true });
    }
    const video = document.getElementById("player");
    if (video) video.addEventListener("timeupdate", () => { if (!video.paused) touched(); });
    setInterval(() => {
      const left = idle - (Date.now() - last) / 1000;
      if (warn && left <= 10) warn.hidden = false;
      if (left > 0) return;
      const leave = document.getElementById("leave");
      if (leave) leave.requestSubmit(); else window.location.assign("/dock");
    }, 1000);
  }

  for (const pad of document.querySelectorAll(".keypad")) {
    const input = document.getElementById(pad.dataset.for);
    pad.addEventListener("click", (event) => {
      const key = event.target instanceof HTMLElement ? event.target.dataset.key : undefined;
      if (!input || key === undefined) return;
      input.value = key === "back" ? input.value.slice(0, -1) : input.value + key;
      input.focus();
    });
  }

  const play = document.getElementById("play");
  if (play) {
    play.addEventListener("click", () => {
      const video = document.getElementById("player");
      if (video) video.paused ? video.play() : video.pause();
    });
  }

  const said = document.getElementById("said_and_save");
  if (said) {
    said.addEventListener("click", () => {
      const video = document.getElementById("player");
      const field = document.getElementById("voice_at");
      // Never a second no one marked: a clip not played leaves it empty, and the dock says why.
      field.value = video && video.played.length > 0 ? video.currentTime.toFixed(1) : "";
    });
  }
});
