// The developer portal's secret page: "Másolás" buttons copy the client_id and the secret.
// Without JavaScript the buttons stay hidden and the read-only fields can be selected by hand.
(function () {
  "use strict";

  function copied(button) {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-copied");
    window.setTimeout(function () { button.textContent = label; }, 2000);
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    button.hidden = false;
    field.addEventListener("focus", function () { field.select(); });
    button.addEventListener("click", function () {
      field.focus();
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () { copied(button); },
                                                        function () { document.execCommand("copy"); copied(button); });
      } else {
        document.execCommand("copy");
        copied(button);
      }
    });
  });
}());
