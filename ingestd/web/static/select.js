// The recordings list: one box ticks every recording shown, and the bulk form says how many
// are ticked, so 证明对象 for a case's thirty clips is not thirty clicks.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("pick-all");
  const boxes = () => Array.from(document.querySelectorAll("input[name=rec]"));
  const count = document.getElementById("picked-count");
  const say = () => { if (count) count.textContent = String(boxes().filter((b) => b.checked).length); };
  if (all) all.addEventListener("change", () => { boxes().forEach((b) => { b.checked = all.checked; }); say(); });
  boxes().forEach((b) => b.addEventListener("change", say));
  say();
});
