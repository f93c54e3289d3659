// The recording player: space plays and pauses, ←/→ move 5 s, [ and ] change the speed
// (0.5–4x, remembered on this computer), and ?t=SECONDS opens the recording at that time.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const video = document.getElementById("player");
  if (!video) return;
  const speeds = [0.5, 1, 1.5, 2, 3, 4];
  const shown = document.getElementById("speed");
  const setSpeed = (rate) => {
    video.playbackRate = rate;
    if (shown) shown.textContent = String(rate);
    try { localStorage.setItem("ingestd.speed", String(rate)); } catch (e) { /* private mode */ }
  };
  const saved = Number(localStorage.getItem("ingestd.speed"));
  if (speeds.includes(saved)) setSpeed(saved);
  const at = Number(new URLSearchParams(location.search).get("t")) || Number(video.dataset.start);
  if (at > 0) video.addEventListener("loadedmetadata", () => { video.currentTime = at; }, { once: true });
  // On a gap's page: one tap takes the second now playing as where the reason was said.
  const saidHere = document.getElementById("said_here");
  if (saidHere) {
    saidHere.addEventListener("click", () => {
      document.getElementById("voice_at").value = video.currentTime.toFixed(1);
      const voice = document.querySelector("input[name=how][value=voice]");
      if (voice) voice.checked = true;
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) return;
    const i = speeds.indexOf(video.playbackRate);
    if (event.key === " ") { video.paused ? video.play() : video.pause(); }
    else if (event.key === "ArrowLeft") { video.currentTime = Math.max(0, video.currentTime - 5); }
    else if (event.key === "ArrowRight") { video.currentTime = video.currentTime + 5; }
    else if (event.key === "]" && i < speeds.length - 1) { setSpeed(speeds[i + 1]); }
    else if (event.key === "[" && i > 0) { setSpeed(speeds[i - 1]); }
    else return;
    event.preventDefault();
  });
});
