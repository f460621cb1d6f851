// imgpipeline: the "Show all" / "Failed only" filter of GX's validation pages, which GX
// writes for jQuery from a CDN; plain DOM here, so it works offline.
function _setShown(selector, shown) {
  document.querySelectorAll(selector).forEach(function (el) { el.style.display = shown ? "" : "none"; });
}
function _toggle(shown) {
  document.querySelectorAll(".hide-succeeded-validation-target-child").forEach(function (el) {
    el.parentElement.style.display = shown ? "" : "none";
  });
  _setShown(".hide-succeeded-validation-target", shown);
  document.querySelectorAll(".hide-succeeded-validations-column-section-target-child").forEach(function (el) {
    var section = el.parentElement.parentElement;
    section.style.display = shown ? "" : "none";
    if (section.id) { _setShown('a[href$="' + section.id + '"]', shown); }
  });
  document.querySelectorAll(".btn-group .btn").forEach(function (b, i) {
    b.classList.toggle("active", shown ? i === 0 : i === 1);
  });
}
function showAllValidations() { _toggle(true); }
function hideSucceededValidations() { _toggle(false); }
