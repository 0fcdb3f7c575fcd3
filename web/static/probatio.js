// Autosave for the certificate wizard: every change is posted to the same address as the form, marked
// X-Autosave, so a closed tab or a lost connection costs at most the field being typed. Without script the
// form still works: each "Save" button saves.
(function () {
  "use strict";
  function autosave(form) {
    var status = form.querySelector("[data-autosave-status]");
    var timer = null;
    function save() {
      var data = new FormData(form);
      data.delete("go");
      fetch(form.action, {method: "POST", body: data, credentials: "same-origin",
                          headers: {"X-Autosave": "1"}})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (answer) {
          var unreadable = answer && answer.unreadable ? Object.keys(answer.unreadable) : [];
          // The words come from the page (data-* attributes, in the page's language); only the values are ours.
          if (status) {
            status.textContent = unreadable.length
              ? status.dataset.savedExcept.replace("%(fields)s", unreadable.join(", "))
              : status.dataset.saved.replace("%(time)s",
                                             new Date().toLocaleTimeString(document.documentElement.lang));
          }
        })
        .catch(function () { if (status) { status.textContent = status.dataset.notSaved; } });
    }
    form.addEventListener("change", function () {
      clearTimeout(timer);
      timer = setTimeout(save, 400);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-autosave]");
    for (var i = 0; i < forms.length; i++) { autosave(forms[i]); }
  });
})();

// GOV.UK's error summary: focus moves to it when a page opens with problems, so they are read out first.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var summary = document.querySelector(".error-summary[data-focus]");
  if (summary) { summary.focus(); }
});
